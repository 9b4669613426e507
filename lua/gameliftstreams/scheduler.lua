--- gameliftstreams.scheduler: spends the account's call budget on the most
-- urgent work first.
--
--     local scheduler = require "gameliftstreams.scheduler"
--     local s = scheduler.new{ store = store, rates = { CreateStreamSessionConnection = 20 },
--                              latency = 0.5 }
--     s:push(item, now)         -- item = { op=, deadline=, known=, priority=, not_before= }
--     s:update(item)            -- its deadline or priority changed
--     s:remove(item)            -- no longer wanted -> true if it was queued
--     s:pump(now, dispatch, refuse) -> seconds until more can be done, or nil (nothing queued)
--     s:throttled(op, now)      -- the service said ThrottlingException: lower op's rate by 10%
--
-- One queue per operation (each operation has its own quota, so a spent
-- budget for one never holds back another). A queue is a binary heap ordered
-- by deadline (earliest first; math.huge = none), then priority (higher
-- first), then arrival. pump() refuses, without spending budget, every item
-- at the head whose deadline is known (item.known) and closes before
-- now + latency, then gives each head item a call from the store's token
-- bucket (store:take) while there is one. Items with not_before wait in a
-- separate heap until then. All operations are O(log n).
--
-- Rates are calls per second per operation (default 20). On throttling the
-- rate drops by 10% (floor 1/s); every `recover` seconds (default 5) without
-- throttling it climbs back by 5% of the configured rate.
local M = { _NAME = "gameliftstreams.scheduler" }

M.DEFAULT_RATE = 20
M.OPERATIONS = { "CreateStreamSessionConnection", "StartStreamSession", "ListStreamSessions",
                 "TerminateStreamSession", "GetStreamSession" }

---------------------------------------------------------------- heaps

-- Heap entries carry their own index (item._h) and heap (item._q), so an
-- item can be moved or removed in O(log n).
local function before(a, b)
  if a.deadline ~= b.deadline then return a.deadline < b.deadline end
  if a.priority ~= b.priority then return a.priority > b.priority end
  return a.seq < b.seq
end

local function due_before(a, b)
  if a.not_before ~= b.not_before then return a.not_before < b.not_before end
  return a.seq < b.seq
end

local function up(h, i, less)
  local e = h[i]
  while i > 1 do
    local p = i // 2
    local pe = h[p]
    if not less(e, pe) then break end
    h[i] = pe
    pe._h = i
    i = p
  end
  h[i] = e
  e._h = i
end

local function down(h, i, less)
  local n = #h
  local e = h[i]
  while true do
    local c = 2 * i
    if c > n then break end
    if c < n and less(h[c + 1], h[c]) then c = c + 1 end
    local ce = h[c]
    if not less(ce, e) then break end
    h[i] = ce
    ce._h = i
    i = c
  end
  h[i] = e
  e._h = i
end

local function hpush(h, e, less)
  h[#h + 1] = e
  e._q = h
  up(h, #h, less)
end

local function hremove(h, e, less)
  local i = e._h
  local n = #h
  local last = h[n]
  h[n] = nil
  e._h, e._q = nil, nil
  if i == n then return end
  h[i] = last
  last._h = i
  if i > 1 and less(last, h[i // 2]) then up(h, i, less) else down(h, i, less) end
end

---------------------------------------------------------------- scheduler

local Scheduler = {}
Scheduler.__index = Scheduler
Scheduler.__name = "gameliftstreams.scheduler"

local function check_rate(op, v, what)
  if type(v) ~= "number" or v <= 0 or v ~= v or v == math.huge then
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

local function queue(self, op)
  local q = self.queues[op]
  if not q then
    q = {}
    self.queues[op] = q
    self.ops[#self.ops + 1] = op
    if not self.base[op] then
      self.base[op] = M.DEFAULT_RATE
      self.rates[op] = M.DEFAULT_RATE
    end
  end
  return q
end

--- Queues item (its op, deadline, known, priority, not_before). Misuse raises.
function Scheduler:push(item, now)
  if item._q then error("item already queued", 2) end
  if type(item.op) ~= "string" then error("item.op expected", 2) end
  item.deadline = item.deadline or math.huge
  item.priority = item.priority or 0
  self.seq = self.seq + 1
  item.seq = self.seq
  self.n = self.n + 1
  if item.not_before and now and item.not_before > now then
    hpush(self.delayed, item, due_before)
  else
    item.not_before = nil
    hpush(queue(self, item.op), item, before)
  end
  return item
end

--- Re-sorts item after its deadline or priority changed.
function Scheduler:update(item)
  local h = item._q
  if not h or h == self.delayed then return end
  local i = item._h
  if i > 1 and before(item, h[i // 2]) then up(h, i, before) else down(h, i, before) end
end

--- Takes item out of its queue; true if it was queued.
function Scheduler:remove(item)
  local h = item._q
  if not h then return false end
  hremove(h, item, h == self.delayed and due_before or before)
  self.n = self.n - 1
  return true
end

function Scheduler.queued(_, item) return item._q ~= nil end

--- Does what the budget allows now: dispatch(item) for each item given a
-- call, refuse(item) for each whose known deadline cannot be met. Returns
-- seconds until more can be done, or nil when nothing is queued.
function Scheduler:pump(now, dispatch, refuse)
  local d = self.delayed
  while d[1] and d[1].not_before <= now do
    local item = d[1]
    hremove(d, item, due_before)
    item.not_before = nil
    hpush(queue(self, item.op), item, before)
  end
  local wait = d[1] and d[1].not_before - now or nil
  local limit = now + self.latency
  for _, op in ipairs(self.ops) do
    local q = self.queues[op]
    local rate, base = self.rates[op], self.base[op]
    if rate < base and now - (self.changed[op] or now) >= self.recover then
      rate = math.min(base, rate + 0.05 * base)
      self.rates[op], self.changed[op] = rate, now
    end
    while q[1] do
      local item = q[1]
      if item.known and item.deadline < limit then
        hremove(q, item, before)
        self.n = self.n - 1
        refuse(item)
      else
        local ok = self.store:take(op, now, rate, self.bursts[op] or math.max(1, rate))
        if ok ~= true then
          if not wait or ok < wait then wait = ok end
          break
        end
        hremove(q, item, before)
        self.n = self.n - 1
        dispatch(item)
      end
    end
    if rate < base then
      local r = self.recover - (now - self.changed[op])
      if r > 0 and (not wait or r < wait) and q[1] then wait = r end
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
  return q and #q or 0
end
--- Items queued, delayed ones included.
function Scheduler:size() return self.n end

--- Seconds until a newly queued item of op would get its call if everything
-- now queued for op went first (depth / rate).
function Scheduler:wait_estimate(op) return self:depth(op) / self:rate(op) end

return M
