-- Clock skew: `glsrun emulator` runs under libfaketime 20 minutes ahead of (or
-- behind) the clients, past the service's 5 minutes, so every first signature
-- is refused as expired ("Signature expired", with the service's Date). The
-- client corrects its clock from that Date and signs again; calls in flight at
-- the same time, signed with the old clock, are retried too; a caller that
-- retries itself (the runtime, glsrun serve) sees a retryable error and gets in.
local core = require "gameliftstreams.core"
local emulator = require "spec.support.emulator"
local faults = require "spec.support.faults"
local serve = require "spec.support.serve"
local support = require "spec.support.runtime"

local CSSC, SG = faults.CSSC, faults.SG
local LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

local function have_faketime()
  local f = io.open(LIB)
  if f then f:close() end
  return f ~= nil
end

-- The emulator's environment: its clock `offset` seconds off (monotonic
-- clocks untouched, so its timers and the server loop are unaffected).
local function skewed(offset)
  return { LD_PRELOAD = LIB, FAKETIME = ("%+d"):format(offset), FAKETIME_DONT_FAKE_MONOTONIC = "1" }
end

describe("clock skew #faults", function()
  local function need()
    if not have_faketime() then pending("needs libfaketime (apt-get install faketime): " .. LIB) end
    return have_faketime()
  end

  for _, offset in ipairs({ 1200, -1200 }) do
    it(("corrects a clock %d s off: blocking, non-blocking in flight together, the runtime"):format(offset),
    function()
      if not need() then return end
      local env = support.start{ env = skewed(offset) }
      local ok, why = pcall(function()
        local e = env.e
        -- the emulator's own clock is off (its virtual clock starts from it)
        assert.is_true(math.abs(env.now() - core.time() - offset) < 30)
        -- one attempt: the refusal, now marked retryable; the next call is fine
        local c1 = e.client{ max_attempts = 1 }
        local out, err = c1:get_stream_group{ Identifier = SG }
        assert.is_nil(out)
        assert.same({ "InvalidSignatureException", 403, true }, { err.code, err.status, err.retryable })
        assert.matches("^Signature", err.message)      -- "expired" or "not yet current"
        out = assert(c1:get_stream_group{ Identifier = SG })
        assert.equal(0, out.ResponseMetadata.RetryAttempts)

        -- non-blocking: five reconnects signed with the wrong clock, in flight at
        -- once; the first refusal corrects the clock, every one signs again
        local list = {}
        for i = 1, 5 do list[i] = { arn = faults.pending(e, c1), offer = faults.offer("k" .. i) } end
        local c3 = e.client{ max_attempts = 3 }
        assert(e.control:clear_requests())
        local boxes = {}
        for i, x in ipairs(list) do
          x.box = faults.box()
          boxes[i] = x.box
          c3:start(CSSC, { Identifier = SG, StreamSessionIdentifier = x.arn, SignalRequest = x.offer }, x.box.cb)
        end
        faults.drive(c3, boxes, 30)
        for _, x in ipairs(list) do
          assert.equal(1, x.box.n)
          assert.is_table(x.box.out, x.box.err and tostring(x.box.err))
          assert.is_true(faults.names(x.box.out.SignalResponse, x.offer))
          assert.equal(1, x.box.out.ResponseMetadata.RetryAttempts)
        end
        for _, entries in pairs(faults.by_token(assert(e.control:requests()))) do
          assert.same({ 403, 200 }, { entries[1].status, entries[2].status })
          assert.equal("InvalidSignatureException", entries[1].error)
        end
        c1:close()
        c3:close()

        -- the runtime (its client makes one attempt a call): starts refused as
        -- expired are retried, every player gets its session and answers
        env.runtime()
        local players = env.sessions(4)
        assert.is_true(#env.events("retry", { code = "InvalidSignatureException" }) >= 1)
        env.drop_all(players)
        local rboxes = {}
        for i, s in ipairs(players) do
          s.offer2 = env.offer("r" .. i)
          rboxes[i] = env.call(env.rt, "reconnect", s.token, s.offer2, s.client)
        end
        env.wait_all(rboxes)
        for i, b in ipairs(rboxes) do
          assert.is_nil(b.err, b.err and tostring(b.err))
          assert.is_true(env.names(b.res.SignalResponse, players[i].offer2))
        end
      end)
      env.stop()
      assert(ok, why)
    end)
  end

  -- 20 minutes ahead: refused, corrected, retried. 200 s behind: accepted as
  -- it is (under the 5 minutes a signature allows), but the service's
  -- LastUpdatedAt then lies 200 s in the runtime's past, and a deadline taken
  -- from it alone refused every reconnect after a sweep with 410.
  for _, offset in ipairs({ 1200, -200 }) do
  it(("glsrun serve gets every player in though the service's clock is %d s off"):format(offset), function()
    if not need() then return end
    local emu = emulator.start{ env = skewed(offset) }
    assert(emu.control:request("POST", "/delays", { activation = 0.05 }))
    local s = serve.start{ endpoint_url = emu.url }
    local ok, why = pcall(function()
      local list = faults.players(s, 3)
      faults.drop_all(emu.control, list)
      -- wait until the front's sweep has seen them drop (it learns their deadlines)
      local t0 = core.time()
      repeat
        local _, n = s.stderr():gsub('"new":"PENDING_CLIENT_RECONNECTION"', "")
        if n >= 3 then break end
        os.execute("sleep 0.1")
      until core.time() - t0 > 10
      for _, r in ipairs(faults.reconnects(s, list)) do assert.equal(200, r.status, faults.why(r)) end
      local _, known = s.stderr():gsub('"deadline_known":true', "")
      assert.equal(3, known, "the reconnects went with learnt deadlines")
      if offset > 300 then
        assert.matches('"code":"InvalidSignatureException"', s.stderr(), 1, true)   -- the retried refusal
      end
    end)
    local code, _, err = s.stop()
    emu.stop()
    assert(ok, why)
    assert.equal(0, code, err)
  end)
  end
end)
