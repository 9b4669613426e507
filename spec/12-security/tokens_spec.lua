-- luacheck: std +busted
-- The front's session tokens (`glsrun serve`, /v1 and /api paths): 256 bits
-- from OpenSSL's CSPRNG (core.random_hex), so not guessable; dead once
-- rotated, on every path; and bound to their own session, whatever else a
-- request names.
local core = require "gameliftstreams.core"
local cjson = require "cjson"
local emulator = require "spec.support.emulator"
local serve = require "spec.support.serve"
local offers = require "spec.support.offers"

local function offer() return offers.new("token-spec") end
local answered_offer, answered_session = offers.answered, offers.session
local function id(arn) return arn:match("[^/]+$") end

local function popcount_hex(h)
  local bits = { [0] = 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4 }
  local n = 0
  for c in h:gmatch("%x") do n = n + bits[tonumber(c, 16)] end
  return n
end

describe("front tokens #security", function()
  local emu, s
  setup(function()
    emu = emulator.start{}
    s = serve.start{ endpoint_url = emu.url }
  end)
  teardown(function()
    if s then s.stop() end
    if emu then emu.stop() end
  end)

  local function start(who)
    local o = offer()
    local st, body = s.request{ method = "POST", path = "/v1/sessions", headers = { ["X-Gls-Client-Id"] = who },
                                body = { SignalRequest = o } }
    assert.equal(201, st, cjson.encode(body))
    local token, arn = body.Token, body.SessionArn
    st, body = s.request{ path = "/v1/sessions/" .. token .. "/answer?wait=10" }
    assert.equal(200, st)
    assert.equal(core.sha256_hex(o), answered_offer(body.SignalResponse))
    assert(emu.control:connect(arn))
    assert(emu.control:disconnect(arn))
    return token, arn
  end

  it("are 256 bits from a CSPRNG: no repeats, no bias, nothing taken from the session", function()
    -- the generator the runtime mints tokens with (runtime.lua: core.random_hex(32))
    local seen, ones, n = {}, 0, 4000
    for _ = 1, n do
      local t = core.random_hex(32)
      assert.matches("^" .. ("%x"):rep(64) .. "$", t)
      assert.is_nil(seen[t])
      seen[t] = true
      ones = ones + popcount_hex(t)
    end
    -- 1,024,000 bits: a fair source is within 0.5% of half (over 10 standard deviations)
    local bits = n * 256
    assert.is_true(math.abs(ones / bits - 0.5) < 0.005, ("%.4f of the bits are ones"):format(ones / bits))

    local a, arn_a = start("tok-a")
    local b = start("tok-b")
    for _, t in ipairs({ a, b }) do
      assert.matches("^" .. ("%x"):rep(64) .. "$", t)
      assert.is_nil(t:find(arn_a:match("[^/]+$"), 1, true))
      assert.not_equal(core.sha256_hex(arn_a), t)
    end
    assert.not_equal(a, b)
    -- near misses and what the server stores are not tokens
    local flip = (a:sub(1, 1) == "0" and "1" or "0") .. a:sub(2)
    for _, guess in ipairs({ flip, a:sub(1, 63), a .. "0", a:upper(), core.sha256_hex(a), core.random_hex(32) }) do
      local st = s.request{ path = "/v1/sessions/" .. guess .. "/answer" }
      assert.equal(404, st, guess)
      st = s.request{ method = "POST", path = "/api/GetSignalResponse", body = { Token = guess } }
      assert.equal(404, st, guess)
    end
  end)

  it("die when rotated, on every /v1 and /api path", function()
    local old, arn = start("tok-rot")
    local o = offer()
    local st, body = s.request{ method = "POST", path = "/v1/sessions/" .. old .. "/reconnect",
                                headers = { ["X-Gls-Client-Id"] = "tok-rot" }, body = { SignalRequest = o } }
    assert.equal(200, st, cjson.encode(body))
    local new = body.Token
    assert.not_equal(old, new)
    local function dead(method, path, b)
      local code = s.request{ method = method, path = path, headers = { ["X-Gls-Client-Id"] = "tok-rot" }, body = b }
      assert.equal(404, code, method .. " " .. path)
    end
    dead("GET", "/v1/sessions/" .. old .. "/answer")
    dead("POST", "/v1/sessions/" .. old .. "/reconnect", { SignalRequest = offer() })
    dead("DELETE", "/v1/sessions/" .. old)
    dead("POST", "/api/GetSignalResponse", { Token = old })
    dead("POST", "/api/ReconnectStreamSession", { Token = old, SignalRequest = offer() })
    dead("POST", "/api/DestroyStreamSession", { Token = old })
    -- the new one still stands for the session
    st, body = s.request{ path = "/v1/sessions/" .. new .. "/answer" }
    assert.equal(200, st)
    assert.equal(id(arn), answered_session(body.SignalResponse))
    assert.equal(204, (s.request{ method = "DELETE", path = "/v1/sessions/" .. new,
                                  headers = { ["X-Gls-Client-Id"] = "tok-rot" } }))
  end)

  it("act on their own session only, whatever else the request names", function()
    local a, arn_a = start("tok-own-a")
    local b, arn_b = start("tok-own-b")
    -- A's token with B's session named in every way a body could name it
    local o = offer()
    local st, body = s.request{ method = "POST", path = "/api/ReconnectStreamSession",
      headers = { ["X-Gls-Client-Id"] = "tok-own-a" },
      body = { Token = a, SignalRequest = o, SessionArn = arn_b, StreamSessionIdentifier = arn_b,
               Identifier = arn_b:match("streamsession/([^/]+)/"), Arn = arn_b } }
    assert.equal(200, st, cjson.encode(body))
    assert.equal(core.sha256_hex(o), answered_offer(body.SignalResponse))
    assert.equal(id(arn_a), answered_session(body.SignalResponse))
    assert.equal("PENDING_CLIENT_RECONNECTION", assert(emu.control:session(arn_b)).Status)
    -- B's owner cannot use A's token either (the default policy: the owner only)
    st = s.request{ method = "POST", path = "/v1/sessions/" .. a .. "/reconnect",
                    headers = { ["X-Gls-Client-Id"] = "tok-own-b" }, body = { SignalRequest = offer() } }
    assert.equal(403, st)
    -- leaving with A's token ends A, not B
    st = s.request{ method = "POST", path = "/api/DestroyStreamSession",
                    headers = { ["X-Gls-Client-Id"] = "tok-own-a" }, body = { Token = a, SessionArn = arn_b } }
    assert.equal(200, st)
    local ended = assert(emu.control:session(arn_a))
    assert.is_truthy(ended.Status == "TERMINATING" or ended.Status == "TERMINATED")
    assert.equal("PENDING_CLIENT_RECONNECTION", assert(emu.control:session(arn_b)).Status)
    -- and B's token still works for B
    o = offer()
    st, body = s.request{ method = "POST", path = "/v1/sessions/" .. b .. "/reconnect",
                          headers = { ["X-Gls-Client-Id"] = "tok-own-b" }, body = { SignalRequest = o } }
    assert.equal(200, st)
    assert.equal(id(arn_b), answered_session(body.SignalResponse))
  end)
end)
