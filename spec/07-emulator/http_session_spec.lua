-- core.http_session and control.new(url, { keep_alive = true }): the same
-- calls as core.http_request, over one kept-alive connection.
local core = require "gameliftstreams.core"
local control = require "gameliftstreams.control"
local emulator = require "spec.support.emulator"

-- Client-side TCP sockets (any state) of this machine whose remote port is
-- `port`, from /proc/net/tcp (IPv4 loopback): one per connection opened to
-- the emulator, kept for a minute in TIME_WAIT after it closed.
local function sockets_to(port)
  local n = 0
  for _, file in ipairs({ "/proc/net/tcp", "/proc/net/tcp6" }) do
    local f = io.open(file)
    if f then
      for line in f:lines() do
        local rport = line:match("^%s*%d+:%s+%x+:%x+%s+%x+:(%x+)")
        if rport and tonumber(rport, 16) == port then n = n + 1 end
      end
      f:close()
    end
  end
  return n
end

describe("core.http_session #emulator", function()
  local e, port
  setup(function()
    e = emulator.start{ clock = "virtual" }
    port = tonumber(e.url:match(":(%d+)$"))
  end)
  teardown(function() e.stop() end)

  it("answers as core.http_request does", function()
    local s = core.http_session()
    local st1, body1, h1 = core.http_request{ url = e.url .. "/_emulator/health" }
    local st2, body2, h2 = s:request{ url = e.url .. "/_emulator/health" }
    assert.equal(200, st1)
    assert.equal(st1, st2)
    assert.equal(body1, body2)
    assert.equal(h1["content-type"], h2["content-type"])
    -- A POST with a body and headers, then a GET, on the same handle: each
    -- call starts from default options (no body or method left over).
    local st, body = s:request{ method = "POST", url = e.url .. "/_emulator/clock",
      body = '{"advance": 1.5}', headers = { ["Content-Type"] = "application/json" } }
    assert.equal(200, st, body)
    st, body = s:request{ url = e.url .. "/_emulator/clock" }
    assert.equal(200, st)
    assert.matches('"clock":"virtual"', body, 1, true)
    s:close()
    s:close()   -- idempotent
    assert.has_error(function() s:request{ url = e.url } end, "http session is closed")
  end)

  it("reuses one connection where core.http_request opens one per call", function()
    local before = sockets_to(port)
    for _ = 1, 20 do assert(core.http_request{ url = e.url .. "/_emulator/health" } == 200) end
    local plain = sockets_to(port) - before
    local s = core.http_session()
    before = sockets_to(port)
    for _ = 1, 20 do assert(s:request{ url = e.url .. "/_emulator/health" } == 200) end
    local kept = sockets_to(port) - before
    s:close()
    assert.is_true(plain >= 20, ("core.http_request: %d new sockets for 20 calls"):format(plain))
    assert.is_true(kept <= 1, ("core.http_session: %d new sockets for 20 calls"):format(kept))
  end)

  it("reports a failed transfer as nil, message", function()
    local s = core.http_session()
    local st, msg = s:request{ url = "http://127.0.0.1:1/", timeout = 2 }
    assert.is_nil(st)
    assert.is_string(msg)
    -- The handle stays usable after a failure.
    assert.equal(200, (s:request{ url = e.url .. "/_emulator/health" }))
    s:close()
  end)

  it("carries the control client with keep_alive", function()
    local c = control.new(e.url, { keep_alive = true })
    assert.is_userdata(c.http)
    assert.is_table(assert(c:advance(2)))
    assert.same({}, assert(c:sessions()))
    local _, err = c:connect("NoSuchSession1")
    assert.equal(404, err.status)
    c:close()
    assert.is_nil(c.http)
    assert.same({}, assert(c:sessions()))   -- still usable, one connection per call
    assert.has_error(function() control.new(e.url, "keep-alive") end,
      "bad argument #2 to 'new' (table expected, got string)")
  end)
end)
