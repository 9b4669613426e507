-- bench/storm_backends.lua: the two backends bench/storm compares, behind one
-- small interface, and the call counter both go through.
--
--   local b = backends.gls{ client =, clock =, players =, stream_group = }   -- gls runtime
--   local b = backends.plain{ client =, clock =, random =, retry_quota = true }
--   b:ask(player, offer, cb)   cb(answer | nil, err), exactly once, from b:pump()
--   b:pump()                   does everything due at the clock's current time and
--                              waits (real time) for the calls that brought; returns
--                              when nothing is in flight and nothing is due now
--   b:next_due()               seconds (virtual) until the backend has work, or nil
--   b:close()
--
-- clock() is the storm's virtual clock (epoch seconds, the emulator's). Calls
-- complete at the virtual instant they were made: the bench moves the clock
-- on only once nothing is in flight.
local core = require "gameliftstreams.core"
local gls = require "gameliftstreams"
local model = require "storm_model"

local M = {}

local CSSC = "CreateStreamSessionConnection"

---------------------------------------------------------------- counting

local model_name = {}
for name, op in pairs(gls.operations) do
  model_name[name] = name
  model_name[op.snake] = name
end

--- A client that counts every call by operation: calls, throttled, failed.
-- It has the surface the runtime uses (start, pollfd, timeout, step) plus
-- in_flight; each start is one HTTP call (the wrapped client makes no
-- retries of its own: max_attempts = 1).
--
-- It also removes one cause of run-to-run variation. The calls a backend
-- starts go one at a time, in the order it started them, and their replies reach it in that
-- order once every call it had started is back (one step). Concurrent calls
-- would reach the emulator, and come back, in whatever order the sockets
-- give, and which of a sweep's page and a reconnect the emulator handles
-- first changes what the backend learns: the same storm then gave figures a
-- few players apart from one run to the next. All of them take no virtual
-- time either way.
function M.counting(client)
  local counts = {}
  local queue, qhead, qtail, held = {}, 1, 0, {}
  local active = false
  local c = { counts = counts }
  local function done(call, out, err)
    local k = call.k
    if err then
      if err.code == "ThrottlingException" then k.throttled = k.throttled + 1 else k.failed = k.failed + 1 end
    end
    call.out, call.err = out, err
    held[#held + 1] = call
    active = false
  end
  local function issue()
    local call = queue[qhead]
    queue[qhead] = nil
    qhead = qhead + 1
    active = true
    client:start(call.op, call.input, function(out, err) done(call, out, err) end)
  end
  function c.start(_, op, input, cb)
    local name = model_name[op] or op
    local k = counts[name]
    if not k then
      k = { calls = 0, throttled = 0, failed = 0 }
      counts[name] = k
    end
    k.calls = k.calls + 1
    qtail = qtail + 1
    queue[qtail] = { op = op, input = input, cb = cb, k = k }
  end
  function c.pollfd() return client:pollfd() end
  function c.events() return client:events() end
  -- Between steps nothing is in flight: the wrapped client's own timers
  -- (real time) have no say in when the backend has work.
  function c.timeout()
    if held[1] or queue[qhead] then return 0 end
    return nil
  end
  -- Runs every queued call to its end, one after the other, then delivers
  -- their replies in the order the calls were started.
  function c.step()
    local t0 = core.time()
    while active or queue[qhead] do
      if not active then issue() end
      client:step(0.01)
      if core.time() - t0 > 60 then error("a call to the emulator never came back") end
    end
    queue, qhead, qtail = {}, 1, 0
    local h = held
    held = {}
    for _, call in ipairs(h) do call.cb(call.out, call.err) end
    return #h
  end
  function c.in_flight() return (qtail - qhead + 1) + (active and 1 or 0) + #held end
  function c.close() return client:close() end
  function c.op(name)
    return counts[name] or { calls = 0, throttled = 0, failed = 0 }
  end
  return c
end

---------------------------------------------------------------- plain

-- botocore 1.x standard retry mode (botocore/retries/standard.py, quota.py),
-- which every AWS SDK's "standard" mode follows: at most 3 attempts; retry
-- throttling errors, transient errors (5xx, RequestTimeout,
-- InternalServerException) and connection failures; each retry takes 5 (10 for
-- a connection failure) from a per-client retry quota of 500, a success gives
-- back what its retry took (1 when it needed none); the delay before attempt
-- k+1 is rand() * min(2^(k-1), 20) seconds (full jitter). The same ClientToken
-- goes with every attempt of one request.
local THROTTLING = {}
for _, c in ipairs({ "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
  "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
  "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
  "PriorRequestNotComplete", "EC2ThrottledException" }) do THROTTLING[c] = true end
local TRANSIENT = { RequestTimeout = true, RequestTimeoutException = true, InternalServerException = true }
local TRANSIENT_STATUS = { [500] = true, [502] = true, [503] = true, [504] = true }

M.STANDARD = { max_attempts = 3, quota = 500, retry_cost = 5, timeout_cost = 10, no_retry_increment = 1,
               max_backoff = 20, base = 1 }

-- -> "throttling" | "transient" | "transport" | nil (not retryable)
local function classify(err)
  if err.status == nil then return err.code ~= "Cancelled" and "transport" or nil end
  if THROTTLING[err.code] then return "throttling" end
  if TRANSIENT[err.code] then return "transient" end
  if err.status == 429 then return "throttling" end
  if TRANSIENT_STATUS[err.status] then return "transient" end
  return nil
end
M.classify = classify

local Plain = {}
Plain.__index = Plain

function M.plain(opts)
  return setmetatable({
    client = opts.client, clock = opts.clock, random = opts.random or math.random,
    group = opts.stream_group, quota = M.STANDARD.quota, use_quota = opts.retry_quota ~= false,
    timers = {}, retries = 0, quota_refusals = 0, pending = 0,
  }, Plain)
end

local function due_of(r) return r.due end

function Plain:send(req)
  req.attempt = req.attempt + 1
  self.client:start(CSSC, req.input, function(out, err) self:reply(req, out, err) end)
end

function Plain:ask(player, offer, cb)
  self.pending = self.pending + 1
  self:send({ attempt = 0, cost = 0, cb = cb, input = {
    Identifier = self.group, StreamSessionIdentifier = player.sid, SignalRequest = offer,
    ClientToken = core.uuid4(),
  } })
end

function Plain:finish(req, answer, err)
  self.pending = self.pending - 1
  req.cb(answer, err)
end

function Plain:reply(req, out, err)
  local S = M.STANDARD
  if out then
    local back = req.cost > 0 and req.cost or S.no_retry_increment
    self.quota = math.min(S.quota, self.quota + back)
    return self:finish(req, out.SignalResponse)
  end
  local class = classify(err)
  if class and req.attempt < S.max_attempts then
    local cost = class == "transport" and S.timeout_cost or S.retry_cost
    if not self.use_quota or cost <= self.quota then
      if self.use_quota then self.quota = self.quota - cost end
      req.cost = cost
      local delay = self.random() * math.min(S.base * 2 ^ (req.attempt - 1), S.max_backoff)
      req.due = self.clock() + delay
      self.retries = self.retries + 1
      model.heap_push(self.timers, req, due_of)
      return
    end
    self.quota_refusals = self.quota_refusals + 1
  end
  self:finish(req, nil, err)
end

function Plain:pump()
  local client, timers = self.client, self.timers
  for _ = 1, 1e7 do
    local now = self.clock()
    while timers[1] and timers[1].due <= now do self:send(model.heap_pop(timers, due_of)) end
    if client:in_flight() == 0 then return end
    client:step(0.05)
  end
  error("plain backend: calls never completed")
end

function Plain:next_due()
  local t = self.timers[1]
  return t and math.max(0, t.due - self.clock()) or nil
end

function Plain:outstanding() return self.pending end

function Plain:stats()
  return { retries = self.retries, quota_left = self.quota, quota_refusals = self.quota_refusals }
end

function Plain.close() end

---------------------------------------------------------------- gls

-- The policy of the gls run: the high-priority quarter (attribute tier=high,
-- set when the session is tracked) goes first among equally urgent work.
M.POLICY = [[
return {
  priority = function(ctx)
    local a = ctx.session and ctx.session.attributes
    if a and a.tier == "high" then return 10 end
    return 0
  end,
}
]]

local Gls = {}
Gls.__index = Gls

--- opts: client (counting), clock, stream_group, application, random (the
-- runtime's jitter source: seeded, so that a run can be repeated),
-- status_interval (nil = the runtime's default), log (optional function(record)).
function M.gls(opts)
  local runtime = require "gameliftstreams.runtime"
  local self = setmetatable({ client = opts.client, clock = opts.clock, pending = 0, events = {} }, Gls)
  local events = self.events
  self.rt = runtime.new{
    client = opts.client, policy_source = M.POLICY, now = opts.clock, random = opts.random,
    stream_group = opts.stream_group, application = opts.application, status_interval = opts.status_interval,
    answer_latency = opts.answer_latency, rates = opts.rates,
    log = opts.log or function(r)
      local k = r.event == "decision" and ("decision:" .. tostring(r.action)) or r.event
      events[k] = (events[k] or 0) + 1
    end,
  }
  return self
end

--- Tells the runtime about a player's session (started before the storm,
-- CONNECTED); the player keeps the token.
function Gls:track(p, arn)
  p.token = self.rt:track{ arn = arn, status = "CONNECTED", connection_timeout = p.timeout,
                           owner = p.id, attributes = { tier = p.high and "high" or "normal" } }
end

function Gls:ask(p, offer, cb)
  self.pending = self.pending + 1
  self.rt:reconnect(p.token, offer, p.who, function(res, err)
    self.pending = self.pending - 1
    if res and res.token then p.token = res.token end
    cb(res and res.SignalResponse, err)
  end)
end

function Gls:pump()
  local rt = self.rt
  local idle = 0
  for _ = 1, 1e7 do
    rt:step(0)
    if rt:in_flight() == 0 then
      local t = rt:timeout()
      -- Nothing in flight: done unless something is due now (a few rounds at
      -- most; the client's own timers can say 0 with nothing to do).
      idle = idle + 1
      if not (t and t <= 0) or idle > 100 then return end
    else
      idle = 0
      rt:step(0.05)
    end
  end
  error("gls backend: the runtime never settled")
end

function Gls:next_due() return self.rt:timeout() end
function Gls:outstanding() return self.pending end
function Gls:stats() return self.rt:stats() end
function Gls:close() self.rt:close() end

return M
