-- The scheduler: the account's budget spent on the most urgent work first.
-- First the queue and buckets alone, then the runtime against the emulator's
-- quotas (virtual clock: calls per second counted in its request log).
local scheduler = require "gameliftstreams.scheduler"
local store = require "gameliftstreams.store"
local support = require "spec.support.runtime"

local CSSC = "CreateStreamSessionConnection"

local function drain(s, now)
  local out, refused = {}, {}
  local wait = s:pump(now, function(it) out[#out + 1] = it.name end, function(it) refused[#refused + 1] = it.name end)
  return out, refused, wait
end

describe("store.memory's bucket", function()
  it("gives a call the moment it is whole, not a step later", function()
    local b = store.memory()
    for _ = 1, 20 do assert.is_true(b:take(CSSC, 1000, 20, 20)) end
    -- 50 ms and a few millionths of a call later (clocks at epoch magnitude
    -- round by that much): the call is there.
    local wait = b:take(CSSC, 1000.0499999, 20, 20)
    assert.is_true(wait > 0 and wait < 1e-5, tostring(wait))
    assert.is_true(b:take(CSSC, 1000.0500002, 20, 20))
  end)

  it("gives a spare call only from a full bucket that spilled a whole call since work without spare drew on it",
  function()
    local b = store.memory()
    -- A new bucket is full and long so: a spare call now, and another once full again.
    assert.is_true(b:take(CSSC, 1000, 10, 10, true))
    local wait = b:take(CSSC, 1000, 10, 10, true)
    assert.is_true(math.abs(wait - 0.099) < 1e-9, tostring(wait))         -- until full (to 1/100 of a call)
    assert.is_true(b:take(CSSC, 1000.1, 10, 10, true))
    -- Work without spare draws on it: full again after 0.1 s, a spare call
    -- waits 0.1 s more, until a whole call has spilled.
    assert.is_true(b:take(CSSC, 1000.2, 10, 10))
    wait = b:take(CSSC, 1000.3, 10, 10, true)
    assert.is_true(math.abs(wait - 0.1) < 1e-6, tostring(wait))
    wait = b:take(CSSC, 1000.35, 10, 10, true)
    assert.is_true(math.abs(wait - 0.05) < 1e-6, tostring(wait))
    assert.is_true(b:take(CSSC, 1000.4, 10, 10, true))
    -- Down to its last call, a spare call goes at once.
    for _ = 1, 8 do assert.is_true(b:take(CSSC, 1000.4, 10, 10)) end
    assert.is_true(b:take(CSSC, 1000.4, 10, 10, true))
  end)
end)

describe("scheduler", function()
  it("orders by earliest deadline, then higher priority, then arrival", function()
    -- hold = 0: once no protected work is queued, the burst is everyone's
    local s = scheduler.new{ store = store.memory(), rates = { [CSSC] = 100 }, hold = 0 }
    local now = 1000
    s:push({ op = CSSC, name = "late", deadline = now + 90, known = true }, now)
    s:push({ op = CSSC, name = "none" }, now)
    s:push({ op = CSSC, name = "soon-low", deadline = now + 30, known = true, priority = 0 }, now)
    s:push({ op = CSSC, name = "soon-high", deadline = now + 30, known = true, priority = 5 }, now)
    s:push({ op = CSSC, name = "soon-low-2", deadline = now + 30, known = true, priority = 0 }, now)
    s:push({ op = CSSC, name = "first", deadline = now + 10, known = false, priority = -3 }, now)
    local moved = s:push({ op = CSSC, name = "moved", deadline = now + 200, known = true }, now)
    s:update(moved, now + 20)
    local gone = s:push({ op = CSSC, name = "gone", deadline = now + 1, known = true }, now)
    assert.is_true(s:remove(gone))
    assert.is_false(s:remove(gone))
    assert.equal(7, s:size())
    local names = {}
    for i, it in ipairs(s:items(CSSC)) do names[i] = it.name end
    assert.same({ "first", "moved", "soon-high", "soon-low", "soon-low-2", "late", "none" }, names)
    -- With equal priorities that is also the order of service.
    for _, it in ipairs(s:items(CSSC)) do s:update(it, nil, nil, 0) end
    local out = drain(s, now)
    assert.same({ "first", "moved", "soon-low", "soon-high", "soon-low-2", "late", "none" }, out)
    assert.equal(0, s:size())
  end)

  it("keeps each operation to its rate and burst, and never lets one operation's queue block another", function()
    local s = scheduler.new{ store = store.memory(), rates = { [CSSC] = 5 }, bursts = { [CSSC] = 2 } }
    local now = 1000
    for i = 1, 10 do s:push({ op = CSSC, name = "c" .. i }, now) end
    s:push({ op = "GetStreamSession", name = "g" }, now)
    local out, _, wait = drain(s, now)
    table.sort(out)
    assert.same({ "c1", "c2", "g" }, out)                -- burst 2, and the other queue went on
    assert.is_true(math.abs(wait - 0.2) < 1e-3)          -- the next token in 1/5 s
    local total, at = 2, nil
    for step = 1, 20 do                                  -- 2 s in 0.1 s steps
      local n = #drain(s, now + step * 0.1)
      assert.is_true(n <= 1)                             -- half a token a step
      total = total + n
      if total == 10 and not at then at = step end
    end
    assert.equal(10, total)
    assert.equal(0, s:size())
    assert.equal(17, at)                                 -- 8 more at 5/s: 1.6 s, and a hair
  end)

  it("refuses, without spending budget, known deadlines that close before now + latency", function()
    local st = store.memory()
    local s = scheduler.new{ store = st, rates = { [CSSC] = 1 }, latency = 0.5 }
    local now = 1000
    s:push({ op = CSSC, name = "a", deadline = now + 0.4, known = true }, now)
    s:push({ op = CSSC, name = "b", deadline = now + 0.4, known = false }, now)   -- a guess: never refused
    s:push({ op = CSSC, name = "c", deadline = now + 0.7, known = true }, now)
    s:push({ op = CSSC, name = "d", deadline = now + 5, known = true }, now)
    local out, refused = drain(s, now)
    assert.same({ "b" }, out)                            -- the one token went to b
    -- a's window is already too close; c's would close before the next token (1 s).
    assert.same({ "a", "c" }, refused)
    out, refused = drain(s, now + 1.01)
    assert.same({}, refused)
    assert.same({ "d" }, out)
  end)

  it("serves more valuable work out of deadline order only while every window ahead still holds", function()
    local s = scheduler.new{ store = store.memory(), rates = { [CSSC] = 1 }, latency = 0.5 }
    local now = 1000
    local function push(name, deadline, priority)
      s:push({ op = CSSC, name = name, deadline = now + deadline, priority = priority, known = true }, now)
    end
    push("low-3s", 3, 0)
    push("low-100s", 100, 0)
    push("vip-300s", 300, 9)
    push("mid-200s", 200, 4)
    local order = {}
    for t = 0, 3 do for _, n in ipairs((drain(s, now + t * 1.001))) do order[#order + 1] = n end end
    -- low-3s lets the more valuable go first while its window can spare a call
    -- (3 - 1 >= 0.5 at t, 3 - 1.001 - 1 >= 0.5 at t+1), then deadline order.
    assert.same({ "vip-300s", "mid-200s", "low-3s", "low-100s" }, order)
    -- A window that cannot spare a call keeps the front.
    s = scheduler.new{ store = store.memory(), rates = { [CSSC] = 1 }, latency = 0.5 }
    push("low-1.2s", 1.2, 0)
    push("vip", 300, 9)
    assert.same({ "low-1.2s" }, (drain(s, now)))          -- 1.2 - 1 < 0.5
    assert.same({ "vip" }, (drain(s, now + 1.001)))
  end)

  it("refuses the least valuable work when the queue cannot meet every deadline", function()
    -- 1 call/s: the k-th item gets its call k-1 seconds from now.
    local s = scheduler.new{ store = store.memory(), rates = { [CSSC] = 1 }, latency = 0 }
    local now = 1000
    local function push(name, deadline, priority, known)
      s:push({ op = CSSC, name = name, deadline = now + deadline, priority = priority, known = known ~= false }, now)
    end
    -- Room for three calls by t+2.5, six ask; one deadline is only a guess, never
    -- refused on. The three of lowest priority go, at once, whatever their
    -- deadlines or arrival: each time the first that would miss is found, the
    -- least valuable up to it makes room.
    push("low-early", 0.5, 0)
    push("high-1", 2.5, 5)
    push("mid", 1.5, 1)
    push("low-late", 2.4, 0)
    push("high-2", 2.5, 5)
    push("guess", 0.2, -9, false)
    local out, refused = drain(s, now)
    assert.same({ "low-early", "low-late", "mid" }, refused)
    assert.same({ "high-1" }, out)             -- ahead of the guess: no known window suffers
    local rest = {}
    for t = 1, 3 do for _, n in ipairs((drain(s, now + t * 1.001))) do rest[#rest + 1] = n end end
    assert.same({ "high-2", "guess" }, rest)
  end)

  it("refuses the most urgent of equally valuable items, keeping those that can use room opening later", function()
    -- 1 call/s, no margin: calls now, at +1 and at +2; c's window closes at
    -- +1.8, so one of the three goes. Each of them would make room; the one
    -- about to close is refused, and b and c keep their calls.
    local s = scheduler.new{ store = store.memory(), rates = { [CSSC] = 1 }, latency = 0 }
    local now = 1000
    for _, x in ipairs({ { "a", 0.5 }, { "b", 1.5 }, { "c", 1.8 } }) do
      s:push({ op = CSSC, name = x[1], deadline = now + x[2], priority = 1, known = true }, now)
    end
    local out, refused = drain(s, now)
    assert.same({ "a" }, refused)
    assert.same({ "b" }, out)
    assert.same({ "c" }, (drain(s, now + 1.01)))
  end)

  it("moves a less valuable guessed deadline back to its latest rather than refuse valuable work", function()
    -- 1 call/s, no latency margin. Two guesses of low priority (lower bounds
    -- 0.3 s and 0.4 s away) stand ahead of two valuable items whose known
    -- windows close 1.5 s and 2.5 s away: four calls would need 4 s. Without a
    -- latest, a guess is never refused nor moved, so the valuable work is
    -- refused (the first that would miss); with one, a guess moves back to its latest (60 s: the
    -- client asked after its stream dropped; the earlier guess, the more urgent of two equals, goes)
    -- and the valuable work goes first.
    local function run(latest)
      local s = scheduler.new{ store = store.memory(), rates = { [CSSC] = 1 }, latency = 0 }
      local now = 1000
      local function push(name, deadline, priority, known)
        s:push({ op = CSSC, name = name, deadline = now + deadline, priority = priority, known = known,
                 latest = not known and latest and now + latest or nil }, now)
      end
      push("guess-1", 0.3, 0, false)
      push("guess-2", 0.4, 0, false)
      push("vip-1", 1.5, 5, true)
      push("vip-2", 2.5, 5, true)
      local order, refused = {}, {}
      for t = 0, 4 do
        local out, r = drain(s, now + t * 1.001)
        for _, n in ipairs(out) do order[#order + 1] = n end
        for _, n in ipairs(r) do refused[#refused + 1] = n end
      end
      return order, refused
    end
    local order, refused = run(nil)
    assert.same({ "vip-1" }, refused)                -- the guesses take the room
    assert.same({ "vip-2", "guess-1", "guess-2" }, order)
    order, refused = run(60)
    assert.same({}, refused)
    assert.same({ "vip-1", "vip-2", "guess-2", "guess-1" }, order)
    -- Moved back, a guess is known at its latest: missing even that, it is refused.
    local s = scheduler.new{ store = store.memory(), rates = { [CSSC] = 1 }, latency = 0 }
    local now = 1000
    s:push({ op = CSSC, name = "vip", deadline = now + 0.5, priority = 5, known = true }, now)
    s:push({ op = CSSC, name = "guess", deadline = now + 0.2, priority = 0, known = false, latest = now + 0.6 }, now)
    local out, r = drain(s, now)
    assert.same({ "vip" }, out)
    assert.same({ "guess" }, r)
  end)

  it("keeps its queue consistent through any mix of pushes, updates and removals", function()
    -- Against a plain sorted list: order, size, items ahead, and which items
    -- the feasibility rule refuses (brute force over the whole list).
    math.randomseed(7)
    local s = scheduler.new{ store = store.memory(), rates = { [CSSC] = 4 }, latency = 0.25 }
    local live = {}
    local function sorted()
      local l = {}
      for it in pairs(live) do l[#l + 1] = it end
      table.sort(l, function(a, b)
        if a.deadline ~= b.deadline then return a.deadline < b.deadline end
        if a.priority ~= b.priority then return a.priority > b.priority end
        return a.seq < b.seq
      end)
      return l
    end
    local now = 5000
    for round = 1, 3000 do
      local r = math.random()
      if r < 0.55 then
        local it = s:push({ op = CSSC, deadline = now + math.random(0, 400) / 4, priority = math.random(0, 3),
                            known = math.random() < 0.8 }, now)
        live[it] = true
      elseif r < 0.75 then
        local it = next(live)
        if it then s:update(it, now + math.random(0, 400) / 4, nil, math.random(0, 3)) end
      elseif r < 0.9 then
        local it = next(live)
        if it then
          assert.is_true(s:remove(it))
          live[it] = nil
        end
      else
        -- The model's own verdict: drop the least valuable of the prefix up to the
        -- first known item that misses (the earliest on a tie), until none does.
        local l = sorted()
        local want = {}
        while true do
          local miss
          for i, it in ipairs(l) do
            if it.known and it.deadline - (i - 1) / 4 < now + 0.25 then miss = i break end
          end
          if not miss then break end
          local worst, wi
          for i = 1, miss do
            if l[i].known and (not worst or l[i].priority < worst.priority) then worst, wi = l[i], i end
          end
          want[#want + 1] = worst
          table.remove(l, wi)
        end
        local got = {}
        s.store.take = function() return 1 end          -- no budget: only refusals
        s:pump(now, function() error("no call expected") end, function(it) got[#got + 1] = it end)
        assert.equal(#want, #got, "round " .. round)
        for i = 1, #want do
          assert.equal(want[i], got[i])
          live[got[i]] = nil
        end
        now = now + 1
      end
      local l = sorted()
      assert.equal(#l, s:depth(CSSC))
      if round % 50 == 0 then
        local items = s:items(CSSC)
        for i = 1, #l do assert.equal(l[i], items[i]) end
        local probe = now + math.random(0, 400) / 4
        local n = 0
        for _, it in ipairs(l) do
          if it.deadline < probe or (it.deadline == probe and it.priority >= 2) then n = n + 1 end
        end
        assert.equal(n, s:ahead(CSSC, probe, 2))
      end
    end
  end)

  it("keeps the burst for protected work: lower work gets only calls the burst can spare", function()
    local now = 1000
    -- The owner expects protected work (a policy that ranks): reserved from the start.
    local s = scheduler.new{ store = store.memory(), rates = { [CSSC] = 10 }, keep_burst = true, hold = 5 }
    for i = 1, 5 do s:push({ op = CSSC, name = "low" .. i, deadline = now + 60, known = true }, now) end
    local out, _, wait = drain(s, now)
    assert.same({ "low1" }, out)                          -- from the full bucket: the rest waits
    assert.is_true(wait > 0.09 and wait < 0.1, tostring(wait)) -- until it is full again
    for i = 1, 4 do s:push({ op = CSSC, name = "high" .. i, deadline = now + 90, known = true, priority = 1 }, now) end
    out = drain(s, now)
    assert.same({ "high1", "high2", "high3", "high4" }, out) -- the burst is theirs, deadlines allowing
    -- The lows wait for the bucket to fill again (5 tokens spent, 0.5 s) and
    -- to spill a whole call more (0.1 s: the protected work that drew on it
    -- might still be arriving), then take what would overflow it: one a
    -- tenth of a second.
    local t, served = now, {}
    for step = 1, 20 do
      t = now + step * 0.05
      for _, n in ipairs(drain(s, t)) do served[#served + 1] = ("%s@%.2f"):format(n, t - now) end
    end
    assert.same({ "low2@0.60", "low3@0.70", "low4@0.80", "low5@0.90" }, served)
    -- `hold` seconds after the last protected work, the burst is everyone's again.
    for i = 1, 5 do s:push({ op = CSSC, name = "late" .. i, deadline = t + 60, known = true }, t) end
    out = drain(s, now + 10)
    assert.same({ "late1", "late2", "late3", "late4", "late5" }, out)
  end)

  it("lets lower work spend the burst while no protected work was ever queued, and compete once it is spent",
  function()
    local now = 1000
    local s = scheduler.new{ store = store.memory(), rates = { [CSSC] = 10 } }
    for i = 1, 3 do s:push({ op = CSSC, name = "low" .. i, deadline = now + 5, known = true }, now) end
    assert.same({ "low1", "low2", "low3" }, (drain(s, now)))
    -- Protected work arrives with a later deadline: it reserves the burst,
    -- and the call the front (lower) item may not have goes to it.
    s:push({ op = CSSC, name = "low4", deadline = now + 5, known = true }, now)
    for i = 1, 6 do s:push({ op = CSSC, name = "high" .. i, deadline = now + 50, known = true, priority = 2 }, now) end
    -- Six of the seven calls left go to the highs; the last one, the burst
    -- spent, to the low one.
    assert.same({ "high1", "high2", "high3", "high4", "high5", "high6", "low4" }, (drain(s, now)))
    -- From then on each call is contended as without a reserve: the more
    -- valuable item first, the deadlines allowing, then the other.
    s:push({ op = CSSC, name = "low5", deadline = now + 5, known = true }, now)
    s:push({ op = CSSC, name = "high7", deadline = now + 50, known = true, priority = 2 }, now)
    assert.same({ "high7" }, (drain(s, now + 0.11)))
    assert.same({ "low5" }, (drain(s, now + 0.22)))
  end)

  it("waits out not_before before an item competes for budget", function()
    local s = scheduler.new{ store = store.memory() }
    s:push({ op = CSSC, name = "later", not_before = 1002 }, 1000)
    s:push({ op = CSSC, name = "now" }, 1000)
    local out, _, wait = drain(s, 1000)
    assert.same({ "now" }, out)
    assert.equal(2, wait)
    assert.same({}, (drain(s, 1001.9)))
    assert.same({ "later" }, (drain(s, 1002)))
  end)

  it("lowers a throttled operation's rate by 10% (floor 1/s) and lets it climb back slowly", function()
    local s = scheduler.new{ store = store.memory(), rates = { [CSSC] = 10 }, recover = 5 }
    s:throttled(CSSC, 1000)
    assert.equal(9, s:rate(CSSC))
    s:throttled(CSSC, 1000)
    assert.is_true(math.abs(s:rate(CSSC) - 8.1) < 1e-9)
    for _ = 1, 40 do s:throttled(CSSC, 1000) end
    assert.equal(1, s:rate(CSSC))
    s:push({ op = CSSC, name = "x" }, 1000)
    drain(s, 1004)
    assert.equal(1, s:rate(CSSC))                        -- not before 5 s without throttling
    drain(s, 1005)
    assert.equal(1.5, s:rate(CSSC))                      -- + 5% of 10
    drain(s, 1010)
    assert.equal(2, s:rate(CSSC))
    assert.equal(1.5, s:rate(CSSC) - 0.5)
  end)
end)

-- Does the list of request-log entries conform to a token bucket (rate, burst)?
-- For every i <= j: j - i + 1 calls in [t_i, t_j] must fit burst + rate * (t_j - t_i).
local function conforms(entries, rate, burst)
  for i = 1, #entries do
    for j = i, #entries do
      if j - i + 1 > burst + rate * (entries[j].time - entries[i].time) + 1e-6 then
        return false, ("%d calls between %.3f and %.3f"):format(j - i + 1, entries[i].time, entries[j].time)
      end
    end
  end
  return true
end

describe("runtime scheduling on the emulator", function()
  local env
  before_each(function() env = support.start() end)
  after_each(function() env.stop() end)

  it("keeps within the account's quota (5/s): no throttling, every player reconnected", function()
    env.runtime{ rates = { [CSSC] = 5 } }
    local list = env.sessions(30)
    local boxes, offers = env.ask_all(list, 5)
    env.wait_all(boxes)
    for i = 1, #list do
      assert.is_nil(boxes[i].err)
      assert.is_true(env.names(boxes[i].res.SignalResponse, offers[i]))
    end
    local calls = env.requests(CSSC)
    assert.equal(30, #calls)
    for _, c in ipairs(calls) do assert.equal(200, c.status) end
    assert.is_true(conforms(calls, 5, 5))
    -- 30 calls at 5/s (burst 5) cannot take less than 5 s, and did not take much more.
    local span = calls[30].time - calls[1].time
    assert.is_true(span >= 5 - 1e-6 and span < 6.5, tostring(span))
    local st = env.rt:stats()
    assert.same({ ok = 30, throttled = 0, failed = 0 }, st.calls[CSSC])
    -- The last players waited about 5 s for their turn; the median about half that.
    assert.is_true(st.latency.p99 >= 5 - 1e-6 and st.latency.p99 < 6.5, tostring(st.latency.p99))
    assert.is_true(st.latency.p50 >= 2 and st.latency.p50 <= 3.5, tostring(st.latency.p50))
    assert.equal(5, st.rates[CSSC])
    assert.equal(0, st.queue)
    -- The budget was in full use up to the end: about 5 calls in the last second
    -- (a bucket with a burst of 5 may fit 6 in a closed second).
    assert.is_true(st.budget_used >= 0.8 and st.budget_used <= 1.2 + 1e-9, tostring(st.budget_used))
    assert.equal(st.budget_used, st.budget[CSSC].used)
  end)

  it("learns a lower rate from throttling, and still reconnects everyone in time", function()
    -- The runtime believes in 20/s; the account allows 5/s.
    env.runtime()
    local list = env.sessions(30)
    local boxes, offers = env.ask_all(list, 5)
    env.wait_all(boxes)
    for i = 1, #list do
      assert.is_nil(boxes[i].err, tostring(boxes[i].err))
      assert.is_true(env.names(boxes[i].res.SignalResponse, offers[i]))
    end
    local st = env.rt:stats()
    assert.is_true(st.calls[CSSC].throttled > 0)
    assert.equal(30, st.calls[CSSC].ok)
    assert.is_true(st.rates[CSSC] < 20 * 0.9 + 1e-9, tostring(st.rates[CSSC]))
    assert.is_true(#env.events("throttled", { operation = CSSC }) == st.calls[CSSC].throttled)
  end)

  it("lowers the rate 10% per ThrottlingException and recovers it slowly", function()
    env.runtime()
    local s = env.sessions(1)[1]
    env.drop_all({ s })
    assert(env.control:faults{ status = 429, count = 2, operation = CSSC })
    local o = env.offer()
    local r = env.call(env.rt, "reconnect", s.token, o, s.client)
    env.run(function() return r.done end)
    assert.is_true(env.names(r.res.SignalResponse, o))
    local st = env.rt:stats()
    assert.same({ ok = 1, throttled = 2, failed = 0 }, st.calls[CSSC])
    assert.is_true(math.abs(st.rates[CSSC] - 16.2) < 1e-9)
    local t0 = env.now()
    env.run(function() return env.now() - t0 >= 11 end)
    st = env.rt:stats()
    assert.is_true(st.rates[CSSC] > 16.2 and st.rates[CSSC] <= 20, tostring(st.rates[CSSC]))
  end)

  it("serves the earliest deadline first among equals, and more valuable work first while no window suffers",
  function()
    env.runtime{ rates = { [CSSC] = 1 }, policy_source = [[
      return { priority = function(ctx) return ctx.requester.attributes.vip and 10 or 0 end }]] }
    local timeouts = { 240, 40, 200, 80, 160, 120 }
    local list = env.sessions(#timeouts, nil, function(i) return { ConnectionTimeoutSeconds = timeouts[i] } end)
    -- Four more with the same deadline; two of them carry a higher priority.
    local ties = env.sessions(4, function(i) return { id = "t" .. i, attributes = { vip = i % 2 == 0 } } end,
      function() return { ConnectionTimeoutSeconds = 300 } end)
    local all = {}
    for _, s in ipairs(list) do all[#all + 1] = s end
    for _, s in ipairs(ties) do all[#all + 1] = s end
    env.drop_all(all)
    assert(env.control:quotas{ [CSSC] = 1 })
    assert(env.control:clear_requests())
    -- Asked in the worst order: latest deadline first, low priority first.
    local boxes = {}
    for i = #all, 1, -1 do boxes[i] = env.call(env.rt, "reconnect", all[i].token, env.offer(), all[i].client) end
    env.wait_all(boxes)
    for i = 1, #all do assert.is_nil(boxes[i].err) end
    local order = {}
    for _, c in ipairs(env.requests(CSSC)) do order[#order + 1] = c.session end
    local id = function(s) return s.arn:match("[^/]+$") end
    -- Every window here has room to spare: the two valuable players first (in the
    -- order they asked), then by deadline, the last tie in the order it asked.
    local want = { id(ties[4]), id(ties[2]) }
    for _, s in ipairs({ list[2], list[4], list[6], list[5], list[3], list[1] }) do   -- 40 80 120 160 200 240
      want[#want + 1] = id(s)
    end
    want[#want + 1] = id(ties[3])
    want[#want + 1] = id(ties[1])
    assert.same(want, order)
  end)

  it("keeps the burst for ranked work when the policy ranks: default-priority reconnects go at the steady rate",
  function()
    local function spans(policy)
      env.runtime{ rates = { [CSSC] = 5 }, policy_source = policy }
      local list = env.sessions(5, function(i) return { id = "p" .. i .. tostring(policy ~= nil) } end)
      local boxes = env.ask_all(list, 5)
      env.wait_all(boxes)
      for i = 1, #list do assert.is_nil(boxes[i].err) end
      local calls = env.requests(CSSC)
      assert.equal(5, #calls)
      return calls[5].time - calls[1].time
    end
    -- No ranking: the five go at once on the bucket's burst of 5.
    assert.is_true(spans(nil) < 0.2)
    -- A policy that ranks, nobody above the default yet: one call from the
    -- full bucket, then one a fifth of a second, the burst kept.
    local span = spans([[return { priority = function(ctx) return ctx.requester.attributes.vip and 10 or 0 end }]])
    assert.is_true(span >= 0.8 - 1e-6 and span < 1.3, tostring(span))
    assert.is_true(env.rt.sched.keep_burst)
    assert(env.rt:reload())
    assert.is_true(env.rt.sched.keep_burst)
  end)

  it("refuses at once a reconnect whose window closes before a connection can be made", function()
    env.runtime{ answer_latency = 0.5 }
    local s = env.sessions(1, nil, function() return { ConnectionTimeoutSeconds = 4 } end)[1]
    local dropped = env.now()
    env.drop_all({ s })
    -- 0.5 s of answer latency: past drop + 3.5 it is too late.
    env.advance(dropped + 3.6 - env.now())
    assert(env.control:clear_requests())
    local r = env.call(env.rt, "reconnect", s.token, env.offer(), s.client)
    env.rt:step(0)
    assert.is_true(r.done)
    assert.equal("DeadlineExceeded", r.err.code)
    assert.equal(410, r.err.status)
    assert.equal(0, #env.requests(CSSC))
    local st = env.rt:stats()
    assert.equal(1, st.refused)
    assert.equal(1, st.deadline_misses)
  end)

  it("learns its answer latency from the calls when none is set: 0.5 s until calls come back", function()
    -- The emulator answers at once on the virtual clock: the margin falls to
    -- 1.5 * 0 + 0.01, so a window 0.3 s from closing is still tried.
    env.runtime()
    assert.equal(0.5, env.rt:stats().answer_latency)
    local s = env.sessions(1, nil, function() return { ConnectionTimeoutSeconds = 4 } end)[1]
    assert.near(0.01, env.rt:stats().answer_latency, 1e-9)
    local dropped = env.now()
    env.drop_all({ s })
    env.advance(dropped + 3.7 - env.now())
    assert(env.control:clear_requests())
    local r = env.call(env.rt, "reconnect", s.token, env.offer(), s.client)
    env.run(function() return r.done end)
    assert.is_nil(r.err)
    assert.truthy(r.res.SignalResponse)
    assert.equal(1, #env.requests(CSSC))
    -- A fixed answer_latency is not learnt.
    env.runtime{ answer_latency = 0.5 }
    env.sessions(1)
    assert.equal(0.5, env.rt:stats().answer_latency)
  end)

  it("refuses queued work once its window can no longer be met, spending no call on it", function()
    env.runtime{ rates = { [CSSC] = 1 } }
    local list = env.sessions(8, nil, function() return { ConnectionTimeoutSeconds = 5 } end)
    local boxes = env.ask_all(list, 1)
    env.wait_all(boxes)
    local saved, refused = 0, 0
    for i = 1, #list do
      if boxes[i].res then
        saved = saved + 1
      else
        assert.equal("DeadlineExceeded", boxes[i].err.code)
        refused = refused + 1
      end
    end
    -- About 5 s of window minus the time the drop took to learn, at 1/s.
    assert.is_true(saved >= 2 and saved <= 5, tostring(saved))
    assert.equal(8, saved + refused)
    local calls = env.requests(CSSC)
    assert.equal(saved, #calls)
    for _, c in ipairs(calls) do assert.equal(200, c.status) end
    assert.equal(refused, env.rt:stats().deadline_misses)
  end)

  it("collapses two reconnects for one session into one call: the newest offer wins", function()
    env.runtime()
    local s = env.sessions(1)[1]
    env.drop_all({ s })
    assert(env.control:clear_requests())
    local a, b = env.offer("a"), env.offer("b")
    local ra = env.call(env.rt, "reconnect", s.token, a, s.client)
    local rb = env.call(env.rt, "reconnect", s.token, b, s.client)
    env.wait_all({ ra, rb })
    assert.equal("Superseded", ra.err.code)
    assert.equal(409, ra.err.status)
    assert.is_true(env.names(rb.res.SignalResponse, b))
    assert.equal(1, #env.requests(CSSC))
    assert.equal(1, env.rt:stats().superseded)
  end)

  it("tells the older requester it was superseded even when its call is already out, and gives its answer to no one",
  function()
    env.runtime()
    local s = env.sessions(1)[1]
    env.drop_all({ s })
    assert(env.control:clear_requests())
    -- The emulator holds the first call's reply for 300 ms of real time.
    assert(env.control:faults{ latency_ms = 300, count = 1, operation = CSSC })
    local a, b = env.offer("a"), env.offer("b")
    local ra = env.call(env.rt, "reconnect", s.token, a, s.client)
    env.rt:step(0)
    assert.equal(1, env.rt:in_flight())
    local rb = env.call(env.rt, "reconnect", s.token, b, s.client)
    env.wait_all({ ra, rb })
    assert.equal("Superseded", ra.err.code)
    assert.is_nil(ra.res)
    assert.is_true(env.names(rb.res.SignalResponse, b))
    assert.is_false(env.names(rb.res.SignalResponse, a))
    local calls = env.requests(CSSC)
    assert.equal(2, #calls)
    for _, c in ipairs(calls) do assert.equal(200, c.status) end
    -- Only b's token lives.
    local old = env.call(env.rt, "answer", s.token, 0)
    local new = env.call(env.rt, "answer", rb.res.token, 0)
    env.wait_all({ old, new })
    assert.equal("NotFound", old.err.code)
    assert.is_true(env.names(new.res.SignalResponse, b))
  end)
end)
