-- luacheck: std +busted
-- No secret in any output. Secret access keys, session tokens, signatures,
-- offers (SignalRequest), answers (SignalResponse) and the front's tokens are
-- given distinctive values here; every byte that leaves the emulator, `glsrun
-- serve` (its JSON log, error replies, /metrics, stdout, stderr) and a client
-- script's errors (every field, tostring, its stdout and stderr, the default
-- on_error sink) and `glsrun OPERATION --debug` is collected and searched for each of them, whole and in
-- pieces.
local core = require "gameliftstreams.core"
local cjson = require "cjson"
local emulator = require "spec.support.emulator"
local serve = require "spec.support.serve"
local offers = require "spec.support.offers"
local helper = require "spec.helper"
local q = helper.quote

local AKID = "AKIAZZSECURITYSPEC01"
local SECRET = "zzSecretKey/" .. core.random_hex(14)
local TOKEN = "zzSessionToken+" .. core.random_hex(20)
local WRONG_SECRET = "zzWrongSecret/" .. core.random_hex(14)
local FAKE_SIGNATURE = core.random_hex(32)

local secrets = { SECRET, TOKEN, WRONG_SECRET, FAKE_SIGNATURE }
local function keep(v)
  if type(v) == "string" and #v > 0 then secrets[#secrets + 1] = v end
  return v
end

local function offer() return keep(offers.new("zz-secret-offer")) end

