-- luacheck: std +busted
-- The emulator's HTTP glue: emu:handle (control API for loopback peers, faults,
-- SigV4, routing, quota, input, dispatch, output, error shapes, deferred replies)
-- and emulator.main. Three levels:
--   1. wire stand-ins written from contract B (runs everywhere);
--   2. core's own emu_verify/emu_route/emu_input/emu_output, requests signed with
--      gameliftstreams.sigv4 (pending until the wire branch is merged);
--   3. core.httpd: main in a child process, and the Lua client against the
--      emulator in this process (pending until the httpd branch is merged).
local emulator = require "gameliftstreams.emulator"
local core = require "gameliftstreams.core"
local sigv4 = require "gameliftstreams.sigv4"
local cjson = require "cjson"
local helper = require "spec.helper"

local SG, APP = emulator.STREAM_GROUP_ID, emulator.APPLICATION_ID
local KEY = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }
local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"
local SERVICE_NS = ":http://internal.amazon.com/coral/com.amazonaws.gameliftstreams/"

local HAVE_WIRE = core.emu_verify and core.emu_route and core.emu_input and core.emu_output and true or false
local HAVE_HTTPD = core.httpd and true or false

---------------------------------------------------------------- 1. stand-ins

-- Stand-ins for core.emu_* that keep to contract B's signatures and return
-- conventions, for the routes these specs use.
local function stand_in_wire()
  local w = { uuid4 = core.uuid4 }
  local S = "([^/]+)"
  local routes = {
    { "GET", "^/streamgroups/" .. S .. "$", "GetStreamGroup", { "Identifier" } },
    { "POST", "^/streamgroups/" .. S .. "/streamsessions$", "StartStreamSession", { "Identifier" } },
    { "GET", "^/streamgroups/" .. S .. "/streamsessions/" .. S .. "$", "GetStreamSession",
      { "Identifier", "StreamSessionIdentifier" } },
    { "DELETE", "^/streamgroups/" .. S .. "/streamsessions/" .. S .. "$", "TerminateStreamSession",
      { "Identifier", "StreamSessionIdentifier" } },
    { "POST", "^/streamgroups/" .. S .. "/streamsessions/" .. S .. "/connections$", "CreateStreamSessionConnection",
      { "Identifier", "StreamSessionIdentifier" } },
  }
  function w.emu_verify(req, opts)
    w.verify_opts = opts
    local auth = req.headers.authorization
    if not auth then return nil, "MissingAuthenticationTokenException", "Missing Authentication Token", 403 end
    local akid, region = auth:match("Credential=([^/]+)/%d+/([^/]+)/")
    if not opts.credentials[akid] then
      return nil, "UnrecognizedClientException", "The security token included in the request is invalid.", 403
    end
    return akid, region
  end
  function w.emu_route(method, path)
    for _, r in ipairs(routes) do
      local caps = { path:match(r[2]) }
      if method == r[1] and caps[1] then
        local labels = {}
        for i, name in ipairs(r[4]) do
          labels[name] = caps[i]:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
        end
        return r[3], labels
      end
    end
    return nil, "UnknownOperationException", "No operation matches " .. method .. " " .. path, 404
  end
  function w.emu_input(_, labels, _, _, body)
    local ok, t = pcall(cjson.decode, body ~= "" and body or "{}")
    if not ok or type(t) ~= "table" then return nil, "SerializationException", "body is not a JSON object", 400 end
    for k, v in pairs(labels) do t[k] = v end
    return t
  end
  function w.emu_output(_, out) return cjson.encode(out) end
  return w
end

