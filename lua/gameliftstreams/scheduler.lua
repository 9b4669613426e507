--- gameliftstreams.scheduler: spends the account's call budget on the most
-- urgent work first.
--
--     local scheduler = require "gameliftstreams.scheduler"
--     local s = scheduler.new{ store = store, rates = { CreateStreamSessionConnection = 20 },
--                              latency = 0.5, keep_burst = false, hold = 10 }
--     s:push(item, now)         -- item = { op=, deadline=, known=, latest=, priority=, not_before= }
--     s:update(item, deadline, known, priority)   -- new figures for a queued item
--     s:remove(item)            -- no longer wanted -> true if it was queued
--     s:pump(now, dispatch, refuse) -> seconds until more can be done, or nil (nothing queued)
--     s:throttled(op, now)      -- the service said ThrottlingException: lower op's rate by 10%
--     s:ahead(op, deadline, priority) -> items a new one would wait behind
--
-- One queue per operation (each operation has its own quota, so a spent
-- budget for one never holds back another). A queue is ordered by deadline
-- (earliest first; math.huge = none), then priority (higher first), then
-- arrival, and gets one call per token of the store's bucket for the
-- operation (store:take). Each call goes to the front, unless the queue holds
-- more valuable work (a higher priority) and every known deadline ahead of it
-- still holds if it goes first: then the most valuable item goes. Valuable
-- work served as early as the deadlines allow leaves less valuable work
-- queued, and that is what gets refused (below) when more valuable work
-- arrives later and the budget runs short. Among equals it is plain earliest
-- deadline first.
--
-- Deadlines are kept feasible. At the operation's current rate r, the k-th
-- item in the queue gets its call about (k-1)/r seconds from now; if some item
-- whose deadline is known (item.known) would then miss it (k/r + latency past
-- its deadline), the queue is over capacity, and waiting would only let an
-- arbitrary item expire. Instead pump() refuses at once, without spending
-- budget, the item of lowest priority among those up to the first one that
-- would miss (the earliest of them on a tie), and again until every known
-- deadline can be met. That keeps the most work that can be done (refusing
-- any one item of that prefix makes room), and makes it the most valuable:
-- higher-priority work is never refused while lower-priority work is queued
-- ahead of it. An item whose deadline is only a guess (known false: a lower
-- bound, so it is ordered as if as urgent as it might be) counts for the room
-- it takes but is never refused on it. If it also says the latest its window
-- can close (item.latest) and it is the least valuable of that prefix, it is
-- moved back to that latest deadline instead (known from then on: missing
-- even that, it is refused): an unlearnt deadline then yields room to more
-- valuable work rather than having that work refused. Items with not_before
-- wait in a separate heap until then.
--
-- The bucket's burst is kept for protected work (priority above 0): less
-- valuable work gets one call per 1/rate at most, the steady rate, never the
-- burst that protected work arriving a moment later would need, and once
-- protected work has drawn on the bucket, nothing from it until the refilled
-- bucket has spilled a whole call (that work may still be arriving: a call
-- taken as the bucket fills would put each of its next calls a step late);
-- a call it may not have yet goes to queued protected work, if any. This
-- holds while protected work is queued, for `hold` seconds (default 10)
-- after the last was queued, and, when the owner
-- expects protected work (opts.keep_burst: the runtime's policy ranks
-- requests), from the start until the first comes. Past that, the burst is
-- everyone's again, so that what protected work left in the bucket is not
-- parked there for ever.
--
-- A queue is a treap whose nodes carry their subtree's size, the least slack
-- (deadline - items ahead / rate) of its known items, its least valuable known
-- item and its most valuable item, so every operation is O(log n); a rate
-- change recomputes them, O(n).
--
-- Rates are calls per second per operation (default 20). On throttling the
-- rate drops by 10% (floor 1/s); every `recover` seconds (default 5) without
-- throttling it climbs back by 5% of the configured rate.
local M = { _NAME = "gameliftstreams.scheduler" }

M.DEFAULT_RATE = 20
M.OPERATIONS = { "CreateStreamSessionConnection", "StartStreamSession", "ListStreamSessions",
                 "TerminateStreamSession", "GetStreamSession" }

local HUGE = math.huge

---------------------------------------------------------------- queue order