-- Every secret, and pieces of it (a truncated or wrapped secret is still one).
local function assert_clean(name, text)
  assert.is_string(text, name)
  for _, s in ipairs(secrets) do
    local pieces = { s }
    if #s >= 32 then
      pieces[#pieces + 1] = s:sub(1, 16)
      pieces[#pieces + 1] = s:sub(-16)
      pieces[#pieces + 1] = s:sub(#s // 2 - 8, #s // 2 + 8)
    end
    for _, p in ipairs(pieces) do
      local at = text:find(p, 1, true)
      assert(not at, ("%s holds a secret (%q) at byte %s: ...%s..."):format(
        name, p:sub(1, 12), tostring(at), at and text:sub(math.max(1, at - 40), at + 40) or ""))
    end
  end
  -- no signature of any request either: an Authorization header or its parts
  for _, marker in ipairs({ "Signature=", "X-Amz-Signature=", "AWS4-HMAC-SHA256 Credential" }) do
    assert(not text:find(marker, 1, true), name .. " holds " .. marker)
  end
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

describe("no secret in any output #security", function()
  local emu, s
  local outputs = {}    -- { name, text }
  local function collect(name, text) outputs[#outputs + 1] = { name, text } end

  setup(function()
    emu = emulator.start{ env = { AWS_ACCESS_KEY_ID = AKID, AWS_SECRET_ACCESS_KEY = SECRET,
                                  AWS_SESSION_TOKEN = TOKEN } }
    s = serve.start{ endpoint_url = emu.url,
                     credentials = { access_key_id = AKID, secret_access_key = SECRET, session_token = TOKEN } }
  end)

  teardown(function()
    if s then s.stop() end
    if emu then emu.stop() end
  end)

  local function req(name, r)
    local st, body, h = s.request(r)
    local text = type(body) == "table" and cjson.encode(body) or tostring(body)
    collect(("serve %s -> %d"):format(name, st), text .. "\n" .. cjson.encode(h or {}))
    return st, body
  end

  it("glsrun serve: through start, answer, errors, reconnect and leave", function()
    local me = { ["X-Gls-Client-Id"] = "player-s" }
    local offer1 = offer()
    local st, body = s.request{ method = "POST", path = "/v1/sessions", headers = me,
                                body = { SignalRequest = offer1 } }
    assert.equal(201, st)
    local token1, arn = keep(body.Token), body.SessionArn
    st, body = s.request{ path = "/v1/sessions/" .. token1 .. "/answer?wait=10" }
    assert.equal(200, st)
    keep(body.SignalResponse)

    -- errors that carry an offer or a token in their request
    st = req("UserId too long", { method = "POST", path = "/v1/sessions",
                                  body = { SignalRequest = offer(), UserId = ("u"):rep(1100) } })
    assert.is_true(st >= 400)
    st = req("empty offer", { method = "POST", path = "/v1/sessions", body = { SignalRequest = "" } })
    assert.is_true(st >= 400)
    st = req("bad JSON", { method = "POST", path = "/v1/sessions", body = '{"SignalRequest": "' .. offer() })
    assert.equal(400, st)
    st = req("wrong type", { method = "POST", path = "/v1/sessions/" .. token1 .. "/reconnect",
                             body = { SignalRequest = { offer() } } })
    assert.equal(400, st)

    assert(emu.control:connect(arn))
    assert(emu.control:disconnect(arn))
    -- the service refuses an offer used before: its message comes back through serve
    st = req("offer reused", { method = "POST", path = "/v1/sessions/" .. token1 .. "/reconnect",
                               headers = me, body = { SignalRequest = offer1 } })
    assert.is_true(st >= 400)
    local offer2 = offer()
    st, body = s.request{ method = "POST", path = "/v1/sessions/" .. token1 .. "/reconnect", headers = me,
                          body = { SignalRequest = offer2 } }
    assert.equal(200, st)
    keep(body.SignalResponse)
    local token2 = keep(body.Token)
    st = req("old token", { method = "POST", path = "/v1/sessions/" .. token1 .. "/reconnect", headers = me,
                            body = { SignalRequest = offer() } })
    assert.equal(404, st)
    st = req("stranger", { method = "POST", path = "/v1/sessions/" .. token2 .. "/reconnect",
                           headers = { ["X-Gls-Client-Id"] = "someone-else" }, body = { SignalRequest = offer() } })
    assert.equal(403, st)
    st = req("api bad token", { method = "POST", path = "/api/ReconnectStreamSession",
                                body = { Token = token1, SignalRequest = offer() } })
    assert.equal(404, st)
    st = req("metrics", { path = "/metrics" })
    assert.equal(200, st)
    st = req("healthz", { path = "/healthz" })
    assert.equal(200, st)
    st = req("leave", { method = "DELETE", path = "/v1/sessions/" .. token2, headers = me })
    assert.equal(204, st)
    collect("serve stderr so far", s.stderr())
  end)

  it("the emulator's error replies to a bad signature and a bad request", function()
    local body = cjson.encode{ Identifier = emulator.STREAM_GROUP_ID or "sg-1AB2C3De4",
                               StreamSessionIdentifier = "ABC123def4567", SignalRequest = offer() }
    local auth = ("AWS4-HMAC-SHA256 Credential=%s/20260101/us-west-2/gameliftstreams/aws4_request, "
      .. "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=%s"):format(AKID, FAKE_SIGNATURE)
    local st, text, h = core.http_request{
      method = "POST", url = emu.url .. "/streamgroups/sg-1AB2C3De4/streamsessions/ABC123def4567/connections",
      body = body, timeout = 10,
      headers = { ["Content-Type"] = "application/json", ["X-Amz-Date"] = "20260101T000000Z",
                  ["X-Amz-Security-Token"] = TOKEN, Authorization = auth } }
    assert.is_true(st >= 400, tostring(st))
    collect("emulator bad signature", text .. cjson.encode(h))
    local log_st, log = core.http_request{ url = emu.url .. "/_emulator/requests", timeout = 10 }
    assert.equal(200, log_st)
    collect("emulator request log", log)
  end)

  it("a client's errors, every field, and all it writes", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. q(dir)))
    finally(function() os.execute("rm -rf " .. q(dir)) end)
    local script = dir .. "/client.lua"
    helper.write_file(script, [=[
local gls = require "gameliftstreams"
local url, dead_url, wrong, o1, o2, o3, o4 = ...
local function dump(label, out, err)
  local seen = {}
  local function walk(v, depth)
    if type(v) ~= "table" or seen[v] or depth > 6 then return tostring(v) end
    seen[v] = true
    local parts = {}
    for k, x in pairs(v) do parts[#parts + 1] = tostring(k) .. "=" .. walk(x, depth + 1) end
    table.sort(parts)
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  io.write(label, ": ", out and "ok" or "error", " ", walk(err, 0), " | ", tostring(err), "\n")
end
local c = gls.client{ endpoint_url = url, region = "us-west-2", max_attempts = 2, retry_base_delay = 0.01 }
local input = { Identifier = "sg-1AB2C3De4", StreamSessionIdentifier = "ABC123def4567", SignalRequest = o1 }
dump("service error", c:create_stream_session_connection(input))
dump("param validation", c:create_stream_session_connection{ Identifier = "bad id!", SignalRequest = o2,
                                                               StreamSessionIdentifier = "x" })
local bad = gls.client{ endpoint_url = url, region = "us-west-2", max_attempts = 1,
                        credentials = { access_key_id = os.getenv("AWS_ACCESS_KEY_ID"), secret_access_key = wrong,
                                        session_token = os.getenv("AWS_SESSION_TOKEN") } }
dump("wrong secret", bad:create_stream_session_connection{ Identifier = "sg-1AB2C3De4",
  StreamSessionIdentifier = "ABC123def4567", SignalRequest = o3 })
local dead = gls.client{ endpoint_url = dead_url, region = "us-west-2", max_attempts = 1 }
dump("connection refused", dead:create_stream_session_connection{ Identifier = "sg-1AB2C3De4",
  StreamSessionIdentifier = "ABC123def4567", SignalRequest = o4 })
-- a completion callback that fails goes to the default on_error sink (stderr)
c:start("get_stream_session", { Identifier = "sg-1AB2C3De4", StreamSessionIdentifier = "ABC123def4567" },
  function(_, err) error("callback saw " .. tostring(err)) end)
for _ = 1, 200 do if c:step(0.05) == 0 and not c:timeout() then break end end
print(tostring(c))
]=])
    local env = ("AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_SESSION_TOKEN=%s AWS_PROFILE= "
      .. "AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent"):format(q(AKID), q(SECRET), q(TOKEN))
    local cmd = ("env %s build/glsrun %s %s %s %s %s %s %s %s >%s/out 2>%s/err"):format(env, q(script), q(emu.url),
      q("http://127.0.0.1:9"), q(WRONG_SECRET), q(offer()), q(offer()), q(offer()), q(offer()), q(dir), q(dir))
    assert(os.execute(cmd))
    local out, err = read(dir .. "/out"), read(dir .. "/err")
    -- the errors did come, with their codes
    assert.matches("service error: error [^\n]*ResourceNotFoundException", out)
    assert.matches("param validation: error [^\n]*ParamValidation", out)
    assert.matches("wrong secret: error [^\n]*code=%a*Signature", out)
    assert.matches("connection refused: error [^\n]*ConnectionError", out)
    assert.matches("callback saw", err)
    collect("client stdout", out)
    collect("client stderr", err)
  end)

  it("glsrun OPERATION --debug: its stdout and stderr, on a service error and a bad signature", function()
    local base = ("env AWS_ACCESS_KEY_ID=%s AWS_SESSION_TOKEN=%s AWS_PROFILE= AWS_CONFIG_FILE=/nonexistent "
      .. "AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_REGION=us-west-2 AWS_MAX_ATTEMPTS=1 "):format(q(AKID), q(TOKEN))
    for _, case in ipairs({ { "service error", SECRET, 254 }, { "bad signature", WRONG_SECRET, 254 } }) do
      local out, err = os.tmpname(), os.tmpname()
      local cmd = ("%s AWS_SECRET_ACCESS_KEY=%s build/glsrun create-stream-session-connection --debug "
        .. "--endpoint-url %s --identifier sg-1AB2C3De4 --stream-session-identifier ABC123def4567 "
        .. "--signal-request %s >%s 2>%s"):format(base, q(case[2]), q(emu.url), q(offer()), out, err)
      local _, _, code = os.execute(cmd)
      local o, e = read(out), read(err)
      os.remove(out)
      os.remove(err)
      assert.equal(case[3], code, e)
      assert.matches("Sending http request", e)
      collect("glsrun OPERATION " .. case[1] .. " stdout", o)
      collect("glsrun OPERATION " .. case[1] .. " stderr", e)
    end
  end)

  it("holds none of them in anything collected, nor in the logs of both servers", function()
    local code, sout, serr = s.stop()
    assert.equal(0, code)
    collect("serve stdout", sout)
    collect("serve stderr", serr)
    assert.matches('"event"', serr)          -- the JSON log did log the session
    local ecode, elog = emu.stop()
    assert.equal(0, ecode)
    collect("emulator output", elog)
    assert.is_true(#outputs >= 15, #outputs)
    assert.is_true(#secrets >= 15)
    for _, o in ipairs(outputs) do assert_clean(o[1], o[2]) end
  end)
end)