local next_id = 0
local function request(method, path, body, opts)
  opts = opts or {}
  next_id = next_id + 1
  local headers = { host = "127.0.0.1:9000" }
  if opts.signed ~= false then
    headers.authorization = ("AWS4-HMAC-SHA256 Credential=%s/20260101/%s/gameliftstreams/aws4_request, "
      .. "SignedHeaders=host, Signature=00"):format(opts.akid or "AKIDEXAMPLE", opts.region or "us-west-2")
  end
  local list = {}
  for k, v in pairs(headers) do list[#list + 1] = { k, v } end
  return { id = next_id, method = method, path = path, query = "", headers = headers, header_list = list,
    body = body and cjson.encode(body) or "", remote = opts.remote or "127.0.0.1" }
end

local function decode(body)
  local ok, v = pcall(cjson.decode, body)
  assert(ok, "not JSON: " .. tostring(body))
  return v
end

-- reply = { emu:handle(req) }
local function assert_error(reply, want_status, code)
  local status, headers, body = reply[1], reply[2], reply[3]
  assert.equal(want_status, status)
  assert.matches(UUID, headers["x-amzn-RequestId"])
  assert.equal("application/json", headers["Content-Type"])
  assert.equal(code .. SERVICE_NS, headers["X-Amzn-ErrorType"])
  local doc = decode(body)
  assert.is_string(doc.message)
  local keys = 0
  for _ in pairs(doc) do keys = keys + 1 end
  assert.equal(1, keys)
  return doc.message
end

describe("emu:handle (wire stand-ins)", function()
  local emu, wire, t, sent
  before_each(function()
    wire = stand_in_wire()
    t = 1700000000
    sent = {}
    emu = emulator.new{ clock = "virtual", wire = wire, time_source = function() return t end,
      respond = function(...) sent[#sent + 1] = table.pack(...) end }
  end)

  local function start()
    local status, _, body = emu:handle(request("POST", "/streamgroups/" .. SG .. "/streamsessions",
      { ApplicationIdentifier = APP, Protocol = "WebRTC", SignalRequest = "offer-1" }))
    assert.equal(201, status)
    return decode(body).Arn:match("([^/]+)$")
  end

  it("answers a call with status, a UUID request ID, a JSON content type and the output", function()
    local status, headers, body = emu:handle(request("GET", "/streamgroups/" .. SG))
    assert.equal(200, status)
    assert.matches(UUID, headers["x-amzn-RequestId"])
    assert.equal("application/json", headers["Content-Type"])
    assert.equal(SG, decode(body).Id)
    local _, h2 = emu:handle(request("GET", "/streamgroups/" .. SG))
    assert.not_equal(headers["x-amzn-RequestId"], h2["x-amzn-RequestId"])
    -- SigV4 is checked on the real clock and with the emulator's keys
    emu:advance(3600)
    emu:handle(request("GET", "/streamgroups/" .. SG))
    assert.equal(1700000000, wire.verify_opts.now)
    assert.equal("gameliftstreams", wire.verify_opts.service)
    assert.is_table(wire.verify_opts.credentials.AKIDEXAMPLE)
  end)

  it("sends no body and no content type for 204 replies", function()
    local id = start()
    emu:advance(1)
    local status, headers, body = emu:handle(request("DELETE", "/streamgroups/" .. SG .. "/streamsessions/" .. id))
    assert.equal(204, status)
    assert.equal("", body)
    assert.is_nil(headers["Content-Type"])
    assert.matches(UUID, headers["x-amzn-RequestId"])
  end)

  it("sends the service's errors with X-Amzn-ErrorType and a message-only body", function()
    local id = start()
    local msg = assert_error({ emu:handle(request("DELETE", "/streamgroups/" .. SG .. "/streamsessions/" .. id)) },
      409, "ConflictException")
    assert.matches("ACTIVATING", msg)
    assert_error({ emu:handle(request("GET", "/streamgroups/sg-nothere00")) }, 404, "ResourceNotFoundException")
    assert_error({ emu:handle(request("GET", "/nothing/here")) }, 404, "UnknownOperationException")
    assert_error({ emu:handle(request("GET", "/streamgroups/" .. SG, nil, { signed = false })) }, 403,
      "MissingAuthenticationTokenException")
    assert_error({ emu:handle(request("GET", "/streamgroups/" .. SG, nil, { akid = "AKIDOTHER" })) }, 403,
      "UnrecognizedClientException")
    local bad = request("POST", "/streamgroups/" .. SG .. "/streamsessions")
    bad.body = "[1"
    assert_error({ emu:handle(bad) }, 400, "SerializationException")
  end)

  it("refuses requests signed for another region unless any_region is set", function()
    local msg = assert_error({ emu:handle(request("GET", "/streamgroups/" .. SG, nil, { region = "eu-west-1" })) }, 403,
      "InvalidSignatureException")
    assert.matches("eu%-west%-1", msg)
    local e = emulator.new{ clock = "virtual", wire = wire, any_region = true }
    assert.equal(200, (e:handle(request("GET", "/streamgroups/" .. SG, nil, { region = "eu-west-1" }))))
  end)

  it("serves the control API to loopback peers only", function()
    for _, remote in ipairs({ "127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1" }) do
      local status, headers, body = emu:handle(request("GET", "/_emulator/health", nil,
        { remote = remote, signed = false }))
      assert.equal(200, status, remote)
      assert.matches(UUID, headers["x-amzn-RequestId"])
      assert.equal("application/json", headers["Content-Type"])
      assert.equal("ok", decode(body).status)
    end
    for _, remote in ipairs({ "10.0.0.5", "::ffff:10.0.0.5", "192.168.1.1" }) do
      assert_error({ emu:handle(request("GET", "/_emulator/health", nil, { remote = remote, signed = false })) }, 403,
        "MissingAuthenticationTokenException")
    end
    local status, _, body = emu:handle(request("POST", "/_emulator/clock", { advance = 2 }, { signed = false }))
    assert.equal(200, status)
    assert.near(1700000002, decode(body).now, 1e-3)
    -- a path that only starts like the control API is an API path
    assert.equal(404, (emu:handle(request("GET", "/_emulatorx/health"))))
  end)

  it("throttles beyond the quota, after authentication", function()
    emu:control("POST", "/_emulator/quotas", '{"GetStreamGroup": 2}')
    for _ = 1, 5 do emu:handle(request("GET", "/streamgroups/" .. SG, nil, { signed = false })) end
    assert.equal(200, (emu:handle(request("GET", "/streamgroups/" .. SG))))
    assert.equal(200, (emu:handle(request("GET", "/streamgroups/" .. SG))))
    local msg = assert_error({ emu:handle(request("GET", "/streamgroups/" .. SG)) }, 429, "ThrottlingException")
    assert.equal("Rate exceeded", msg)
  end)

  it("logs every API request with the session it named", function()
    local id = start()
    emu:handle(request("GET", "/streamgroups/" .. SG .. "/streamsessions/" .. id))
    emu:handle(request("GET", "/streamgroups/" .. SG .. "/streamsessions/NOSUCH"))
    emu:handle(request("GET", "/nothing"))
    emu:handle(request("GET", "/_emulator/health"))  -- control calls are not logged
    local _, log = emu:control("GET", "/_emulator/requests")
    log = decode(log)
    assert.equal(4, #log)
    assert.same({ "StartStreamSession", 201, cjson.null, id },
      { log[1].operation, log[1].status, log[1].error, log[1].session })
    assert.same({ "GetStreamSession", 200, id }, { log[2].operation, log[2].status, log[2].session })
    assert.same({ 404, "ResourceNotFoundException", "NOSUCH" }, { log[3].status, log[3].error, log[3].session })
    assert.same({ cjson.null, 404, "UnknownOperationException" }, { log[4].operation, log[4].status, log[4].error })
  end)

  it("turns faults into error replies, dropped connections, truncated and malformed bodies", function()
    local function fault(f) assert.equal(201, (emu:control("POST", "/_emulator/faults", cjson.encode(f)))) end
    fault{ status = 503 }
    fault{ drop = true }
    fault{ truncate = true }
    fault{ malformed = true }
    fault{ status = 500, operation = "StartStreamSession" }
    local path = "/streamgroups/" .. SG
    assert_error({ emu:handle(request("GET", path)) }, 503, "ServiceUnavailableException")
    local _, _, _, opts = emu:handle(request("GET", path))
    assert.same({ drop = true }, opts)
    local status, headers, body, topts = emu:handle(request("GET", path))
    assert.equal(200, status)
    assert.equal("application/json", headers["Content-Type"])
    assert.equal(#body // 2, topts.truncate)
    decode(body)  -- whole, the body is JSON; the server sends only half of it
    status, _, body = emu:handle(request("GET", path))
    assert.equal(200, status)
    assert.is_false((pcall(cjson.decode, body)))
    -- the filtered fault waited for its operation, and its request changed nothing
    assert.equal(200, (emu:handle(request("GET", path))))
    assert_error({ emu:handle(request("POST", path .. "/streamsessions",
      { ApplicationIdentifier = APP, Protocol = "WebRTC", SignalRequest = "o" })) }, 500, "InternalServerException")
    local _, list = emu:control("GET", "/_emulator/sessions")
    assert.equal("[]", list)
    -- faults come before authentication: even an unsigned request gets one
    fault{ status = 429 }
    assert_error({ emu:handle(request("GET", path, nil, { signed = false })) }, 429, "ThrottlingException")
    local _, log = emu:control("GET", "/_emulator/requests")
    log = decode(log)
    local got = {}
    for i, e in ipairs(log) do got[i] = { e.status, e.error } end
    assert.same({ { 503, "ServiceUnavailableException" }, { cjson.null, "EmulatorFault" }, { 200, "EmulatorFault" },
      { 200, "EmulatorFault" }, { 200, cjson.null }, { 500, "InternalServerException" },
      { 429, "ThrottlingException" } }, got)
  end)

  it("holds replies back for latency_ms on the real clock and sends them through respond", function()
    emu:control("POST", "/_emulator/faults", '{"latency_ms": 300, "count": 1}')
    emu:control("POST", "/_emulator/faults", '{"latency_ms": 100, "status": 503}')
    local req = request("POST", "/streamgroups/" .. SG .. "/streamsessions",
      { ApplicationIdentifier = APP, Protocol = "WebRTC", SignalRequest = "o" })
    assert.equal(0, select("#", emu:handle(req)))
    -- a latency-only fault delays the reply of a request that did its work
    local _, list = emu:control("GET", "/_emulator/sessions")
    assert.equal(1, #decode(list))
    local req2 = request("GET", "/streamgroups/" .. SG)
    assert.equal(0, select("#", emu:handle(req2)))
    assert.near(0.1, emu:next_timer(), 1e-6)
    t = t + 0.1
    emu:tick()
    assert.equal(1, #sent)
    assert.equal(req2.id, sent[1][1])
    assert.equal(503, sent[1][2])
    assert.equal("ServiceUnavailableException" .. SERVICE_NS, sent[1][3]["X-Amzn-ErrorType"])
    t = t + 0.15
    emu:tick()
    assert.equal(1, #sent)
    -- the virtual clock does not hold real-time replies back
    emu:advance(0)
    t = t + 0.05
    emu:advance(0)
    assert.equal(2, #sent)
    assert.equal(req.id, sent[2][1])
    assert.equal(201, sent[2][2])
    assert.matches("streamsession/sg%-", decode(sent[2][4]).Arn)
    assert.is_nil(emu:next_timer())
  end)
end)

---------------------------------------------------------------- 2. core's wire helpers

-- A request signed as the client signs it, in core.httpd's request shape.
local function signed(method, path, body, query, remote)
  local text = body and cjson.encode(body) or ""
  local headers = { { "Host", "127.0.0.1:9000" } }
  if body then headers[2] = { "Content-Type", "application/json" } end
  local r = sigv4.sign{ method = method, path = path, query = query or "", headers = headers, body = text,
    access_key_id = KEY.access_key_id, secret_access_key = KEY.secret_access_key, region = "us-west-2",
    service = "gameliftstreams", time = os.time() }
  local lower = {}
  for _, h in ipairs(r.headers) do lower[h[1]:lower()] = h[2] end
  return { id = 1, method = method, path = path, query = query or "", headers = lower, header_list = r.headers,
    body = text, remote = remote or "127.0.0.1" }
end

describe("emu:handle (core wire helpers)", function()
  if not HAVE_WIRE then
    it("runs once core.emu_verify, emu_route, emu_input and emu_output exist", function()
      pending("needs core.emu_* (the wire branch)")
    end)
    return
  end
  local emu
  before_each(function() emu = emulator.new{ clock = "virtual" } end)

  it("runs a session's life over signed requests", function()
    local status, _, body = emu:handle(signed("POST", "/streamgroups/" .. SG .. "/streamsessions",
      { ApplicationIdentifier = APP, Protocol = "WebRTC", SignalRequest = "offer-1" }))
    assert.equal(201, status, body)
    local s = decode(body)
    assert.equal("ACTIVATING", s.Status)
    assert.is_number(s.CreatedAt)
    local id = s.Arn:match("([^/]+)$")
    emu:advance(1)
    status, _, body = emu:handle(signed("GET", "/streamgroups/" .. SG .. "/streamsessions/" .. id))
    assert.equal(200, status, body)
    assert.truthy(decode(body).SignalResponse:find("a=x-gls-offer-sha256:" .. core.sha256_hex("offer-1"), 1, true))
    emu:control("POST", "/_emulator/sessions/" .. id .. "/connect")
    emu:control("POST", "/_emulator/sessions/" .. id .. "/disconnect")
    -- the session's ARN as a path label, percent-encoded as the client sends it
    local arn = s.Arn:gsub("[:/]", function(c) return ("%%%02X"):format(c:byte()) end)
    status, _, body = emu:handle(signed("POST", "/streamgroups/" .. SG .. "/streamsessions/" .. arn .. "/connections",
      { SignalRequest = "offer-2" }))
    assert.equal(200, status, body)
    assert.truthy(decode(body).SignalResponse:find(core.sha256_hex("offer-2"), 1, true))
    emu:advance(0.2)
    emu:control("POST", "/_emulator/sessions/" .. id .. "/connect")
    status, _, body = emu:handle(signed("DELETE", "/streamgroups/" .. SG .. "/streamsessions/" .. id))
    assert.equal(204, status, body)
    assert.equal("", body)
  end)

  it("answers empty lists as JSON arrays and validation errors as the service words them", function()
    local status, _, body = emu:handle(signed("GET", "/streamgroups/" .. SG .. "/streamsessions", nil,
      "MaxResults=5"))
    assert.equal(200, status, body)
    assert.matches('"Items"%s*:%s*%[%]', body)
    status, _, body = emu:handle(signed("POST", "/streamgroups/" .. SG .. "/streamsessions",
      { ApplicationIdentifier = APP, Protocol = "WebRTC" }))
    assert.equal(400, status)
    assert.matches("1 validation error detected", decode(body).message)
  end)

  it("refuses a request whose signature does not match", function()
    local req = signed("GET", "/streamgroups/" .. SG)
    req.path = "/streamgroups/sg-000000000"
    local status, headers = emu:handle(req)
    assert.equal(403, status)
    assert.matches("^InvalidSignatureException:", headers["X-Amzn-ErrorType"])
  end)
end)

---------------------------------------------------------------- 3. main and core.httpd

describe("emulator.main", function()
  local function run(argv, sys)
    local out, err = {}, {}
    sys = sys or {}
    sys.stdout = { write = function(_, ...) for _, s in ipairs({ ... }) do out[#out + 1] = s end end,
      flush = function() out[#out + 1] = "<flush>" end }
    sys.stderr = { write = function(_, ...) for _, s in ipairs({ ... }) do err[#err + 1] = s end end }
    local code = emulator.main(argv, sys)
    return code, table.concat(out), table.concat(err)
  end

  it("refuses bad arguments with 252 and a message naming the option", function()
    local cases = {
      { { "--clock", "fast" }, "--clock" }, { { "--listen", "nohost" }, "--listen" },
      { { "--listen", "127.0.0.1:70000" }, "--listen" }, { { "--tls-cert", "/etc/hostname" }, "--tls-key" },
      { { "--tls-key", "/etc/hostname" }, "--tls-cert" }, { { "--bogus" }, "--bogus" },
      { { "--region", "US WEST" }, "--region" }, { { "--clock" }, "--clock" },
      { { "--tls-cert", "/nonexistent", "--tls-key", "/nonexistent" }, "--tls-cert" },
      { { "--credentials", "/nonexistent" }, "--credentials" }, { { "--account", "12" }, "--account" },
    }
    for _, c in ipairs(cases) do
      local code, out, err = run(c[1], { httpd = function() error("must not start") end })
      assert.equal(252, code, table.concat(c[1], " "))
      assert.equal("", out)
      assert.truthy(err:find(c[2], 1, true), err)
    end
    local code, out = run({ "--help" })
    assert.equal(0, code)
    assert.matches("usage: glsrun emulator", out)
  end)

  it("prints 'listening on URL' first, steps the server and ticks the emulator until interrupted", function()
    local srv, cfg = {}, nil
    local steps, waits, replies = 0, {}, {}
    local now = 1700000000
    function srv.url() return "http://127.0.0.1:45678" end
    function srv.close() srv.closed = (srv.closed or 0) + 1 end
    function srv.respond() return true end
    function srv.step(_, wait)
      steps = steps + 1
      waits[#waits + 1] = wait
      if steps == 1 then
        replies[1] = { cfg.handler({ id = 1, method = "GET", path = "/_emulator/health", query = "", headers = {},
          header_list = {}, body = "", remote = "127.0.0.1" }) }
        replies[2] = { cfg.handler({ id = 2, method = "POST", path = "/_emulator/delays", query = "",
          headers = {}, header_list = {}, body = '{"application": 0.5}', remote = "::1" }) }
        return true
      end
      now = now + 0.25
      if steps < 4 then return true end
      return nil, "interrupted"
    end
    local code, out, err = run({ "--listen", "127.0.0.1:0", "--clock", "real", "--region", "eu-west-1" }, {
      time = function() return now end,
      httpd = function(c)
        cfg = c
        return srv
      end,
    })
    assert.equal("", err)
    assert.equal(0, code)
    assert.equal("listening on http://127.0.0.1:45678\n<flush>", out)
    assert.equal("127.0.0.1:0", cfg.listen)
    assert.is_nil(cfg.tls_cert)
    assert.equal(1, srv.closed)
    assert.equal(200, replies[1][1])
    assert.equal("eu-west-1", decode(replies[1][3]).region)
    assert.equal(200, replies[2][1])
    for _, w in ipairs(waits) do assert.is_true(w > 0 and w <= 1) end
  end)

  it("passes TLS files on and reports a server that cannot start or fails", function()
    local cert = os.tmpname()
    helper.write_file(cert, "not really PEM")
    local cfg
    local code, _, err = run({ "--tls-cert", cert, "--tls-key", cert, "--listen", "[::1]:8443" }, {
      httpd = function(c)
        cfg = c
        error("cannot bind")
      end,
    })
    os.remove(cert)
    assert.equal(255, code)
    assert.equal(cert, cfg.tls_cert)
    assert.equal("[::1]:8443", cfg.listen)
    assert.matches("cannot bind", err)
    local srv = { url = function() return "http://x" end, close = function() end,
      step = function() return nil, "epoll failed" end }
    code, _, err = run({}, { httpd = function() return srv end })
    assert.equal(255, code)
    assert.matches("epoll failed", err)
  end)
end)

describe("the emulator over HTTP (core.httpd)", function()
  if not (HAVE_HTTPD and HAVE_WIRE) then
    it("runs once core.httpd and core.emu_* exist", function()
      pending("needs core.httpd (the httpd branch) and core.emu_* (the wire branch)")
    end)
    return
  end

  it("main serves the control API and stops on SIGTERM", function()
    local script = os.tmpname()
    local out = os.tmpname()
    helper.write_file(script, [[
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./build/?.so;" .. package.cpath
os.exit(require("gameliftstreams.emulator").main({ "--clock", "virtual" }))
]])
    assert(os.execute("sh -c 'echo $$; exec lua5.4 " .. script .. "' >" .. out .. " 2>&1 &"))
    local pid, line
    for _ = 1, 200 do
      local f = io.open(out)
      if f then
        pid = f:read("l")
        line = f:read("l")
        f:close()
      end
      if line then break end
      os.execute("sleep 0.05")
    end
    local url = line and line:match("^listening on (http://127%.0%.0%.1:%d+)$")
    assert(url, "no 'listening on' line: " .. tostring(line))
    local p = assert(io.popen("curl -sS --max-time 10 " .. url .. "/_emulator/health"))
    local health = decode(p:read("a"))
    p:close()
    assert.equal("virtual", health.clock)
    p = assert(io.popen("curl -sS --max-time 10 -X POST --data '{\"advance\": 5}' " .. url .. "/_emulator/clock"))
    assert.near(health.now + 5, decode(p:read("a")).now, 1e-3)
    p:close()
    os.execute("kill -TERM " .. pid)
    os.remove(script)
    os.remove(out)
  end)

  it("serves the Lua client: start, reconnect, faults and throttling", function()
    local gls = require "gameliftstreams"
    local emu = emulator.new{ clock = "virtual" }
    local srv = core.httpd{ listen = "127.0.0.1:0", handler = function(req) return emu:handle(req) end }
    emu.respond = function(...) return srv:respond(...) end
    local client = gls.client{ endpoint_url = srv:url(), region = "us-west-2", credentials = KEY, retry_mode = "off" }
    local function call(op, input)
      local done, out, err = false, nil, nil
      local req = client:start(op, input, function(o, e) done, out, err = true, o, e end)
      local deadline = os.time() + 10
      while not done do
        srv:step(0.005)
        emu:tick()  -- sends replies held back by latency faults
        client:step(0.005)
        assert(os.time() <= deadline, "no reply to " .. op)
      end
      local _ = req
      return out, err
    end
    local s = assert(call("start_stream_session", { Identifier = SG, ApplicationIdentifier = APP, Protocol = "WebRTC",
      SignalRequest = "offer-1" }))
    local id = s.Arn:match("([^/]+)$")
    emu:advance(1)
    emu:control("POST", "/_emulator/sessions/" .. id .. "/connect")
    emu:control("POST", "/_emulator/sessions/" .. id .. "/disconnect")
    emu:control("POST", "/_emulator/faults", '{"status": 503, "operation": "CreateStreamSessionConnection"}')
    local out, err = call("create_stream_session_connection", { Identifier = SG, StreamSessionIdentifier = id,
      SignalRequest = "offer-2" })
    assert.is_nil(out)
    assert.equal("ServiceUnavailableException", err.code)
    assert.equal(503, err.status)
    out = assert(call("create_stream_session_connection", { Identifier = SG, StreamSessionIdentifier = id,
      SignalRequest = "offer-2" }))
    assert.truthy(out.SignalResponse:find(core.sha256_hex("offer-2"), 1, true))
    emu:control("POST", "/_emulator/faults", '{"latency_ms": 50}')
    assert(call("get_stream_session", { Identifier = SG, StreamSessionIdentifier = id }))
    emu:control("POST", "/_emulator/quotas", '{"GetStreamGroup": 1}')
    assert(call("get_stream_group", { Identifier = SG }))
    out, err = call("get_stream_group", { Identifier = SG })
    assert.is_nil(out)
    assert.equal("ThrottlingException", err.code)
    client:close()
    srv:close()
  end)
end)