local function before(a, b)
  if a.deadline ~= b.deadline then return a.deadline < b.deadline end
  if a.priority ~= b.priority then return a.priority > b.priority end
  return a.seq < b.seq
end

---------------------------------------------------------------- treaps
-- Node fields (on the item itself): _l, _r children, _n size (set only while
-- queued), _mn least slack of the known items (positions counted within the
-- subtree), _pi least valuable sheddable item (known, or with a latest
-- deadline to move to; lowest priority, then a guess before a known
-- deadline, then the earlier one), _px most
-- valuable item (highest priority; the earlier one on a tie). The heap weight
-- is a hash of item.seq, not a field: a queued reconnect's table stays small
-- (16 fields, 17 with a latest), which matters with 20,000 of them.

local function size(t) return t and t._n or 0 end

-- Whether a is shed before b: the lower priority first; on a tie a guess
-- (moved back, not refused) before a known deadline; else neither, and the
-- one met first in queue order, the earlier, goes. Refusing the most urgent
-- of equals keeps the ones with later deadlines, which can still use room
-- that opens up later (an item ahead superseded, refused or sent elsewhere);
-- an item about to close cannot. The storm of bench/storm lost two to three
-- more high-priority players with the later one.
local function sheds_before(a, b)
  if a.priority ~= b.priority then return a.priority < b.priority end
  return not a.known and b.known
end

-- murmur3's finalizer: a well-mixed weight from the arrival number.
local function weight(t)
  local h = t.seq & 0xffffffff
  h = h ~ (h >> 16)
  h = (h * 0x85ebca6b) & 0xffffffff
  h = h ~ (h >> 13)
  h = (h * 0xc2b2ae35) & 0xffffffff
  return h ~ (h >> 16)
end

local function pull(t, c)
  local l, r = t._l, t._r
  local nl = l and l._n or 0
  t._n = nl + 1 + (r and r._n or 0)
  local mn = t.known and t.deadline - c * nl or HUGE
  if l and l._mn < mn then mn = l._mn end
  if r then
    local v = r._mn - c * (nl + 1)
    if v < mn then mn = v end
  end
  t._mn = mn
  local best = l and l._pi
  if (t.known or t.latest) and (not best or sheds_before(t, best)) then best = t end
  local rb = r and r._pi
  if rb and (not best or sheds_before(rb, best)) then best = rb end
  t._pi = best
  local top = l and l._px
  if not top or t.priority > top.priority then top = t end
  local rt = r and r._px
  if rt and rt.priority > top.priority then top = rt end
  t._px = top
  -- The protected class (priority above the default 0), ranked among itself.
  local nlh = l and l._nh or 0
  local me = t.priority > 0 and 1 or 0
  t._nh = nlh + me + (r and r._nh or 0)
  local mh = me == 1 and t.deadline - c * nlh or HUGE
  if l and l._mh < mh then mh = l._mh end
  if r then
    local v = r._mh - c * (nlh + me)
    if v < mh then mh = v end
  end
  t._mh = mh
end

-- The first protected item (priority > 0) of subtree t in queue order.
local function first_protected(t)
  while t do
    local l = t._l
    if l and l._nh > 0 then
      t = l
    elseif t.priority > 0 then
      return t
    else
      t = t._r
    end
  end
  return nil
end

local function rot_right(t, c)
  local l = t._l
  t._l = l._r
  pull(t, c)
  l._r = t
  pull(l, c)
  return l
end

local function rot_left(t, c)
  local r = t._r
  t._r = r._l
  pull(t, c)
  r._l = t
  pull(r, c)
  return r
end

local function insert(t, x, c)
  if not t then
    x._l, x._r = nil, nil
    pull(x, c)
    return x
  end
  if before(x, t) then
    t._l = insert(t._l, x, c)
    if weight(t._l) > weight(t) then return rot_right(t, c) end
  else
    t._r = insert(t._r, x, c)
    if weight(t._r) > weight(t) then return rot_left(t, c) end
  end
  pull(t, c)
  return t
end

local function merge(a, b, c)
  if not a then return b end
  if not b then return a end
  if weight(a) > weight(b) then
    a._r = merge(a._r, b, c)
    pull(a, c)
    return a
  end
  b._l = merge(a, b._l, c)
  pull(b, c)
  return b
