-- `glsrun serve` as a process in front of `glsrun emulator` (real clock):
-- game clients start, wait for the answer, drop, reconnect with a new offer
-- and leave, over HTTP; the Web SDK sample's /api/ paths; bad requests;
-- /healthz and /metrics; the log; clean stops.
local core = require "gameliftstreams.core"
local emulator = require "spec.support.emulator"
local serve = require "spec.support.serve"
local helper = require "spec.helper"
local cjson = require "cjson"

local seq = 0
--- A fresh WebRTC-like offer (the emulator refuses one used before).
local function offer()
  seq = seq + 1
  return ("v=0\r\no=- %d%06d 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=x-spec-offer:%d\r\n")
    :format(os.time(), math.random(0, 999999), seq)
end

--- The offer an answer says it answers (the emulator names it by SHA-256).
local function answered_offer(answer)
  return type(answer) == "string" and answer:match("a=x%-gls%-offer%-sha256:(%x+)")
end

--- Polls fn until it returns a truthy value (real clock), up to seconds.
local function eventually(seconds, fn)
  local deadline = core.time() + seconds
  repeat
    local v = fn()
    if v then return v end
    os.execute("sleep 0.05")
  until core.time() > deadline
  error("timed out")
end

--- One metric's value in a Prometheus text scrape (nil when absent).
local function metric(text, name_and_labels)
  for line in text:gmatch("[^\n]+") do
    local key, value = line:match("^(%S+) (%S+)$")
    if key == name_and_labels then return tonumber(value) end
  end
end

