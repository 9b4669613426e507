-- `glsrun serve` (a process) in front of `glsrun emulator` (real clock) through
-- the emulator's faults, game clients reconnecting all at once over HTTP:
-- 429/500/503, a lowered quota, dropped connections, truncated and malformed
-- bodies, replies later than the read timeout, a body past the size bound, and
-- policies whose hooks loop, raise or hog memory. For each: every player's
-- HTTP status, each answer naming that player's own offer, one reply per
-- request, the front still serving afterwards, its memory bounded.
local core = require "gameliftstreams.core"
local emulator = require "spec.support.emulator"
local serve = require "spec.support.serve"
local faults = require "spec.support.faults"
local helper = require "spec.helper"

local CSSC = faults.CSSC

describe("glsrun serve under faults #faults", function()
  local emu
  setup(function()
    emu = emulator.start{}
    assert(emu.control:request("POST", "/delays", { activation = 0.05, reconnect = 0.05 }))
  end)
  teardown(function() if emu then emu.stop() end end)
  before_each(function()
    assert(emu.control:clear_faults())
    assert(emu.control:quotas{ [CSSC] = 20 })
  end)

  local players = faults.players
  local function drop_all(list) faults.drop_all(emu.control, list) end
  local storm = faults.reconnects

  local function all_ok(replies)
    for _, r in ipairs(replies) do
      assert.equal(200, r.status, type(r.body) == "table" and tostring(r.body.code) .. " " .. tostring(r.body.message))
    end
  end

  -- The front still serves: healthz, and player p drops and gets back in.
  local function still_serves(s, p)
    local st = s.request{ path = "/healthz" }
    assert.equal(200, st)
    drop_all({ p })
    all_ok(storm(s, { p }))
  end

  it("answers every player of a storm through 429/500/503, drops, truncated and malformed bodies", function()
    local s = serve.start{ endpoint_url = emu.url }
    local ok, why = pcall(function()
      local list = players(s, 6)
      drop_all(list)
      assert(emu.control:clear_requests())
      for _, f in ipairs({ { status = 503 }, { status = 500 }, { status = 429 }, { drop = true },
                           { truncate = true }, { malformed = true } }) do
        f.operation = CSSC
        assert(emu.control:faults(f))
      end
      all_ok(storm(s, list))
      -- one ClientToken per player, every attempt of it; each ends with a 200
      local tokens = faults.by_token(assert(emu.control:requests()))
      local n, attempts = 0, 0
      for _, entries in pairs(tokens) do
        n = n + 1
        attempts = attempts + #entries
        assert.equal(200, entries[#entries].status)
      end
      assert.equal(6, n)
      assert.is_true(attempts >= 6 + 5, "the faulted attempts were retried")   -- (a dropped kept-alive
      -- connection may be resent by libcurl itself)

      -- a quota lowered under the runtime's feet: 429s, retried until every player is in
      drop_all(list)
      assert(emu.control:quotas{ [CSSC] = 2 })
      all_ok(storm(s, list))
      still_serves(s, list[1])
    end)
    local code, _, err = s.stop()
    assert(ok, why)
    assert.equal(0, code, err)
  end)

  it("retries a reply later than the read timeout, and gives 502 ResponseTooLarge to the player it was for", function()
    local dir = os.tmpname()
    helper.write_file(dir, "[default]\ncli_read_timeout = 1\n")
    local s = serve.start{ endpoint_url = emu.url, env = { AWS_CONFIG_FILE = dir } }
    local ok, why = pcall(function()
      local list = players(s, 3)
      drop_all(list)
      assert(emu.control:clear_requests())
      assert(emu.control:faults{ latency_ms = 2500, count = 1, operation = CSSC })
      local t0 = core.time()
      all_ok(storm(s, list))
      assert.is_true(core.time() - t0 < 2.4, "the front waited for the late reply")
      local tokens = faults.by_token(assert(emu.control:requests()))
      local replayed = 0
      for _, entries in pairs(tokens) do
        if #entries == 2 then replayed = replayed + 1 end
      end
      assert.equal(1, replayed, "the late one was sent again with its ClientToken")

      drop_all(list)
      assert(emu.control:faults{ body_bytes = 16 * 1024 * 1024 + 1, count = 1, operation = CSSC })
      local replies = storm(s, list)
      local big = {}
      for i, r in ipairs(replies) do
        if r.status ~= 200 then
          assert.same({ 502, "ResponseTooLarge" }, { r.status, r.body.code })
          big[#big + 1] = list[i]
        end
      end
      assert.equal(1, #big)
      all_ok(storm(s, big))          -- that player asks again, with the same token
      still_serves(s, list[1])
    end)
    local code, _, err = s.stop()
    os.remove(dir)
    assert(ok, why)
    assert.equal(0, code, err)
  end)

  -- One policy whose hooks fail in turn: the first call loops forever, the
  -- second raises, the third allocates without bound, and so on.
  local POLICY = [[
local n = 0
local function misbehave()
  n = n + 1
  local k = n % 3
  if k == 1 then while true do end end
  if k == 2 then error("policy bug " .. n) end
  local t = {}
  for i = 1, 1e9 do t[i] = ("x"):rep(1000) .. i end
end
return { on_start = misbehave, on_reconnect = misbehave, priority = misbehave }
]]

  it("serves every player while policy hooks loop, raise and hog memory (logged with a traceback, default applied)",
  function()
    local path = os.tmpname() .. ".lua"
    helper.write_file(path, POLICY)
    local s = serve.start{ policy = path, endpoint_url = emu.url }
    local ok, why = pcall(function()
      local list = players(s, 4)
      drop_all(list)
      all_ok(storm(s, list))
      -- a stranger with a player's token is still refused by the default
      drop_all({ list[1] })
      local st, body = s.request{ method = "POST", path = "/v1/sessions/" .. list[1].token .. "/reconnect",
        headers = { ["X-Gls-Client-Id"] = "stranger" }, body = { SignalRequest = faults.offer() } }
      assert.same({ 403, "Forbidden" }, { st, body.code })
      all_ok(storm(s, { list[1] }))            -- and the player it refused still gets in
      local _, metrics = s.request{ path = "/metrics" }
      local errs, seen = 0, {}
      for line in s.stderr():gmatch("[^\n]+") do
        if line:find('"event":"policy_error"', 1, true) then
          errs = errs + 1
          local hook, code = line:match('"hook":"([%w_]+)"'), line:match('"code":"(%w+)"')
          seen[hook .. " " .. code] = true
          assert.matches("stack traceback", line, 1, true)
        end
      end
      -- start, priority and reconnect hooks of every player failed
      assert.is_true(errs >= 4 * 3, "policy errors logged: " .. errs)
      for _, code in ipairs({ "PolicyInstructionBudget", "PolicyError", "PolicyMemoryBudget" }) do
        assert.is_true(seen["on_reconnect " .. code], code)
      end
      assert.matches("gls_policy_errors_total " .. errs .. "\n", metrics, 1, true)
      still_serves(s, list[2])
    end)
    local code, _, err = s.stop()
    os.remove(path)
    assert(ok, why)
    assert.equal(0, code, err)
  end)

  it("keeps its memory bounded over 25 reconnects through rotating faults", function()
    local s = serve.start{ endpoint_url = emu.url }
    local ok, why = pcall(function()
      local p = players(s, 1)
      local kinds = { { status = 500 }, { status = 503 }, { status = 429 }, { drop = true }, { truncate = true },
                      { malformed = true } }
      local function rounds(n)
        for i = 1, n do
          drop_all(p)
          local f = kinds[i % #kinds + 1]
          f.count, f.operation = 1, CSSC
          assert(emu.control:faults(f))
          all_ok(storm(s, p))
        end
      end
      rounds(5)
      local before = faults.rss_kb(s.pid)
      rounds(20)
      local grown = faults.rss_kb(s.pid) - before
      -- Under AddressSanitizer freed memory waits in its quarantine: a wider bound there.
      local bound = faults.sanitized() and 16384 or 2048
      assert.is_true(grown < bound, ("glsrun serve grew by %d KB"):format(grown))
      still_serves(s, p[1])
    end)
    local code, _, err = s.stop()
    assert(ok, why)
    assert.equal(0, code, err)
  end)
end)