end

local function delete(t, x, c)
  if t == x then return merge(t._l, t._r, c) end
  if before(x, t) then t._l = delete(t._l, x, c) else t._r = delete(t._r, x, c) end
  pull(t, c)
  return t
end

local function first(t)
  if not t then return nil end
  while t._l do t = t._l end
  return t
end

-- The first known item (in queue order) whose slack is under thr, and its
-- rank (1 = the front); `off` items come before subtree t.
local function first_miss(t, thr, c, off)
  if not t or t._mn - c * off >= thr then return nil end
  local hit, k = first_miss(t._l, thr, c, off)
  if hit then return hit, k end
  local before_t = off + size(t._l)
  if t.known and t.deadline - c * before_t < thr then return t, before_t + 1 end
  return first_miss(t._r, thr, c, before_t + 1)
end

-- The least valuable sheddable item among the first k of subtree t.
local function least_in(t, k)
  if not t or k <= 0 then return nil end
  local nl = size(t._l)
  if k <= nl then return least_in(t._l, k) end
  local best = t._l and t._l._pi
  if (t.known or t.latest) and (not best or sheds_before(t, best)) then best = t end
  local rb = least_in(t._r, k - nl - 1)
  if rb and (not best or sheds_before(rb, best)) then best = rb end
  return best
end

-- The least slack (deadline - position / rate) of the known items among the
-- first k of subtree t, whose first item is at position `off`.
local function slack_in(t, k, c, off)
  if not t or k <= 0 then return HUGE end
  if k >= t._n then return t._mn - c * off end
  local nl = size(t._l)
  if k <= nl then return slack_in(t._l, k, c, off) end
  local m = t._l and t._l._mn - c * off or HUGE
  if t.known then
    local v = t.deadline - c * (off + nl)
    if v < m then m = v end
  end
  local v = slack_in(t._r, k - nl - 1, c, off + nl + 1)
  if v < m then m = v end
  return m
end

-- Position of queued item x in t (0 = the front).
local function position(t, x)
  local n = 0
  while t ~= x do
    if before(x, t) then
      t = t._l
    else
      n = n + size(t._l) + 1
      t = t._r
    end
  end
  return n + size(t._l)
end

-- How many items of t come before a new one with this deadline and priority
-- (after those of equal deadline and priority: it would arrive last).
local function count_before(t, deadline, priority)
  local n = 0
  while t do
    if t.deadline < deadline or (t.deadline == deadline and t.priority >= priority) then
      n = n + size(t._l) + 1
      t = t._r
    else
      t = t._l
    end
  end
  return n
end

local function recompute(t, c)
  if not t then return end
  recompute(t._l, c)
  recompute(t._r, c)
  pull(t, c)
end

---------------------------------------------------------------- the delayed heap

local function due_before(a, b)
  if a.not_before ~= b.not_before then return a.not_before < b.not_before end
  return a.seq < b.seq
end

local function hup(h, i)
  local e = h[i]
  while i > 1 do
    local p = i // 2
    local pe = h[p]
    if not due_before(e, pe) then break end
    h[i] = pe
    pe._h = i
    i = p
  end
  h[i] = e
  e._h = i
end

local function hdown(h, i)
  local n = #h
  local e = h[i]
  while true do
    local c = 2 * i
    if c > n then break end
    if c < n and due_before(h[c + 1], h[c]) then c = c + 1 end
    local ce = h[c]
    if not due_before(ce, e) then break end
    h[i] = ce
    ce._h = i
    i = c
  end
  h[i] = e
  e._h = i
end

