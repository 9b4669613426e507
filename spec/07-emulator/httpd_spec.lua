-- luacheck: std +busted
-- core.httpd from Lua, against curl(1) run in the background while the spec
-- steps the server (one thread: the server only works inside srv:step).
-- Run from the checkout's root after `make`.
local helper = require "spec.helper"
local core = require "gameliftstreams.core"

local quote, read_file, write_file = helper.quote, helper.read_file, helper.write_file

--- Starts `curl ARGS` in the background; returns a job whose files hold
-- stdout (.out), stderr (.err), the headers (.hdr) and the exit code (.rc,
-- written last, atomically).
local function curl(args)
  local base = os.tmpname()
  local cmd = ("curl -sS --max-time 20 -D %s.hdr %s >%s.out 2>%s.err; echo $? >%s.tmp; mv %s.tmp %s.rc")
    :format(base, args, base, base, base, base, base)
  assert(os.execute("(" .. cmd .. ") </dev/null >/dev/null 2>&1 &"))
  return { base = base }
end

local function finished(job)
  local f = io.open(job.base .. ".rc")
  if not f then return false end
  local rc = f:read("n")
  f:close()
  return rc ~= nil
end

--- Steps srv until the job is done (or pred() is true); returns the job's
-- result { rc =, out =, err =, hdr = }.
local function wait(srv, job, pred)
  local deadline = os.time() + 20 -- by the clock: step may return at once many times in a row
  while os.time() <= deadline do
    if pred and pred() then return end
    if not pred and finished(job) then break end
    assert(srv:step(0.01))
  end
  if pred then error("timed out waiting") end
  assert(finished(job), "curl did not finish")
  local r = { rc = tonumber(read_file(job.base .. ".rc"):match("%d+")) }
  for _, k in ipairs { "out", "err", "hdr" } do
    local f = io.open(job.base .. "." .. k, "rb")
    r[k] = f and f:read("a") or ""
    if f then f:close() end
    os.remove(job.base .. "." .. k)
  end
  os.remove(job.base .. ".rc")
  os.remove(job.base)
  return r
end

local function status_of(hdr)
  local last
  for code in hdr:gmatch("HTTP/1%.1 (%d+)") do last = tonumber(code) end
  return last
end