describe("glsrun serve #runtime", function()
  local emu, s
  local secrets = {}   -- every token, offer and answer seen: none may reach the log
  local function keep(v)
    if type(v) == "string" and #v > 0 then secrets[#secrets + 1] = v end
    return v
  end
  local function new_offer() return keep(offer()) end

  setup(function()
    emu = emulator.start{}
    s = serve.start{ endpoint_url = emu.url }
  end)

  teardown(function()
    if s then s.stop() end
    if emu then emu.stop() end
  end)

  it("carries a client through start, answer, drop and reconnect; the token rotates", function()
    local offer1 = new_offer()
    local me = { ["X-Gls-Client-Id"] = "player-1", ["X-Gls-Device-Id"] = "console" }
    local st, body = s.request{ method = "POST", path = "/v1/sessions", headers = me,
                                body = { SignalRequest = offer1, UserId = "player-1" } }
    assert.equal(201, st, cjson.encode(body))
    local token = keep(body.Token)
    assert.matches("^" .. ("%x"):rep(64) .. "$", token)
    assert.matches("^arn:aws:gameliftstreams:us%-west%-2:%d+:streamsession/sg%-1AB2C3De4/", body.SessionArn)
    local arn = body.SessionArn

    -- long poll: the emulator activates a session in about a second
    local t0 = core.time()
    local body2
    st, body2 = s.request{ path = "/v1/sessions/" .. token .. "/answer?wait=10" }
    assert.equal(200, st)
    keep(body2.SignalResponse)
    assert.equal(core.sha256_hex(offer1), answered_offer(body2.SignalResponse))
    assert.is_true(core.time() - t0 < 9, "the long poll did not end when the answer came")

    -- the player's device attaches, then drops
    assert(emu.control:connect(arn))
    assert(emu.control:disconnect(arn))

    -- someone else who got hold of the token: not the owner (default policy)
    local intruder
    st, intruder = s.request{ method = "POST", path = "/v1/sessions/" .. token .. "/reconnect",
                              headers = { ["X-Gls-Client-Id"] = "player-2" }, body = { SignalRequest = new_offer() } }
    assert.equal(403, st)
    assert.equal("Forbidden", intruder.code)
    assert.matches("owner", intruder.message)

    local offer2 = new_offer()
    local body3
    st, body3 = s.request{ method = "POST", path = "/v1/sessions/" .. token .. "/reconnect", headers = me,
                           body = { SignalRequest = offer2 } }
    assert.equal(200, st, cjson.encode(body3))
    keep(body3.SignalResponse)
    assert.equal(core.sha256_hex(offer2), answered_offer(body3.SignalResponse))
    local token2 = keep(body3.Token)
    assert.matches("^" .. ("%x"):rep(64) .. "$", token2)
    assert.not_equal(token, token2)

    -- the old token is dead everywhere
    local body4
    st, body4 = s.request{ method = "POST", path = "/v1/sessions/" .. token .. "/reconnect", headers = me,
                           body = { SignalRequest = new_offer() } }
    assert.equal(404, st)
    assert.equal("NotFound", body4.code)
    st = s.request{ path = "/v1/sessions/" .. token .. "/answer" }
    assert.equal(404, st)
    st = s.request{ method = "DELETE", path = "/v1/sessions/" .. token }
    assert.equal(404, st)

    -- leaving: 204, the session ends on the service, the token dies with it
    local body5
    st, body5 = s.request{ method = "DELETE", path = "/v1/sessions/" .. token2, headers = me }
    assert.equal(204, st)
    assert.equal("", body5)
    local ended = eventually(5, function()
      local x = assert(emu.control:session(arn))
      return (x.Status == "TERMINATING" or x.Status == "TERMINATED") and x
    end)
    assert.equal("apiTerminated", ended.StatusReason)
    st = s.request{ method = "DELETE", path = "/v1/sessions/" .. token2 }
    assert.equal(404, st)
  end)

  it("answers 202 when the answer is not there within the wait", function()
    local st, body = s.request{ method = "POST", path = "/v1/sessions", body = { SignalRequest = new_offer() } }
    assert.equal(201, st)
    local token = keep(body.Token)
    local body2
    st, body2 = s.request{ path = "/v1/sessions/" .. token .. "/answer?wait=0" }
    assert.equal(202, st)
    assert.equal("NotReady", body2.code)
    st, body2 = s.request{ path = "/v1/sessions/" .. token .. "/answer?wait=10" }
    assert.equal(200, st)
    keep(body2.SignalResponse)
    s.request{ method = "DELETE", path = "/v1/sessions/" .. token }
  end)

  it("serves the Web SDK sample backend's /api/ paths; the token stays", function()
    local offer1 = new_offer()
    local st, body = s.request{ method = "POST", path = "/api/CreateStreamSession",
                                body = { SignalRequest = offer1, UserId = "player-2",
                                         AdditionalLaunchArgs = {}, AdditionalEnvironmentVariables = {} } }
    assert.equal(200, st, cjson.encode(body))
    local token = keep(body.Token)
    assert.is_string(token)
    -- while activating: an empty SignalResponse, then the answer
    local first
    st, first = s.request{ method = "POST", path = "/api/GetSignalResponse", body = { Token = token } }
    assert.equal(200, st)
    assert.equal("", first.SignalResponse)
    local answer = eventually(8, function()
      local st2, b = s.request{ method = "POST", path = "/api/GetSignalResponse", body = { Token = token } }
      assert.equal(200, st2)
      return b.SignalResponse ~= "" and b.SignalResponse
    end)
    keep(answer)
    assert.equal(core.sha256_hex(offer1), answered_offer(answer))
    local arn = answer:match("a=x%-gls%-session:([^\r\n]+)")
    assert.is_string(arn)
    assert(emu.control:connect(arn))
    assert(emu.control:disconnect(arn))

    local offer2 = new_offer()
    local body2
    st, body2 = s.request{ method = "POST", path = "/api/ReconnectStreamSession",
                           body = { Token = token, SignalRequest = offer2 } }
    assert.equal(200, st, cjson.encode(body2))
    keep(body2.SignalResponse)
    assert.equal(core.sha256_hex(offer2), answered_offer(body2.SignalResponse))
    assert.is_nil(body2.Token)

    -- the same token still stands for the session, and gets the latest answer
    local again
    st, again = s.request{ method = "POST", path = "/api/GetSignalResponse", body = { Token = token } }
    assert.equal(200, st)
    assert.equal(core.sha256_hex(offer2), answered_offer(again.SignalResponse))
    local body3
    st, body3 = s.request{ method = "POST", path = "/api/DestroyStreamSession", body = { Token = token } }
    assert.equal(200, st, cjson.encode(body3))
    assert.is_true(body3.success)
    st, body3 = s.request{ method = "POST", path = "/api/DestroyStreamSession", body = { Token = token } }
    assert.equal(404, st)
    assert.is_string(body3.error)
    st = s.request{ method = "POST", path = "/api/GetSignalResponse", body = { Token = token } }
    assert.equal(404, st)
  end)

  it("refuses bad requests with 400 naming the field, and unknown routes", function()
    local st, body = s.request{ method = "POST", path = "/v1/sessions", body = "{not json" }
    assert.equal(400, st)
    assert.equal("BadRequest", body.code)
    assert.matches("not valid JSON", body.message)
    st, body = s.request{ method = "POST", path = "/v1/sessions", body = { SignalRequest = 5 } }
    assert.equal(400, st)
    assert.matches("'SignalRequest' must be a string", body.message)
    st, body = s.request{ method = "POST", path = "/v1/sessions", body = { UserId = "x" } }
    assert.equal(400, st)
    assert.matches("'SignalRequest' is required", body.message)
    st, body = s.request{ method = "POST", path = "/v1/sessions",
                          body = { SignalRequest = "x", ConnectionTimeoutSeconds = "soon" } }
    assert.equal(400, st)
    assert.matches("'ConnectionTimeoutSeconds' must be an integer", body.message)
    st, body = s.request{ method = "POST", path = "/v1/sessions", body = "[1, 2]" }
    assert.equal(400, st)
    assert.matches("JSON object", body.message)
    st, body = s.request{ path = "/v1/sessions/" .. ("ab"):rep(32) .. "/answer?wait=soon" }
    assert.equal(400, st)
    assert.matches("'wait'", body.message)
    st, body = s.request{ method = "POST", path = "/v1/sessions/" .. ("ab"):rep(32) .. "/reconnect", body = {} }
    assert.equal(400, st)
    assert.matches("'SignalRequest' is required", body.message)
    st, body = s.request{ method = "POST", path = "/api/ReconnectStreamSession", body = { SignalRequest = "x" } }
    assert.equal(400, st)
    assert.matches("'Token' is required", body.error)
    -- a token nobody holds
    st, body = s.request{ method = "POST", path = "/v1/sessions/" .. ("cd"):rep(32) .. "/reconnect",
                          body = { SignalRequest = "x" } }
    assert.equal(404, st)
    assert.equal("NotFound", body.code)
    -- routes and methods
    st = s.request{ path = "/v2/anything" }
    assert.equal(404, st)
    local _, h
    st, _, h = s.request{ path = "/v1/sessions" }
    assert.equal(405, st)
    assert.equal("POST", h.allow)
    st, _, h = s.request{ path = "/api/CreateStreamSession" }
    assert.equal(405, st)
    assert.equal("POST", h.allow)
  end)

  it("answers /healthz", function()
    local st, body, h = s.request{ path = "/healthz" }
    assert.equal(200, st)
    assert.equal("ok", body.status)
    assert.is_number(body.sessions)
    assert.matches("^application/json", h["content-type"])
  end)

  it("counts requests, API calls and latency in /metrics (Prometheus text)", function()
    local st, before, h = s.request{ path = "/metrics" }
    assert.equal(200, st)
    assert.matches("^text/plain; version=0%.0%.4", h["content-type"])
    for _, name in ipairs{ "gls_requests_total counter", "gls_api_calls_total counter",
                           "gls_budget_used_ratio gauge", "gls_queue_depth gauge",
                           "gls_deadline_misses_total counter", "gls_request_seconds histogram" } do
      assert.matches("\n# TYPE " .. name:gsub("%p", "%%%0") .. "\n", "\n" .. before)
    end
    local starts = metric(before, 'gls_requests_total{route="start",outcome="ok"}') or 0
    local calls = metric(before, 'gls_api_calls_total{operation="StartStreamSession",result="ok"}') or 0
    local bad = metric(before, 'gls_requests_total{route="start",outcome="BadRequest"}') or 0
    local body
    st, body = s.request{ method = "POST", path = "/v1/sessions", body = { SignalRequest = new_offer() } }
    assert.equal(201, st)
    keep(body.Token)
    s.request{ method = "POST", path = "/v1/sessions", body = "nope" }
    local _, after = s.request{ path = "/metrics" }
    assert.equal(starts + 1, metric(after, 'gls_requests_total{route="start",outcome="ok"}'))
    assert.equal(bad + 1, metric(after, 'gls_requests_total{route="start",outcome="BadRequest"}'))
    assert.is_true(metric(after, 'gls_api_calls_total{operation="StartStreamSession",result="ok"}') >= calls + 1)
    local n = metric(after, 'gls_request_seconds_count{route="start"}')
    assert.is_true(n >= starts + bad + 2)
    assert.equal(n, metric(after, 'gls_request_seconds_bucket{route="start",le="+Inf"}'))
    assert.is_true(metric(after, 'gls_request_seconds_bucket{route="start",le="60"}') <= n)
    -- every line is exposition format 0.0.4: comments, or name{labels} value
    for line in after:gmatch("[^\n]+") do
      local fine = line:match("^# HELP [%a_:][%w_:]* .+$") or line:match("^# TYPE [%a_:][%w_:]* %a+$")
        or line:match('^[%a_:][%w_:]*{[%a_][%w_]*="[^"]*"[^}]*} [-+%w.]+$')
        or line:match("^[%a_:][%w_:]* [-+%w.]+$")
      assert(fine, "not exposition format: " .. line)
    end
    assert.is_number(metric(after, "gls_queue_depth"))
    assert.is_number(metric(after, "gls_budget_used_ratio"))
    assert.is_number(metric(after, "gls_deadline_misses_total"))
    s.request{ method = "DELETE", path = "/v1/sessions/" .. body.Token }
  end)

  it("logs one JSON object per line, without tokens, offers or answers", function()
    local text = s.stderr()
    local events = {}
    for line in text:gmatch("[^\n]+") do
      local ok, rec = pcall(cjson.decode, line)
      assert(ok and type(rec) == "table", "not a JSON object: " .. line)
      events[rec.event or "?"] = (events[rec.event or "?"] or 0) + 1
    end
    assert.is_true((events.request or 0) >= 10)
    assert.is_true(#secrets >= 10)
    for _, secret in ipairs(secrets) do
      assert.is_nil(text:find(secret, 1, true), "a token, offer or answer reached the log")
      -- nor any long piece of one (escaped slashes aside)
      local piece = secret:sub(1, 24)
      assert.is_nil(text:find(piece, 1, true), "part of a token, offer or answer reached the log")
    end
  end)
end)

describe("glsrun serve, alone #runtime", function()
  local emu
  setup(function() emu = emulator.start{} end)
  teardown(function() if emu then emu.stop() end end)

  it("refuses bodies over --max-body with 413", function()
    local s = serve.start{ endpoint_url = emu.url, args = { "--max-body", "1024" } }
    finally(function() s.stop() end)
    local st = s.request{ method = "POST", path = "/v1/sessions",
                          body = { SignalRequest = ("x"):rep(2000) } }
    assert.equal(413, st)
    local st2, body = s.request{ method = "POST", path = "/v1/sessions", body = { SignalRequest = 1 } }
    assert.equal(400, st2)
    assert.matches("SignalRequest", body.message)
    assert.equal(0, (s.stop()))
  end)

  it("answers 403 when the policy refuses, with its reason", function()
    local dir = os.tmpname()
    helper.write_file(dir, [[
return {
  authenticate = function(request)
    if request.client and request.client.id == "banned" then return false, "banned player" end
    return true
  end,
}
]])
    local s = serve.start{ endpoint_url = emu.url, policy = dir }
    finally(function() s.stop() os.remove(dir) end)
    local st, body = s.request{ method = "POST", path = "/v1/sessions",
                                headers = { ["X-Gls-Client-Id"] = "banned" },
                                body = { SignalRequest = offer(), UserId = "banned" } }
    assert.equal(403, st)
    assert.equal("Forbidden", body.code)
    assert.matches("banned player", body.message)
    -- the body's UserId is no identity
    st, body = s.request{ method = "POST", path = "/v1/sessions",
                          body = { SignalRequest = offer(), UserId = "banned" } }
    assert.equal(201, st)
    s.request{ method = "DELETE", path = "/v1/sessions/" .. body.Token }
    st, body = s.request{ method = "POST", path = "/v1/sessions", body = { SignalRequest = offer(), UserId = "ok" } }
    assert.equal(201, st)
    s.request{ method = "DELETE", path = "/v1/sessions/" .. body.Token }
    assert.equal(0, (s.stop()))
  end)

  it("stops on SIGTERM with exit 0, answering a waiting long poll with 503", function()
    local s = serve.start{ endpoint_url = emu.url }
    -- sessions take 30 s to activate now: the long poll below cannot end by itself
    assert(emu.control:request("POST", "/delays", { activation = 30 }))
    finally(function()
      s.stop()
      emu.control:request("POST", "/delays", { activation = 1 })
    end)
    local st, body = s.request{ method = "POST", path = "/v1/sessions", body = { SignalRequest = offer() } }
    assert.equal(201, st)
    local out = os.tmpname()
    assert(os.execute(("(curl -s -o /dev/null -w '%%{http_code}' --max-time 20 %s > %s.tmp; mv %s.tmp %s) &")
      :format(helper.quote(s.url .. "/v1/sessions/" .. body.Token .. "/answer?wait=60"),
              out, out, out)))
    os.execute("sleep 0.5")
    local t0 = core.time()
    local code, stdout = s.stop("TERM")
    assert.equal(0, code)
    assert.is_true(core.time() - t0 < 5)
    assert.matches("^listening on http://127%.0%.0%.1:%d+\n", stdout)
    local got = eventually(5, function()
      local f = io.open(out)
      if not f then return nil end
      local t = f:read("a")
      f:close()
      return t ~= "" and t
    end)
    os.remove(out)
    assert.equal("503", got)
  end)

  it("exits 130 on SIGINT", function()
    local s = serve.start{ endpoint_url = emu.url }
    finally(function() s.stop() end)
    assert.equal(130, (s.stop("INT")))
  end)

  it("refuses bad arguments with 252, naming the option", function()
    for _, case in ipairs{
      { "--listen nowhere", "%-%-listen must be HOST:PORT" },
      { "--endpoint-url ftp://x", "%-%-endpoint%-url must be an http" },
      { "--max-body lots", "%-%-max%-body must be a number of bytes" },
      { "--region 'US West'", "%-%-region must be a region name" },
      { "--tls-cert /nonexistent", "%-%-tls%-key is needed with %-%-tls%-cert" },
    } do
      local f = assert(io.popen("build/glsrun serve examples/policies/default.lua " .. case[1]
        .. " 2>&1; echo \"rc=$?\""))
      local text = f:read("a")
      f:close()
      assert.matches("rc=252", text)
      assert.matches("^glsrun: serve: " .. case[2], text)
      assert.matches("\nusage: glsrun serve POLICY%.lua", text)
    end
  end)

  it("exits 253 when the policy does not load", function()
    local path = os.tmpname()
    helper.write_file(path, "return {")
    local f = assert(io.popen("build/glsrun serve " .. helper.quote(path) .. " 2>&1; echo \"rc=$?\""))
    local text = f:read("a")
    f:close()
    os.remove(path)
    assert.matches("rc=253", text)
    assert.matches("glsrun: serve: POLICY%.lua: ", text)
  end)
end)