local function hremove(h, e)
  local i = e._h
  local n = #h
  local last = h[n]
  h[n] = nil
  e._h = nil
  if i == n then return end
  h[i] = last
  last._h = i
  if i > 1 and due_before(last, h[i // 2]) then hup(h, i) else hdown(h, i) end
end

---------------------------------------------------------------- scheduler

local Scheduler = {}
Scheduler.__index = Scheduler
Scheduler.__name = "gameliftstreams.scheduler"

local function check_rate(op, v, what)
  if type(v) ~= "number" or v <= 0 or v ~= v or v == HUGE then
    error(("bad option '%s' to 'new' (%s: calls per second > 0 expected)"):format(what, tostring(op)), 3)
  end
end

--- scheduler.new{ store=, rates=, bursts=, latency=, recover= }
function M.new(opts)
  if type(opts) ~= "table" or type(opts.store) ~= "table" then
    error("bad argument #1 to 'new' (table with a store expected)", 2)
  end
  local self = setmetatable({
    store = opts.store, latency = opts.latency or 0.5, recover = opts.recover or 5,
    keep_burst = opts.keep_burst == true, hold = opts.hold or 10,
    base = {}, rates = {}, bursts = {}, queues = {}, ops = {}, changed = {}, delayed = {}, seq = 0, n = 0,
  }, Scheduler)
  for _, op in ipairs(M.OPERATIONS) do self.base[op] = M.DEFAULT_RATE end
  for op, v in pairs(opts.rates or {}) do
    check_rate(op, v, "rates")
    self.base[op] = v
  end
  for op, v in pairs(opts.bursts or {}) do
    check_rate(op, v, "bursts")
    self.bursts[op] = v
  end
  for op, v in pairs(self.base) do self.rates[op] = v end
  return self
end

-- queue = { root =, op =, c = seconds per call at the rate the tree was built for }
local function queue(self, op)
  local q = self.queues[op]
  if not q then
    if not self.base[op] then
      self.base[op] = M.DEFAULT_RATE
      self.rates[op] = M.DEFAULT_RATE
    end
    q = { op = op, root = nil, c = 1 / self.rates[op] }
    self.queues[op] = q
    self.ops[#self.ops + 1] = op
  end
  return q
end

-- Brings q's slack figures to the operation's current rate.
local function refresh(self, q)
  local c = 1 / self.rates[q.op]
  if c ~= q.c then
    q.c = c
    recompute(q.root, c)
  end
end

local next_item

local function enqueue(self, item)
  local q = queue(self, item.op)
  refresh(self, q)
  q.root = insert(q.root, item, q.c)
end

local function dequeue(self, item)
  local q = self.queues[item.op]
  q.root = delete(q.root, item, q.c)
  item._n, item._mn, item._l, item._r, item._pi, item._px = nil, nil, nil, nil, nil, nil
  item._nh, item._mh = nil, nil
end

--- Queues item (its op, deadline, known, priority, not_before). Misuse raises.
function Scheduler:push(item, now)
  if item._n or item._h then error("item already queued", 2) end
  if type(item.op) ~= "string" then error("item.op expected", 2) end
  item.deadline = item.deadline or HUGE
  item.priority = item.priority or 0
  if item.priority > 0 then queue(self, item.op).protected_at = now or self.t or -HUGE end
  self.seq = self.seq + 1
  item.seq = self.seq
  self.n = self.n + 1
  if item.not_before and now and item.not_before > now then
    local d = self.delayed
    d[#d + 1] = item
    hup(d, #d)
  else
    item.not_before = nil
    enqueue(self, item)
  end
  return item
end

--- Gives a queued (or delayed) item a new deadline, known flag and priority
-- (nil keeps each), re-sorting it. Change these only through update.
function Scheduler:update(item, deadline, known, priority)
  local queued = item._n ~= nil
  if queued then dequeue(self, item) end
  if deadline ~= nil then item.deadline = deadline end
  if known ~= nil then item.known = known end
  if priority ~= nil then item.priority = priority end
  if queued then enqueue(self, item) end
end

--- Takes item out of its queue; true if it was queued.
function Scheduler:remove(item)
  if item._n then
    dequeue(self, item)
  elseif item._h then
    hremove(self.delayed, item)
  else
    return false
  end
  self.n = self.n - 1
  return true
end

function Scheduler.queued(_, item) return item._n ~= nil or item._h ~= nil end

-- The item to serve next. Protected work (priority above 0) that cannot spare
-- a call (its earliest-deadline-first schedule among itself would miss a
-- deadline, guessed ones included, one call later) gets it: its earliest
-- item. Otherwise the most valuable one, if every known deadline ahead of it
-- still holds one call later; else the front (earliest deadline). Serving
-- valuable work as early as the deadlines allow leaves the less valuable work
-- queued, where it is what gets refused when more valuable work arrives later.
function next_item(q, thr)
  local root = q.root
  local front = first(root)
  if front.priority <= 0 and root._nh > 0 and root._mh - q.c < thr then return first_protected(root) end
  local top = root._px
  if top == front or top.priority <= front.priority then return front end
  if slack_in(q.root, position(q.root, top), q.c, 0) - q.c >= thr then return top end
  return front
end

-- Refuses the least valuable items of q until every known deadline can be met;
-- a guessed one is moved back to its latest deadline instead.
local function shed(self, q, now, refuse)
  refresh(self, q)
  local thr = now + self.latency
  while q.root do
    local miss, k = first_miss(q.root, thr, q.c, 0)
    if not miss then return end
    local victim = least_in(q.root, k)
    dequeue(self, victim)
    if victim.known then
      self.n = self.n - 1
      refuse(victim)
    else
      if victim.latest > victim.deadline then victim.deadline = victim.latest end
      victim.known = true
      enqueue(self, victim)
    end
  end
end

-- Whether q's burst is kept for protected work: while it holds any, for
-- `hold` seconds after the last was queued, and from the start when the
-- owner says protected work is expected (keep_burst) until some comes.
local function reserved(self, q, now)
  local at = q.protected_at
  if at == nil then return self.keep_burst end
  return q.root._nh > 0 or now - at < self.hold
end

--- Does what the budget allows now: dispatch(item) for each item given a
-- call, refuse(item) for each whose known deadline cannot be met. Returns
-- seconds until more can be done, or nil when nothing is queued.
function Scheduler:pump(now, dispatch, refuse)
  self.t = now
  local d = self.delayed
  while d[1] and d[1].not_before <= now do
    local item = d[1]
    hremove(d, item)
    item.not_before = nil
    enqueue(self, item)
  end
  local wait = d[1] and d[1].not_before - now or nil
  for _, op in ipairs(self.ops) do
    local q = self.queues[op]
    local rate, base = self.rates[op], self.base[op]
    if rate < base and now - (self.changed[op] or now) >= self.recover then
      rate = math.min(base, rate + 0.05 * base)
      self.rates[op], self.changed[op] = rate, now
    end
    if q.root then shed(self, q, now, refuse) end
    local burst = self.bursts[op] or math.max(1, rate)
    while q.root do
      local item = next_item(q, now + self.latency)
      -- Work below the protected class gets only calls the burst can spare
      -- (store:take's spare); the call it may not have goes to queued
      -- protected work, if any.
      local spare = item.priority <= 0 and reserved(self, q, now)
      local ok = self.store:take(op, now, rate, burst, spare)
      if ok ~= true and spare and q.root._nh > 0 then
        item = first_protected(q.root)
        ok = self.store:take(op, now, rate, burst)
      end
      if ok ~= true then
        if not wait or ok < wait then wait = ok end
        break
      end
      dequeue(self, item)
      self.n = self.n - 1
      dispatch(item)
    end
    if rate < base and q.root then
      local r = self.recover - (now - self.changed[op])
      if r > 0 and (not wait or r < wait) then wait = r end
    end
  end
  return wait
end

--- The service throttled a call of op.
function Scheduler:throttled(op, now)
  local r = (self.rates[op] or self.base[op] or M.DEFAULT_RATE) * 0.9
  if r < 1 then r = 1 end
  self.rates[op] = r
  self.changed[op] = now
end

function Scheduler:rate(op) return self.rates[op] or M.DEFAULT_RATE end
function Scheduler:depth(op)
  local q = self.queues[op]
  return q and size(q.root) or 0
end
--- Items queued, delayed ones included.
function Scheduler:size() return self.n end

--- How many queued items of op a new one with this deadline and priority
-- would wait behind.
function Scheduler:ahead(op, deadline, priority)
  local q = self.queues[op]
  return q and count_before(q.root, deadline or HUGE, priority or 0) or 0
end

--- Seconds until a newly queued item of op would get its call if everything
-- now queued for op went first (depth / rate).
function Scheduler:wait_estimate(op) return self:depth(op) / self:rate(op) end

--- The queued items of op in queue order (for tests and close()).
function Scheduler:items(op)
  local out = {}
  local function walk(t)
    if not t then return end
    walk(t._l)
    out[#out + 1] = t
    walk(t._r)
  end
  local q = self.queues[op]
  if q then walk(q.root) end
  return out
end

return M