describe("core.httpd", function()
  local dir

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. quote(dir)))
  end)

  teardown(function()
    os.execute("rm -rf " .. quote(dir))
  end)

  after_each(function()
    collectgarbage()
    collectgarbage()
  end)

  it("hands the handler the raw path and query, headers in order and the body", function()
    local got
    local srv = assert(core.httpd{
      handler = function(req)
        got = req
        return 200, { ["Content-Type"] = "application/json", ["X-Reply"] = "yes", ["X-Num"] = 42 },
          '{"ok":true}'
      end,
    })
    assert.matches("^http://127%.0%.0%.1:%d+$", srv:url())
    assert.equal(srv:url(), "http://127.0.0.1:" .. srv:port())
    assert.is_true(srv:port() > 0)
    assert.is_true(math.type(srv:pollfd()) == "integer" and srv:pollfd() >= 0)
    local body = "line one\0binary\255 and more"
    write_file(dir .. "/body", body)
    local r = wait(srv, curl(("--path-as-is -H 'X-Zeta: 1' -H 'x-alpha: two words' -H 'X-Zeta: 3' "
      .. "-H 'Content-Type: application/octet-stream' --data-binary @%s %s"):format(
      quote(dir .. "/body"), quote(srv:url() .. "/a%2Fb%20c?x=%2F&y"))))
    assert.equal(0, r.rc)
    assert.equal(200, status_of(r.hdr))
    assert.equal('{"ok":true}', r.out)
    assert.matches("\r\nX%-Reply: yes\r\n", r.hdr)
    assert.matches("\r\nX%-Num: 42\r\n", r.hdr)
    assert.matches("\r\nContent%-Length: 11\r\n", r.hdr)
    assert.matches("\r\nDate: ", r.hdr)

    assert.equal("POST", got.method)
    assert.equal("/a%2Fb%20c", got.path)
    assert.equal("x=%2F&y", got.query)
    assert.equal(body, got.body)
    assert.equal("127.0.0.1", got.remote)
    assert.equal("integer", math.type(got.id))
    assert.equal("1,3", got.headers["x-zeta"])
    assert.equal("two words", got.headers["x-alpha"])
    assert.equal("application/octet-stream", got.headers["content-type"])
    assert.equal(tostring(#body), got.headers["content-length"])
    assert.is_nil(got.headers["X-Zeta"])
    -- header_list: as received, in order, names as sent
    local names = {}
    for _, h in ipairs(got.header_list) do
      if h[1]:lower():match("^x%-") then names[#names + 1] = h[1] .. "=" .. h[2] end
    end
    assert.same({ "X-Zeta=1", "x-alpha=two words", "X-Zeta=3" }, names)
    assert.equal("Host", got.header_list[1][1])
    srv:close()
  end)

  it("gives an empty query and body when there are none", function()
    local got
    local srv = assert(core.httpd{ handler = function(req) got = req; return 204 end })
    local r = wait(srv, curl(quote(srv:url() .. "/plain")))
    assert.equal(0, r.rc)
    assert.equal(204, status_of(r.hdr))
    assert.equal("GET", got.method)
    assert.equal("/plain", got.path)
    assert.equal("", got.query)
    assert.equal("", got.body)
    srv:close()
  end)

  it("keeps connections alive", function()
    local n = 0
    local srv = assert(core.httpd{ handler = function() n = n + 1; return 200, {}, "r" .. n end })
    local r = wait(srv, curl(("-v %s %s"):format(quote(srv:url() .. "/1"), quote(srv:url() .. "/2"))))
    assert.equal(0, r.rc)
    assert.equal("r1r2", r.out)
    assert.matches("Re%-using existing connection", r.err)
    srv:close()
  end)

  it("has a timer only while a connection is open", function()
    local srv = assert(core.httpd{ handler = function() return 200 end })
    assert.is_nil(srv:timeout())
    write_file(dir .. "/slow", ("x"):rep(2000))
    -- an upload at 100 bytes/s keeps a connection open and busy for a while
    local job = curl(("--limit-rate 100 --data-binary @%s %s"):format(quote(dir .. "/slow"),
      quote(srv:url() .. "/")))
    wait(srv, job, function()
      local t = srv:timeout()
      return t ~= nil
    end)
    local t = srv:timeout()
    assert.is_true(t > 0 and t <= 60, "timeout " .. t)
    srv:close()
    local r = wait({ step = function() os.execute("sleep 0.01") return true end }, job)
    assert.is_true(r.rc ~= 0, "the upload was cut short")
  end)

  it("answers later with srv:respond", function()
    local id
    local srv = assert(core.httpd{ handler = function(req) id = req.id end })
    local job = curl(quote(srv:url() .. "/later"))
    wait(srv, job, function() return id ~= nil end)
    for _ = 1, 10 do srv:step(0.01) end
    assert.is_false(finished(job))
    assert.same({ nil, "no such request" }, { srv:respond(id + 1000, 200) })
    assert.is_true(srv:respond(id, 202, { ["X-Late"] = "1" }, "later"))
    assert.same({ nil, "no such request" }, { srv:respond(id, 200) })
    local r = wait(srv, job)
    assert.equal(0, r.rc)
    assert.equal(202, status_of(r.hdr))
    assert.equal("later", r.out)
    assert.matches("\r\nX%-Late: 1\r\n", r.hdr)
    srv:close()
  end)

  it("answers from inside the handler with srv:respond too", function()
    local srv
    srv = assert(core.httpd{
      handler = function(req)
        assert(srv:respond(req.id, 201, nil, "inside"))
      end,
    })
    local r = wait(srv, curl(quote(srv:url() .. "/")))
    assert.equal(201, status_of(r.hdr))
    assert.equal("inside", r.out)
    srv:close()
  end)

  it("drops the connection on opts.drop, now or later", function()
    local later
    local srv = assert(core.httpd{
      handler = function(req)
        if req.path == "/later" then later = req.id; return end
        return 200, nil, "never sent", { drop = true }
      end,
    })
    local r = wait(srv, curl(quote(srv:url() .. "/now")))
    assert.equal(52, r.rc) -- CURLE_GOT_NOTHING
    assert.matches("Empty reply", r.err)
    assert.equal("", r.out)
    local job = curl(quote(srv:url() .. "/later"))
    wait(srv, job, function() return later ~= nil end)
    assert.is_true(srv:respond(later, nil, nil, nil, { drop = true }))
    r = wait(srv, job)
    assert.equal(52, r.rc)
    srv:close()
  end)

  it("truncates the body on opts.truncate, Content-Length telling the whole", function()
    local srv = assert(core.httpd{
      handler = function() return 200, { ["X-T"] = "t" }, ("0123456789"):rep(10), { truncate = 10 } end,
    })
    local r = wait(srv, curl(quote(srv:url() .. "/")))
    assert.equal(18, r.rc) -- CURLE_PARTIAL_FILE
    assert.equal(200, status_of(r.hdr))
    assert.matches("\r\nContent%-Length: 100\r\n", r.hdr)
    assert.matches("\r\nX%-T: t\r\n", r.hdr)
    assert.equal("0123456789", r.out)
    srv:close()
  end)

  it("turns a handler error into 500 and hands it to on_error", function()
    local errors = {}
    local srv = assert(core.httpd{
      handler = function(req)
        if req.path == "/raise" then error("boom in handler") end
        if req.path == "/badstatus" then return "two hundred" end
        if req.path == "/badheaders" then return 200, { ["X-Bad"] = "a\r\nInjected: 1" }, "" end
        return 200, {}, "fine"
      end,
      on_error = function(msg) errors[#errors + 1] = msg end,
    })
    local r = wait(srv, curl(quote(srv:url() .. "/raise")))
    assert.equal(500, status_of(r.hdr))
    assert.equal('{"message":"internal error"}', r.out)
    assert.matches("application/json", r.hdr)
    assert.equal(1, #errors)
    assert.matches("boom in handler", errors[1])
    assert.matches("traceback", errors[1])
    r = wait(srv, curl(quote(srv:url() .. "/badstatus")))
    assert.equal(500, status_of(r.hdr))
    assert.matches("bad status", errors[2])
    r = wait(srv, curl(quote(srv:url() .. "/badheaders")))
    assert.equal(500, status_of(r.hdr))
    assert.not_matches("Injected", r.hdr)
    assert.matches("bad headers", errors[3])
    -- the server lives on
    r = wait(srv, curl(quote(srv:url() .. "/ok")))
    assert.equal("fine", r.out)
    srv:close()
  end)

  it("reports handler errors on stderr without on_error, and survives an on_error that raises", function()
    -- in a child process, so its stderr can be read
    local script = dir .. "/child.lua"
    write_file(script, [[
package.cpath = "./build/?.so;" .. package.cpath
local core = require "gameliftstreams.core"
local which = ...
local srv = assert(core.httpd{
  handler = function() error("handler failed here") end,
  on_error = which == "raising" and function() error("on_error failed too") end or nil,
})
local out = os.tmpname()
os.execute(("(curl -s -o /dev/null -w '%%{http_code}' %s/ >%s; echo >>%s; mv %s %s.done) &")
  :format(srv:url(), out, out, out, out))
local deadline = os.time() + 20
while os.time() <= deadline do
  srv:step(0.01)
  local f = io.open(out .. ".done")
  if f then io.write(f:read("l")); f:close(); os.remove(out .. ".done"); break end
end
srv:close()
]])
    for _, which in ipairs { "default", "raising" } do
      local p = assert(io.popen(("lua5.4 %s %s 2>%s"):format(quote(script), which, quote(dir .. "/stderr"))))
      local out = p:read("a")
      assert.is_true(p:close())
      local err = read_file(dir .. "/stderr")
      assert.equal("500", out)
      assert.matches("gls: error in an httpd handler: [^\n]*handler failed here", err)
      if which == "raising" then
        assert.matches("gls: error in the httpd's on_error: [^\n]*on_error failed too", err)
      else
        assert.not_matches("on_error", err)
      end
    end
  end)

  it("refuses bodies over max_body with 413, without calling the handler", function()
    local calls = 0
    local srv = assert(core.httpd{ max_body = 16, handler = function(req)
      calls = calls + 1
      return 200, {}, req.body
    end })
    local r = wait(srv, curl("--data-binary 0123456789abcdefX " .. quote(srv:url() .. "/")))
    assert.equal(413, status_of(r.hdr))
    assert.equal(0, calls)
    r = wait(srv, curl("--data-binary 0123456789abcdef " .. quote(srv:url() .. "/")))
    assert.equal(200, status_of(r.hdr))
    assert.equal("0123456789abcdef", r.out)
    assert.equal(1, calls)
    srv:close()
  end)

  it("speaks HTTPS with a certificate and key", function()
    local cert, key = dir .. "/cert.pem", dir .. "/key.pem"
    assert(os.execute(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      .. "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 1 -keyout %s -out %s "
      .. ">/dev/null 2>&1"):format(quote(key), quote(cert))))
    local got
    local srv = assert(core.httpd{ tls_cert = cert, tls_key = key,
      handler = function(req) got = req; return 200, {}, "secret-free" end })
    assert.matches("^https://127%.0%.0%.1:%d+$", srv:url())
    local r = wait(srv, curl(("-v --cacert %s %s %s"):format(quote(cert),
      quote(srv:url() .. "/t%20ls?a=%2F"), quote(srv:url() .. "/again"))))
    assert.equal(0, r.rc)
    assert.equal("secret-freesecret-free", r.out)
    assert.matches("Re%-using existing connection", r.err)
    assert.equal("/again", got.path)
    -- a client that does not trust the certificate fails the handshake
    r = wait(srv, curl(quote(srv:url() .. "/")))
    assert.equal(60, r.rc) -- CURLE_PEER_FAILED_VERIFICATION
    srv:close()
  end)

  it("returns nil and a message when it cannot listen or read the certificate", function()
    local a = assert(core.httpd{ handler = function() end })
    local b, err = core.httpd{ listen = "127.0.0.1:" .. a:port(), handler = function() end }
    assert.is_nil(b)
    assert.matches("cannot listen on 127%.0%.0%.1:" .. a:port(), err)
    a:close()
    b, err = core.httpd{ tls_cert = dir .. "/none.pem", tls_key = dir .. "/none.key", handler = print }
    assert.is_nil(b)
    assert.matches("tls_cert_file: cannot open", err)
  end)

  it("listens on the address and port asked for, IPv6 too", function()
    local probe = assert(core.httpd{ handler = function() end })
    local port = probe:port()
    probe:close() -- free again
    local srv = assert(core.httpd{ listen = "127.0.0.1:" .. port, handler = function() return 200 end })
    assert.equal(port, srv:port())
    srv:close()
    local v6 = core.httpd{ listen = "[::1]:0", handler = function(req) return 200, {}, req.remote end }
    if v6 then -- no IPv6 loopback in some containers
      assert.matches("^http://%[::1%]:%d+$", v6:url())
      local r = wait(v6, curl("-g " .. quote(v6:url() .. "/")))
      assert.equal("::1", r.out)
      v6:close()
    end
  end)

  it("raises on misuse, naming the parameter", function()
    local h = function() end
    assert.has_error(function() core.httpd() end)
    assert.error_matches(function() core.httpd{} end, "handler")
    assert.error_matches(function() core.httpd{ handler = 1 } end, "handler")
    assert.error_matches(function() core.httpd{ handler = h, listen = "nope" } end, "'listen'")
    assert.error_matches(function() core.httpd{ handler = h, listen = "127.0.0.1:99999" } end, "'listen'")
    assert.error_matches(function() core.httpd{ handler = h, listen = "127.0.0.1:" } end, "'listen'")
    assert.error_matches(function() core.httpd{ handler = h, listen = "::1:80" } end, "'listen'")
    assert.error_matches(function() core.httpd{ handler = h, listen = "localhost:80" } end, "'listen'")
    assert.error_matches(function() core.httpd{ handler = h, listen = 80 } end, "'listen'")
    assert.error_matches(function() core.httpd{ handler = h, tls_cert = "c.pem" } end, "'tls_key'")
    assert.error_matches(function() core.httpd{ handler = h, tls_key = "k.pem" } end, "'tls_cert'")
    assert.error_matches(function() core.httpd{ handler = h, max_body = 0 } end, "'max_body'")
    assert.error_matches(function() core.httpd{ handler = h, max_body = 1.5 } end, "'max_body'")
    assert.error_matches(function() core.httpd{ handler = h, on_error = "x" } end, "'on_error'")
    assert.error_matches(function() core.httpd{ handler = h, lisen = "x" } end, "unknown httpd option 'lisen'")

    local srv = assert(core.httpd{ handler = h })
    assert.error_matches(function() srv:respond("x", 200) end, "bad argument #1 to 'respond'")
    assert.error_matches(function() srv:step(-1) end, "seconds must be >= 0")
    assert.is_true(srv:step(0))
    srv:close()
    srv:close() -- idempotent
    assert.matches("closed", tostring(srv))
    assert.error_matches(function() srv:url() end, "closed")
    assert.error_matches(function() srv:step(0) end, "closed")
    assert.error_matches(function() srv:respond(1, 200) end, "closed")
  end)

  it("checks what srv:respond is given", function()
    local id
    local srv = assert(core.httpd{ handler = function(req) id = req.id end })
    local job = curl(quote(srv:url() .. "/"))
    wait(srv, job, function() return id ~= nil end)
    assert.error_matches(function() srv:respond(id, 99) end, "bad status")
    assert.error_matches(function() srv:respond(id, 200, "x") end, "bad headers")
    assert.error_matches(function() srv:respond(id, 200, { [1] = "x" }) end, "bad headers")
    assert.error_matches(function() srv:respond(id, 200, { A = "b\nc" }) end, "bad headers")
    assert.error_matches(function() srv:respond(id, 200, nil, 5) end, "bad body")
    assert.error_matches(function() srv:respond(id, 200, nil, "", 5) end, "bad opts")
    assert.error_matches(function() srv:respond(id, 200, nil, "", { truncate = -1 }) end, "truncate")
    -- still pending after all that
    assert.is_true(srv:respond(id, 200, nil, "ok"))
    local r = wait(srv, job)
    assert.equal("ok", r.out)
    srv:close()
  end)

  it("refuses step from inside a handler, and closes after one that closes", function()
    local srv, msgs = nil, {}
    srv = assert(core.httpd{
      handler = function(req)
        if req.path == "/step" then srv:step(0) end
        srv:close()
        return 200, {}, "bye"
      end,
      on_error = function(m) msgs[#msgs + 1] = m end,
    })
    local r = wait(srv, curl(quote(srv:url() .. "/step")))
    assert.equal(500, status_of(r.hdr))
    assert.matches("inside a handler", msgs[1])
    local job = curl(quote(srv:url() .. "/close"))
    local deadline = os.time() + 20
    while os.time() <= deadline and not tostring(srv):match("closed") do
      assert(srv:step(0.01))
    end
    assert.matches("closed", tostring(srv))
    local r2 = wait({ step = function() os.execute("sleep 0.01") return true end }, job)
    -- the reply of the handler that closed went out before the server closed
    assert.equal(0, r2.rc)
    assert.equal("bye", r2.out)
  end)

  it("drops deferred requests on close, __close and __gc", function()
    local ids = {}
    local srv = assert(core.httpd{ handler = function(req) ids[#ids + 1] = req.id end })
    local job = curl(quote(srv:url() .. "/"))
    wait(srv, job, function() return #ids == 1 end)
    srv:close()
    local idle = { step = function() os.execute("sleep 0.01") return true end }
    local r = wait(idle, job)
    assert.equal(52, r.rc)

    local port
    do
      local s <close> = assert(core.httpd{ handler = function() end })
      port = s:port()
    end
    -- the port is free again
    local again = assert(core.httpd{ listen = "127.0.0.1:" .. port, handler = function() end })
    again:close()

    local function make()
      local s = assert(core.httpd{ handler = function() end })
      return s:port()
    end
    port = make()
    collectgarbage()
    collectgarbage()
    again = assert(core.httpd{ listen = "127.0.0.1:" .. port, handler = function() end })
    again:close()
  end)

  it("wakes srv:step for a watched descriptor, and stops after unwatch", function()
    local a = assert(core.httpd{ handler = function() return 200, nil, "a" end })
    local b = assert(core.httpd{ handler = function() return 200, nil, "b" end })
    local clock = core.time
    -- nothing to do: step waits its whole timeout
    local t0 = clock()
    assert(a:step(0.3))
    assert.is_true(clock() - t0 >= 0.25)
    -- b's epoll set turns readable when curl connects to b: a's step returns early
    assert.is_true(a:watch(b:pollfd()))
    local job = curl(quote(b:url() .. "/x"))
    t0 = clock()
    local woke = false
    while clock() - t0 < 10 do
      assert(a:step(5))
      if clock() - t0 < 4 then woke = true break end
    end
    assert.is_true(woke)
    local r = wait(b, job)
    assert.equal("b", r.out)
    -- watching twice, or unwatching what is not watched: nil, message
    local ok, err = a:watch(b:pollfd())
    assert.is_nil(ok)
    assert.is_string(err)
    assert.is_true(a:watch(b:pollfd(), false))
    ok, err = a:watch(b:pollfd(), false)
    assert.is_nil(ok)
    assert.is_string(err)
    -- unwatched, b's pending connection no longer wakes a
    local job2 = curl(quote(b:url() .. "/y"))
    os.execute("sleep 0.3")
    t0 = clock()
    assert(a:step(0.3))
    assert.is_true(clock() - t0 >= 0.25)
    assert.equal("b", wait(b, job2).out)
    assert.has_error(function() a:watch(-1) end)
    a:close()
    b:close()
  end)

  it("sends a deferred reply at the next step without waiting out its timeout", function()
    local ids = {}
    local srv = assert(core.httpd{ handler = function(req) ids[#ids + 1] = req.id end })
    local job = curl(quote(srv:url() .. "/later"))
    wait(srv, job, function() return #ids == 1 end)
    assert.is_true(srv:respond(ids[1], 200, nil, "done"))
    assert.equal(0, srv:timeout())
    local t0 = core.time()
    assert(srv:step(2))
    assert.is_true(core.time() - t0 < 1, "the step waited for its timeout")
    assert.equal("done", wait(srv, job).out)
    srv:close()
  end)
end)
