-- The runtime (gameliftstreams.runtime, non-blocking, one thread) on `glsrun
-- emulator --clock virtual` through the emulator's faults: a throttled storm
-- (quota lowered, 429 faults), 500/503, dropped connections, late replies,
-- truncated and malformed bodies, a body past the size bound, and policy hooks
-- that loop, raise or hog memory during a storm. For each: what every
-- requester gets, exactly one callback per request, each answer naming its own
-- requester's offer, the runtime still serving afterwards, and a bounded heap.
local cjson = require "cjson"
local support = require "spec.support.runtime"
local faults = require "spec.support.faults"

local CSSC = faults.CSSC

describe("runtime under faults #faults", function()
  local env
  before_each(function() env = support.start() end)
  after_each(function() env.stop() end)

  -- Reconnects every session of list at once with a fresh offer each; returns
  -- the boxes (each { res, err, n }) once every callback ran.
  local function storm(list, o)
    local boxes = {}
    for i, s in ipairs(list) do
      s.offer2 = env.offer("re" .. i)
      boxes[i] = env.call(env.rt, "reconnect", s.token, s.offer2, s.client)
    end
    env.wait_all(boxes, o)
    for i, b in ipairs(boxes) do
      assert.equal(1, b.n, "exactly one callback per request")
      if b.res then
        assert.is_true(env.names(b.res.SignalResponse, list[i].offer2), "an answer to another client's offer")
        assert.not_equal(list[i].token, b.res.token)
        list[i].token = b.res.token
      end
    end
    return boxes
  end

  local function all_answered(boxes)
    for _, b in ipairs(boxes) do assert.is_nil(b.err, b.err and tostring(b.err)) end
  end

  -- The runtime still serves: that session drops again and reconnects.
  local function still_serves(s) faults.rejoin(env, s) end

  -- The emulator's CSSC log entries of this storm, by ClientToken: every token
  -- ends with one 200, after only the given statuses.
  local function retried_with_one_token(n, statuses)
    local tokens = faults.by_token(env.requests(CSSC))
    local count, before = 0, 0
    for _, entries in pairs(tokens) do
      count = count + 1
      assert.equal(200, entries[#entries].status)
      for i = 1, #entries - 1 do
        local st = entries[i].status
        if st == cjson.null then st = "none" end      -- a dropped connection sent no status
        assert.is_true(statuses[st] ~= nil, tostring(st))
        before = before + 1
      end
    end
    assert.equal(n, count, "one ClientToken per reconnect")
    return before
  end

  it("saves a storm past a lowered quota: 429s retried with the same ClientToken, every player answered", function()
    env.runtime()
    local list = env.sessions(16)
    env.drop_all(list)
    assert(env.control:clear_requests())
    assert(env.control:quotas{ [CSSC] = 4 })   -- the runtime believes in 20/s
    local boxes = storm(list)
    all_answered(boxes)
    local throttled = retried_with_one_token(16, { [429] = true })
    assert.is_true(throttled > 0)
    local st = env.rt:stats()
    assert.equal(throttled, st.calls[CSSC].throttled)
    assert.equal(16, st.calls[CSSC].ok)
    assert.is_true(st.rates[CSSC] < 20, "the runtime lowered its rate")
    -- and with injected 429s on top of it
    env.drop_all(list)
    assert(env.control:clear_requests())
    assert(env.control:faults{ status = 429, count = 10, operation = CSSC })
    all_answered(storm(list))
    assert.is_true(retried_with_one_token(16, { [429] = true }) >= 10)
    assert(env.control:quotas{ [CSSC] = 0 })
    still_serves(list[1])
  end)

  for _, status in ipairs({ 500, 503 }) do
    it(("retries %d replies with the same ClientToken; past three attempts the requester gets the error")
      :format(status), function()
      env.runtime()
      local list = env.sessions(6)
      env.drop_all(list)
      assert(env.control:clear_requests())
      assert(env.control:faults{ status = status, count = 6, operation = CSSC })
      all_answered(storm(list))
      assert.equal(6, retried_with_one_token(6, { [status] = true }))
      -- three faults for one request: its three attempts fail, it gets the service's error
      env.drop_all({ list[1] })
      assert(env.control:faults{ status = status, count = 3, operation = CSSC })
      env.records = {}
      local b = storm({ list[1] })[1]
      assert.is_nil(b.res)
      assert.same({ status == 500 and "InternalServerException" or "ServiceUnavailableException", status },
        { b.err.code, b.err.status })
      local retries = env.events("retry", { session = list[1].arn, code = b.err.code })
      assert.same({ true, true, false }, { retries[1].retry, retries[2].retry, retries[3].retry })
      still_serves(list[2])
    end)
  end

  local TRANSPORT = {
    { name = "a dropped connection", fault = { drop = true }, logged = "none" },
    { name = "a truncated body", fault = { truncate = true }, logged = 200 },
    { name = "a malformed body", fault = { malformed = true }, logged = 200 },
    { name = "a reply later than read_timeout", fault = { latency_ms = 2500 }, logged = 200, read_timeout = 1 },
  }
  for _, case in ipairs(TRANSPORT) do
    it("retries after " .. case.name .. " with the same ClientToken; every player answered", function()
      -- the spec's client for the emulator, with the read timeout under test
      local c = env.e.client{ max_attempts = 1, read_timeout = case.read_timeout }
      env.runtime{ client = c }
      local list = env.sessions(4)
      env.drop_all(list)
      assert(env.control:clear_requests())
      local f = { count = 2, operation = CSSC }
      for k, v in pairs(case.fault) do f[k] = v end
      assert(env.control:faults(f))
      all_answered(storm(list))
      assert.equal(2, retried_with_one_token(4, { [case.logged] = true }))
      still_serves(list[1])
      env.rt:close()
      c:close()
    end)
  end

  it("starts one session, not two, when a start's reply comes later than the read timeout", function()
    local c = env.e.client{ max_attempts = 1, read_timeout = 1 }
    env.runtime{ client = c }
    local before = #assert(env.control:sessions())
    assert(env.control:clear_requests())
    assert(env.control:faults{ latency_ms = 2500, count = 1, operation = "StartStreamSession" })
    local list = env.sessions(2)            -- each gets its own answer (checked there)
    local starts = faults.by_token(env.requests("StartStreamSession"), "StartStreamSession")
    local n, twice = 0, 0
    for _, entries in pairs(starts) do
      n = n + 1
      if #entries == 2 then twice = twice + 1 end
    end
    assert.same({ 2, 1 }, { n, twice })      -- the late one was sent again with its ClientToken
    assert.equal(before + 2, #assert(env.control:sessions()), "a second session for a retried start")
    assert.equal(1, #env.events("retry", { operation = "StartStreamSession", code = "Timeout" }))
    env.drop_all(list)
    all_answered(storm(list))
    env.rt:close()
    c:close()
  end)

  it("gives ResponseTooLarge to the requester whose reply passed the bound, and only to it", function()
    env.runtime()
    local list = env.sessions(3)
    env.drop_all(list)
    assert(env.control:faults{ body_bytes = 16 * 1024 * 1024 + 1, count = 1, operation = CSSC })
    local boxes = storm(list)
    local failed = {}
    for i, b in ipairs(boxes) do
      if b.err then failed[#failed + 1] = i end
    end
    assert.equal(1, #failed)
    assert.same({ "ResponseTooLarge", 200 }, { boxes[failed[1]].err.code, boxes[failed[1]].err.status })
    -- the others got their own answers (checked by storm); that player tries again and is saved
    local s = list[failed[1]]
    local o = env.offer("again")
    local r = env.call(env.rt, "reconnect", s.token, o, s.client)
    env.run(function() return r.done end)
    assert.is_nil(r.err, r.err and tostring(r.err))
    assert.is_true(env.names(r.res.SignalResponse, o))
  end)

  local HOOKS = {
    { name = "loops forever", code = "PolicyInstructionBudget",
      source = "return { on_reconnect = function() while true do end end,"
        .. " priority = function() while true do end end }" },
    { name = "raises", code = "PolicyError",
      source = "return {\n on_reconnect = function(ctx)\n error('boom ' .. ctx.session.status)\n end,\n"
        .. " priority = function() error('no priority') end }" },
    { name = "allocates without bound", code = "PolicyMemoryBudget", instructions = 1e7,
      source = "return { on_reconnect = function() local t = {} for i = 1, 1e9 do t[i] = { i } end end,"
        .. " priority = function() local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(100) .. i end end }" },
  }
  for _, case in ipairs(HOOKS) do
    it("keeps serving a storm when the policy " .. case.name .. ": logged with a traceback, default applied", function()
      env.runtime{ policy_source = case.source, hook_instructions = case.instructions or 200000,
                   hook_memory_kb = 256 }
      local list = env.sessions(6)
      env.drop_all(list)
      local errors0 = #env.events("policy_error")
      all_answered(storm(list))
      local errs = {}
      for i = errors0 + 1, #env.events("policy_error") do errs[#errs + 1] = env.events("policy_error")[i] end
      assert.is_true(#errs >= 6, "each reconnect's hook failure is logged")
      for _, r in ipairs(errs) do
        assert.equal(case.code, r.code)
        assert.matches("stack traceback", r.traceback)
      end
      assert.equal(#env.events("policy_error"), env.rt:stats().policy_errors)
      -- the default still refuses a stranger
      env.drop(list[1].arn)
      local r = env.call(env.rt, "reconnect", list[1].token, env.offer("intruder"), { id = "stranger" })
      env.run(function() return r.done end)
      assert.same({ "Forbidden", 403 }, { r.err.code, r.err.status })
      -- repeated storms: the heap stays bounded (every hog's garbage is collectable)
      env.records = {}
      all_answered(storm({ list[1] }))
      local before = faults.lua_kb()
      for _ = 1, 3 do
        env.drop_all(list)
        all_answered(storm(list))
        env.records = {}
      end
      local grown = faults.lua_kb() - before
      assert.is_true(grown < 512, ("the heap grew by %.0f KB over 36 failing hooks"):format(grown))
    end)
  end

  it("keeps the heap bounded over 60 reconnects through rotating faults", function()
    env.runtime()
    local list = env.sessions(2)
    local kinds = { { status = 500 }, { status = 503 }, { status = 429 }, { drop = true }, { truncate = true },
                    { malformed = true } }
    local function rounds(n)
      for i = 1, n do
        env.drop_all(list)
        local f = kinds[i % #kinds + 1]
        f.count, f.operation = 1, CSSC
        assert(env.control:faults(f))
        all_answered(storm(list))
        env.records = {}
        assert(env.control:clear_requests())
      end
    end
    rounds(6)
    local before = faults.lua_kb()
    rounds(30)
    local grown = faults.lua_kb() - before
    assert.is_true(grown < 256, ("the heap grew by %.0f KB"):format(grown))
    assert.equal(0, env.rt:in_flight())
    local st = env.rt:stats()
    assert.equal(2, st.sessions)
  end)
end)
