-- The client (blocking calls and non-blocking start/step) against `glsrun
-- emulator --clock virtual` and its fault controls: 429/500/503 replies and a
-- lowered quota, dropped connections, replies later than read_timeout,
-- truncated and malformed bodies, a body past the 16 MiB bound. For each: the
-- exact error the caller sees (or the answer after a retry, with the same
-- ClientToken in the emulator's request log), exactly one callback per request,
-- each answer naming its own caller's offer, the client still working after,
-- and the Lua heap bounded over a loop of faults.
local emulator = require "spec.support.emulator"
local faults = require "spec.support.faults"

local CSSC, SG = faults.CSSC, faults.SG

describe("client under faults #faults", function()
  local e
  setup(function()
    e = emulator.start{ clock = "virtual" }
    assert(e.control:quotas{ ["*"] = 0 })       -- unlimited, unless a spec lowers it
  end)
  teardown(function() if e then e.stop() end end)
  before_each(function()
    assert(e.control:clear_faults())
    assert(e.control:clear_requests())
  end)

  local function reconnect_input(arn, offer)
    return { Identifier = SG, StreamSessionIdentifier = arn, SignalRequest = offer }
  end

  -- n reconnects started at once on client c, each on its own dropped session:
  -- returns the list of { arn, offer, box } (not yet driven).
  local function batch(c, n, setup_client)
    local list = {}
    for i = 1, n do list[i] = { arn = faults.pending(e, setup_client or c), offer = faults.offer("b" .. i) } end
    return list
  end

  local function fire(c, list)
    for _, x in ipairs(list) do
      x.box = faults.box()
      c:start(CSSC, reconnect_input(x.arn, x.offer), x.box.cb)
    end
    local boxes = {}
    for i, x in ipairs(list) do boxes[i] = x.box end
    faults.drive(c, boxes, 30)
    for _, x in ipairs(list) do assert.equal(1, x.box.n, "exactly one callback per request") end
  end

  -- Every answer names the offer of the request that got it (and no other's).
  local function answers_match(list)
    local ok = 0
    for _, x in ipairs(list) do
      if x.box.out then
        assert.is_true(faults.names(x.box.out.SignalResponse, x.offer), "an answer to another client's offer")
        ok = ok + 1
      end
    end
    return ok
  end

  local function still_works(c)
    local g, err = c:get_stream_group{ Identifier = SG }
    assert.is_table(g, err and tostring(err))
    assert.equal("ACTIVE", g.Status)
    assert.equal(0, c:in_flight())
  end

  local RETRIED = {
    { status = 429, code = "ThrottlingException" },
    { status = 500, code = "InternalServerException" },
    { status = 503, code = "ServiceUnavailableException" },
  }
  for _, case in ipairs(RETRIED) do
    it(("retries %d replies with the same ClientToken, blocking and non-blocking; past max_attempts: %s")
      :format(case.status, case.code), function()
      local c = e.client{ max_attempts = 3, retry_base_delay = 0.01 }
      -- blocking: two faults, the third attempt answers
      local arn, offer = faults.pending(e, c), faults.offer()
      assert(e.control:clear_requests())
      assert(e.control:faults{ status = case.status, count = 2, operation = CSSC })
      local out, err = c:create_stream_session_connection(reconnect_input(arn, offer))
      assert.is_table(out, err and tostring(err))
      assert.is_true(faults.names(out.SignalResponse, offer))
      assert.equal(2, out.ResponseMetadata.RetryAttempts)
      local tokens = faults.by_token(assert(e.control:requests()))
      local token, entries = next(tokens)
      assert.is_nil(next(tokens, token), "one ClientToken for every attempt")
      assert.same({ case.status, case.status, 200 }, { entries[1].status, entries[2].status, entries[3].status })

      -- non-blocking: five at once, the first five sends faulted; all answered
      local list = batch(c, 5)
      assert(e.control:clear_requests())
      assert(e.control:faults{ status = case.status, count = 5, operation = CSSC })
      fire(c, list)
      assert.equal(5, answers_match(list))
      tokens = faults.by_token(assert(e.control:requests()))
      local n, faulted = 0, 0
      for _, list_t in pairs(tokens) do
        n = n + 1
        assert.equal(200, list_t[#list_t].status)
        for i = 1, #list_t - 1 do
          assert.equal(case.status, list_t[i].status)
          faulted = faulted + 1
        end
      end
      assert.equal(5, n)
      assert.equal(5, faulted)

      -- more faults than attempts: the caller sees the service's error, exactly
      arn, offer = faults.pending(e, c), faults.offer()
      assert(e.control:faults{ status = case.status, count = 3, operation = CSSC })
      out, err = c:create_stream_session_connection(reconnect_input(arn, offer))
      assert.is_nil(out)
      assert.same({ case.code, case.status, true, 3 }, { err.code, err.status, err.retryable, err.attempts })
      -- the same offer goes through now: the faulted attempts did not use it up
      out = assert(c:create_stream_session_connection(reconnect_input(arn, offer)))
      assert.is_true(faults.names(out.SignalResponse, offer))
      still_works(c)
      c:close()
    end)
  end

  it("throttles a burst past a lowered quota with 429 to each caller over it, and serves them once it refills",
  function()
    local c = e.client{ max_attempts = 1 }
    local list = batch(c, 8)
    assert(e.control:quotas{ [CSSC] = 3 })      -- 3 calls/s, a burst of 3; the clock stands still
    local ok, why = pcall(function()
      fire(c, list)
      assert.equal(3, answers_match(list))
      local throttled = {}
      for _, x in ipairs(list) do
        if x.box.err then
          assert.same({ "ThrottlingException", 429, true }, { x.box.err.code, x.box.err.status, x.box.err.retryable })
          throttled[#throttled + 1] = x
        end
      end
      assert.equal(5, #throttled)
      -- each second of the (virtual) clock refills the bucket: 3 more go through
      assert(e.control:advance(1))
      fire(c, throttled)
      assert.equal(3, answers_match(throttled))
      local left = {}
      for _, x in ipairs(throttled) do
        if x.box.err then
          assert.equal("ThrottlingException", x.box.err.code)
          left[#left + 1] = x
        end
      end
      assert.equal(2, #left)
      assert(e.control:advance(1))
      fire(c, left)
      assert.equal(2, answers_match(left))
    end)
    assert(e.control:quotas{ [CSSC] = 0 })
    assert(ok, why)
    still_works(c)
    c:close()
  end)

  -- Transport faults: the exact error with one attempt; with three, the retry
  -- (same ClientToken) answers, except past the size bound, which is final.
  local TRANSPORT = {
    { name = "a dropped connection", fault = { drop = true }, code = "ConnectionError" },
    { name = "a truncated body", fault = { truncate = true }, code = "ConnectionError", status = 200 },
    { name = "a malformed body", fault = { malformed = true }, code = "BadResponse", status = 200 },
    { name = "a reply later than read_timeout", fault = { latency_ms = 2500 }, code = "Timeout",
      message = "Read timeout" },
    { name = "a body over the 16 MiB bound", fault = { body_bytes = 16 * 1024 * 1024 + 1 },
      code = "ResponseTooLarge", status = 200, final = true },
  }
  for _, case in ipairs(TRANSPORT) do
    it("reports " .. case.name .. " as " .. case.code .. ", and recovers", function()
      local setup_c = e.client{ max_attempts = 1 }
      -- blocking, one attempt, on a fresh connection: a dropped kept-alive
      -- connection would be resent by libcurl itself
      local c = e.client{ max_attempts = 1, read_timeout = 1 }
      local arn, offer = faults.pending(e, setup_c), faults.offer()
      local f = { count = 1, operation = CSSC }
      for k, v in pairs(case.fault) do f[k] = v end
      assert(e.control:faults(f))
      local out, err = c:create_stream_session_connection(reconnect_input(arn, offer))
      assert.is_nil(out)
      assert.equal(case.code, err.code)
      assert.equal(case.status, err.status)
      assert.equal(not case.final, err.retryable)
      if case.message then assert.matches(case.message, err.message, 1, true) end
      still_works(c)
      c:close()

      -- non-blocking, three at once on fresh connections, one faulted: it
      -- alone gets the error; the others their own answers
      c = e.client{ max_attempts = 1, read_timeout = 1 }
      local list = batch(c, 3, setup_c)
      assert(e.control:faults(f))
      fire(c, list)
      assert.equal(2, answers_match(list))
      local failed = 0
      for _, x in ipairs(list) do
        if x.box.err then
          failed = failed + 1
          assert.equal(case.code, x.box.err.code)
        end
      end
      assert.equal(1, failed)
      still_works(c)
      c:close()

      -- with retries: answered after the fault (same ClientToken), or final
      c = e.client{ max_attempts = 3, retry_base_delay = 0.01, read_timeout = 1 }
      list = batch(c, 3, setup_c)
      assert(e.control:clear_requests())
      assert(e.control:faults(f))
      fire(c, list)
      local answered = answers_match(list)
      assert.equal(case.final and 2 or 3, answered)
      local tokens = faults.by_token(assert(e.control:requests()))
      local retried = 0
      for _, entries in pairs(tokens) do
        if #entries > 1 then
          retried = retried + 1
          assert.equal(2, #entries)
          assert.equal(200, entries[2].status)
        end
      end
      -- a latency fault is served late (the second entry is the replay of the
      -- first's answer); the others are refused before the service acts
      assert.equal(case.final and 0 or 1, retried)
      still_works(c)
      c:close()
      setup_c:close()
    end)
  end

  it("keeps the Lua heap bounded over 200 faulted calls and frees every request", function()
    local c = e.client{ max_attempts = 1, read_timeout = 5 }
    local kinds = { { status = 500 }, { status = 503 }, { status = 429 }, { drop = true }, { truncate = true },
                    { malformed = true } }
    local function round(n)
      for i = 1, n do
        assert(e.control:faults(kinds[i % #kinds + 1]))
        local b = faults.box()
        c:start("GetStreamGroup", { Identifier = SG }, b.cb)
        faults.drive(c, { b }, 10)
        -- (libcurl sends again, once, on a reused connection dropped without a reply)
        assert.is_true(b.out == nil or kinds[i % #kinds + 1].drop)
        assert.equal(1, b.n)
      end
    end
    round(40)                                   -- warm up (connection pool, caches)
    local before = faults.lua_kb()
    round(200)
    local after = faults.lua_kb()
    assert.is_true(after - before < 256, ("the Lua heap grew by %.0f KB"):format(after - before))
    still_works(c)
    c:close()
  end)
end)
