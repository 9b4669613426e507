-- bench/storm with a tiny storm (N=60): the closing line's format and the
-- invariants every run must keep, for gls and for the plain backend.
local helper = require "spec.helper"

local has_runtime = pcall(require, "gameliftstreams.runtime")

local KEYS = { "saved", "optimum", "saved_high", "high", "calls", "throttled", "misrouted", "p99_ms",
               "bytes_per_session" }

-- Runs bench/storm with env (a table); -> output, ok.
local function storm(env)
  local vars = {}
  for k, v in pairs(env) do vars[#vars + 1] = ("%s=%s"):format(k, helper.quote(v)) end
  table.sort(vars)
  local p = assert(io.popen(("env %s bench/storm 2>&1"):format(table.concat(vars, " "))))
  local out = p:read("a")
  local ok = p:close()
  return out, ok
end

-- key=value pairs of one line -> table of numbers (raises on a non-number).
local function figures(line)
  local t = {}
  for k, v in line:gmatch("(%S+)=(%S+)") do
    t[k] = assert(tonumber(v), ("%s=%s is not a number"):format(k, v))
  end
  return t
end

describe("bench/storm #emulator", function()
  if not has_runtime then
    it("needs the runtime", function()
      pending("gameliftstreams.runtime is not in this tree yet: bench/storm runs only its plain backend")
    end)
    return
  end

  local out, ok, last
  setup(function()
    out, ok = storm{ N = "60", SEED = "3" }
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    last = lines[#lines]
  end)

  it("runs to the end and closes with one key=value line for the storm", function()
    assert.is_true(ok, out)
    local expect = { "n=%d+" }
    for _, k in ipairs(KEYS) do expect[#expect + 1] = k .. "=%d+" end
    for _, k in ipairs(KEYS) do expect[#expect + 1] = "plain_" .. k .. "=%d+" end
    assert.matches("^" .. table.concat(expect, " ") .. "$", last)
    -- The human-readable report names both backends and the optimum.
    assert.matches("n=60: optimum %(offline EDF", out)
    assert.matches("\n  gls   saved %d+", out)
    assert.matches("\n  plain saved %d+", out)
  end)

  it("keeps the invariants: no misrouted answer, nobody saved beyond the optimum", function()
    local f = figures(last)
    assert.equal(60, f.n)
    assert.equal(15, f.high)                     -- a quarter
    assert.equal(f.optimum, f.plain_optimum)     -- the same storm for both
    assert.equal(0, f.misrouted)
    assert.equal(0, f.plain_misrouted)
    assert.is_true(f.saved <= f.optimum, last)
    assert.is_true(f.plain_saved <= f.optimum, last)
    assert.is_true(f.saved_high <= f.high and f.plain_saved_high <= f.high, last)
    -- Every saved player took at least one successful call.
    assert.is_true(f.calls - f.throttled >= f.saved, last)
    assert.is_true(f.plain_calls - f.plain_throttled >= f.plain_saved, last)
  end)

  it("saves everyone through gls when the budget is ample", function()
    -- 60 players over 30 s is 2 a second against 20 calls a second: the
    -- optimum is everyone, and gls must not lose anyone or waste calls.
    local f = figures(last)
    assert.equal(60, f.optimum)
    assert.equal(60, f.saved)
    assert.equal(f.high, f.saved_high)
    assert.equal(0, f.throttled)
    assert.is_true(f.calls <= 1.05 * f.saved, last)
  end)
end)

describe("bench/storm's counting client #emulator", function()
  local emulator = require "spec.support.emulator"
  local e
  setup(function() e = emulator.start{ clock = "virtual" } end)
  teardown(function() if e then e.stop() end end)

  it("sends calls one at a time in the order made, and replies in that order once all are back", function()
    package.path = "bench/?.lua;" .. package.path
    local backends = require "storm_backends"
    local c = backends.counting(e.client{ max_attempts = 1 })
    local SG, APP = "sg-1AB2C3De4", "a-9ZY8X7Wv6"
    local calls = {
      { "ListStreamGroups", {} }, { "GetApplication", { Identifier = APP } },
      { "ListStreamSessions", { Identifier = SG } }, { "GetStreamGroup", { Identifier = SG } },
      { "ListApplications", {} },
    }
    local before = #assert(e.control:requests())
    local made, got = {}, {}
    for round = 1, 4 do
      for i, call in ipairs(calls) do
        local n = #made + 1
        made[n] = call[1]
        c:start(call[1], call[2], function(out, err)
          assert.is_nil(err)
          assert.is_table(out)
          got[#got + 1] = n
        end)
        assert.equal(n, c:in_flight())
        assert.equal(0, c:timeout())                -- something to do at once
        assert.equal(round * #calls - #calls + i, #made)
      end
    end
    assert.same({}, got)                            -- nothing before a step
    assert.equal(#made, c:step(0))
    local want = {}
    for i = 1, #made do want[i] = i end
    assert.same(want, got)
    assert.equal(0, c:in_flight())
    -- The emulator saw them in the order they were made.
    local log = assert(e.control:requests())
    local seen = {}
    for i = before + 1, #log do seen[#seen + 1] = log[i].operation end
    assert.same(made, seen)
    assert.equal(4, c.op("GetApplication").calls)
    assert.equal(0, c.op("GetApplication").failed)
    c:close()
  end)
end)
