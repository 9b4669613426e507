--- gameliftstreams.runtime: keeps players in their stream sessions.
--
--     local runtime = require "gameliftstreams.runtime"
--     local rt = runtime.new{ client = gls.client{ max_attempts = 1 }, policy = "policy.lua",
--                             stream_group = "sg-1AB2C3De4", application = "a-9ZY8X7Wv6" }
--     rt:start({ SignalRequest = offer }, { id = "player-1", device = "tv" }, function(res, err) end)
--     rt:answer(token, 10, function(res, err) end)          -- long poll for the start's answer
--     rt:reconnect(token, new_offer, client, function(res, err) end)
--     rt:terminate(token, client, function(ok, err) end)
--     while true do rt:step(rt:timeout() or 1) end         -- or poll rt:pollfd() in your loop
--
-- One thread, nothing blocking. The runtime knows every session it started
-- (or was told about with rt:track), which client owns it, its status and its
-- reconnection deadline; it receives requests from a front, asks the policy
-- (gameliftstreams.policy), and carries the decision out with the client's
-- non-blocking calls through the scheduler (gameliftstreams.scheduler), which
-- spends the account's budget on the most urgent work first. Each answer goes
-- to the requester whose offer it answers, and to no other.
--
-- runtime.new(opts) -> runtime | nil, err (err.code "PolicyLoad": the policy file is
-- missing or broken). Options (only `client` is required):
--   client           a gameliftstreams client; only client:start, pollfd, timeout, step
--                    are used. Give it max_attempts = 1: the runtime retries itself,
--                    within the budget and the deadline.
--   policy           path of a policy file, or policy_source = "return {...}";
--                    neither = the default policy (every hook's default below)
--   stream_group, application   default Identifier / ApplicationIdentifier for start
--   rates            calls/s per operation (default 20 each); bursts likewise (default = rate)
--   now              clock, seconds (default core.time); random (default math.random)
--   log              function(record): one plain table per decision and event
--                    (default: a JSON line on stderr). Never carries offers,
--                    answers or tokens.
--   store            default runtime.memory_store()
--   status_interval  seconds between status sweeps (default 2); full_sweep_interval
--                    between full ones (default 10 * status_interval)
--   answer_latency   seconds a call is assumed to take: known deadlines closer
--                    than this are refused with DeadlineExceeded. Unset, it is
--                    learnt: 0.5 until calls have come back, then 1.5 times the
--                    slowest of the last 32 calls plus 0.01 (at most 10)
--   settle           seconds after a connection is created before the next one
--                    for the same session is tried (default 0.25: RECONNECTING)
--   hook_instructions (1e6), hook_memory_kb (4096): budgets per hook call
--
-- Requests. Every callback runs later, from rt:step(), exactly once.
-- `client` describes the requester: { id=, device=, remote=, headers=, attributes= },
-- every field optional.
--   rt:start(req, client, cb)  req = { SignalRequest = offer, Identifier=, ApplicationIdentifier=,
--                              ConnectionTimeoutSeconds=, UserId=, priority=, ... } (other
--                              StartStreamSession members pass through)
--       cb({ token = "<64 hex>", session = "<ARN>" }) once the session is starting
--   rt:answer(token, wait_seconds, cb)
--       cb({ SignalResponse = }) once known; cb(nil, NotReady 202) when wait runs out
--   rt:reconnect(token, offer, client, cb[, opts])
--       cb({ SignalResponse =, token = "<new 64 hex>" }): the old token dies. After a
--       "restart" decision the result also has session = the new session's ARN.
--       opts.rotate = false keeps the token (the Web SDK sample's client keeps it in
--       its page URL); takeover then cannot tell the old device apart.
--   rt:terminate(token, client, cb) -> cb(true)
--   rt:track{ arn =, status =, connection_timeout =, owner =, device =, attributes =,
--             application =, priority = } -> token   (a session started elsewhere)
--   rt:reload([path]) -> true | nil, err  (the old policy stays on failure; sessions stay)
--   rt:pollfd()  rt:timeout() -> seconds | nil  rt:step([seconds]) -> callbacks run
--   rt:in_flight() -> API calls in flight   rt:close()
--   rt:stats() -> { sessions, queue (items waiting for budget or their time), calls =
--       { [op] = { ok, throttled, failed } }, budget_used (CreateStreamSessionConnection
--       calls in the last second / its rate), budget = { [op] = { rate, used } }, rates,
--       deadline_misses (DeadlineExceeded given, at arrival or from the queue), superseded,
--       refused (requests refused at arrival: authentication, policy or deadline),
--       policy_errors, latency = { p50, p99 } (seconds from a reconnect request to its
--       answer, over the last 1024), answer_latency (the margin in force, set or learnt) }
-- Errors (cb(nil, err), err = { code, message, status, retryable }): NotFound 404
-- (unknown or dead token), Forbidden 403 (authenticate or the policy refused; message
-- = reason), Superseded 409 (a newer reconnect for the session came), TakenOver 409
-- (another device took the session over; also what a taken-over token gets
-- afterwards), DeadlineExceeded 410 (the window closes before a call can be made: at
-- arrival, or as soon as the queue cannot meet every known window and this is its
-- least valuable work; see gameliftstreams.scheduler), SessionEnded 410, Withheld 403
-- (on_answer kept the answer from the requester), BadRequest 400, NotReady 202,
-- Cancelled (rt:close), or the API's own error.
--
-- Policy hooks and their defaults (see gameliftstreams.policy for the sandbox):
--   authenticate(request)  request = { kind = "start"|"reconnect"|"terminate",
--                          client =, session = (not for start) }      default (no hook) true
--   on_start(ctx)          ctx = { request =, requester =, now =, queue = }   default start
--   on_reconnect(ctx)      ctx = { session = { arn, status, owner, device, deadline (learnt,
--                          or nil), reconnects, priority, attributes }, requester =, now =,
--                          deadline = (learnt, or its lower bound), deadline_known =,
--                          queue = { depth, rate, wait = depth / rate, ahead (items that
--                          would go first), wait_ahead } }   default: reconnect if the requester
--                          is the owner (same client id, or the session has none), else
--                          reject "not the session's owner"
--   priority(ctx)          same ctx        default: the start request's priority (start),
--                          the session's (reconnect: from start or track) or 0
--                          (higher goes first whenever no known deadline suffers for it,
--                          and is the last refused when the budget runs short)
--   on_status(session, old, new)                        default nothing
--   on_retry(ctx, err, attempt)  ctx = { operation, session, requester, now, deadline }
--                          default: ThrottlingException and a ConflictException of a
--                          session in transition (ACTIVATING, RECONNECTING, CONNECTED) up
--                          to 10 attempts, 5xx and transport errors (any other error the
--                          client marks retryable, such as a reply cut short or not
--                          JSON: the ClientToken makes the retry safe) up to 3, with full
--                          jitter backoff (0.2 s * 2^n, at most 20 s), and only while a
--                          known deadline still allows the retry
--   on_answer(ctx, answer) default { deliver = "requester" }; "owner" keeps the answer for
--                          rt:answer with the owner's token (no rotation); "drop" discards it
-- A hook that fails, runs out of budget or returns something invalid is logged
-- (event "policy_error", with the traceback) and its default applies; one that
-- returns nothing leaves the decision to the default. The exception is
-- authenticate, which fails closed: a failing hook, or anything but true, refuses.
--
-- Status is learnt by sweeps: status_interval seconds after the last one ended,
-- ListStreamSessions{Identifier, Status, MaxResults = 100} page after page, for each
-- stream group, within the ListStreamSessions budget; never one call per session.
-- Each sweep lists PENDING_CLIENT_RECONNECTION (and ACTIVE while a started session
-- waits for its answer); every full_sweep_interval (default 10 status intervals) a full
-- sweep lists every live status. A session that entered PENDING_CLIENT_RECONNECTION
-- gets deadline = LastUpdatedAt + ConnectionTimeoutSeconds; before that is learnt, a
-- reconnect is ordered by a lower bound (the later of when the session was last seen
-- in another status and when the last PENDING pass not listing it began) and never
-- refused on it. A session missing from two full sweeps in a row (or that the API
-- says is gone) has ended: its tokens die. The only per-session read is one
-- GetStreamSession when a started session is ACTIVE, for its answer.
local core = require "gameliftstreams.core"
local gls = require "gameliftstreams"
local cjson = require "cjson"
local policy_mod = require "gameliftstreams.policy"
local scheduler = require "gameliftstreams.scheduler"
local store_mod = require "gameliftstreams.store"

local M = { _NAME = "gameliftstreams.runtime" }
M.memory_store = store_mod.memory

local CSSC = "CreateStreamSessionConnection"
local START = "StartStreamSession"
local LIST = "ListStreamSessions"
local TERMINATE = "TerminateStreamSession"
local GET = "GetStreamSession"
local PENDING = "PENDING_CLIENT_RECONNECTION"
local SWEEP_STATUSES = { PENDING, "ACTIVE", "CONNECTED", "RECONNECTING", "ACTIVATING", "TERMINATING" }
local GONE = { TERMINATING = true, TERMINATED = true, ERROR = true }
local TRANSIENT = { ACTIVATING = true, RECONNECTING = true, CONNECTED = true }
local HUGE = math.huge
local LATENCIES = 1024        -- answer latencies kept for p50/p99
local CALL_TIMES = 32         -- call durations the learnt answer_latency follows
local NOTICES = 64            -- drop-to-ask delays deadline_guess follows

local json = cjson.new()
json.encode_sparse_array(false)

local function new_error(code, status, message, retryable)
  return gls.new_error{ code = code, status = status, message = message, retryable = retryable }
end

local function arg_error(fn, n, what, v)
  error(("bad argument #%d to '%s' (%s expected, got %s)"):format(n, fn, what, type(v)), 3)
end

-- A shallow copy of a table of plain values (client attributes, headers).
local function flat(t)
  if type(t) ~= "table" then return nil end
  local out = {}
  for k, v in pairs(t) do
    local tv = type(v)
    if tv == "string" or tv == "number" or tv == "boolean" then out[k] = v end
  end
  return out
end

local function requester(client, fn, n)
  if client == nil then return {} end
  if type(client) ~= "table" then arg_error(fn, n, "table or nil", client) end
  return { id = client.id, device = client.device, remote = client.remote,
           headers = flat(client.headers), attributes = flat(client.attributes) }
end

local function group_of(arn)
  return type(arn) == "string" and arn:match(":streamsession/([^/]+)/") or nil
end

-- The status a ConflictException names ("... is in RECONNECTING status ...").
local function conflict_status(err)
  return err.code == "ConflictException" and type(err.message) == "string"
    and err.message:match("is in (%u[%u_]*) status") or nil
end

local function session_gone(err)
  if err.code == "ResourceNotFoundException" then return true end
  local st = conflict_status(err)
  return st ~= nil and GONE[st] == true
end

local function default_log(record)
  io.stderr:write(json.encode(record), "\n")
end

---------------------------------------------------------------- construction

local Runtime = {}
Runtime.__index = Runtime
Runtime.__name = "gameliftstreams.runtime"
Runtime.__close = function(self) self:close() end

local function check_number(opts, k, lo)
  local v = opts[k]
  if v ~= nil and (type(v) ~= "number" or v ~= v or v < lo or v == HUGE) then
    error(("bad option '%s' to 'new' (number >= %s expected)"):format(k, lo), 3)
  end
end

function M.new(opts)
  if type(opts) ~= "table" then arg_error("new", 1, "table", opts) end
  local client = opts.client
  if type(client) ~= "table" and type(client) ~= "userdata" then
    error("bad option 'client' to 'new' (a gameliftstreams client expected)", 2)
  end
  for _, k in ipairs({ "now", "log", "random" }) do
    if opts[k] ~= nil and type(opts[k]) ~= "function" then
      error(("bad option '%s' to 'new' (function expected)"):format(k), 2)
    end
  end
  for _, k in ipairs({ "status_interval", "full_sweep_interval", "answer_latency", "settle" }) do
    check_number(opts, k, 0)
  end
  check_number(opts, "hook_instructions", 1)
  check_number(opts, "hook_memory_kb", 1)
  if opts.policy ~= nil and type(opts.policy) ~= "string" then
    error("bad option 'policy' to 'new' (path expected)", 2)
  end
  if opts.policy_source ~= nil and type(opts.policy_source) ~= "string" then
    error("bad option 'policy_source' to 'new' (string expected)", 2)
  end
  local store = opts.store or store_mod.memory()
  local self = setmetatable({
    client = client, store = store,
    now = opts.now or core.time, log = opts.log or default_log, random = opts.random or math.random,
    stream_group = opts.stream_group, application = opts.application,
    status_interval = opts.status_interval or 2, latency = opts.answer_latency or 0.5,
    settle = opts.settle or 0.25,
    hook_instructions = opts.hook_instructions or 1e6, hook_memory_kb = opts.hook_memory_kb or 4096,
    policy_path = opts.policy, policy_source = opts.policy_source,
    live = {}, groups = {}, ready = {}, done = {}, inflight = {},
    timers = {}, tseq = 0, sched_due = nil,
    sweep = nil, sweep_timer = nil, gen = 0, next_full = -HUGE, pending_pass = nil, awaiting = {},
    full_sweep_interval = opts.full_sweep_interval or 10 * (opts.status_interval or 2),
    counts = { superseded = 0, refused = 0, deadline_misses = 0, policy_errors = 0 },
    calls = {}, recent = {}, lat = {}, nlat = 0, closed = false,
    learn_latency = opts.answer_latency == nil, took = { n = 0 }, notices = { n = 0 },
  }, Runtime)
  self.sched = scheduler.new{ store = store, rates = opts.rates, bursts = opts.bursts, latency = self.latency }
  if opts.policy or opts.policy_source then
    local p, err = self:_load_policy(opts.policy, opts.policy_source)
    if not p then return nil, new_error("PolicyLoad", nil, err.message) end
    self.policy = p
    -- A policy that ranks requests keeps each burst for the ranked work
    -- from the first call on (the scheduler does so anyway once it has
    -- queued work above the default priority).
    self.sched.keep_burst = p:has("priority")
  end
  return self
end

function Runtime:_load_policy(path, source)
  return policy_mod.load{ path = path, source = source, name = source and "=policy" or nil,
    instructions = self.hook_instructions, memory_kb = self.hook_memory_kb,
    now = self.now, random = self.random }
end

---------------------------------------------------------------- small machinery

function Runtime:emit(record)
  record.time = self.now()
  local ok, e = pcall(self.log, record)
  if not ok then io.stderr:write("gls runtime: log function failed: ", tostring(e), "\n") end
end

-- cb(a, b) runs from the next step().
function Runtime:deliver(cb, a, b)
  if cb then self.ready[#self.ready + 1] = { cb, a, b } end
end

-- Timers: a binary heap of { due, seq, fn, arg }.
local function tless(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end

function Runtime:after(delay, fn, arg)
  local h = self.timers
  self.tseq = self.tseq + 1
  local e = { self.now() + delay, self.tseq, fn, arg }
  local i = #h + 1
  h[i] = e
  while i > 1 do
    local p = i // 2
    if not tless(h[i], h[p]) then break end
    h[i], h[p] = h[p], h[i]
    i = p
  end
  return e
end

local function tpop(h)
  local top = h[1]
  local n = #h
  h[1] = h[n]
  h[n] = nil
  n = n - 1
  local i = 1
  while true do
    local c = 2 * i
    if c > n then break end
    if c < n and tless(h[c + 1], h[c]) then c = c + 1 end
    if not tless(h[c], h[i]) then break end
    h[i], h[c] = h[c], h[i]
    i = c
  end
  return top
end

function Runtime:save(rec) self.store:put_session(rec.arn, rec) end

function Runtime:live_of(arn)
  local l = self.live[arn]
  if not l then
    l = {}
    self.live[arn] = l
  end
  return l
end

function Runtime:forget_live(arn)
  local l = self.live[arn]
  if l and not l.work and not l.next and not (l.waiters and l.waiters[1]) then self.live[arn] = nil end
end

-- A new token for rec; the previous one dies. Returns the token (never stored).
function Runtime:mint(rec)
  local token = core.random_hex(32)
  local h = core.sha256_hex(token)
  if rec.token then self.store:drop_token(rec.token) end
  rec.token = h
  self.store:put_token(h, rec.arn)
  return token
end

-- token -> rec | nil, err
function Runtime:lookup(token)
  local h = core.sha256_hex(token)
  local arn = self.store:token(h)
  local rec = arn and self.store:session(arn)
  if rec then
    if rec.token and core.equal_ct(rec.token, h) then return rec end
    if rec.tomb and core.equal_ct(rec.tomb, h) then
      return nil, new_error("TakenOver", 409, "another device took this stream session over")
    end
  end
  return nil, new_error("NotFound", 404, "no stream session for this token")
end

-- What the policy sees of a session (a fresh copy each time).
local function view(rec)
  return { arn = rec.arn, status = rec.status, owner = rec.owner, device = rec.device,
           deadline = rec.deadline, reconnects = rec.reconnects, priority = rec.priority,
           attributes = flat(rec.attributes) }
end

local function is_owner(rec, who)
  return rec.owner == nil or rec.owner == who.id
end

-- What a policy sees of op's queue: depth, rate, wait (depth / rate) and, given
-- a deadline and priority, ahead (items that would go first) and wait_ahead.
function Runtime:queue_info(op, deadline, priority)
  local depth, rate = self.sched:depth(op), self.sched:rate(op)
  local q = { depth = depth, rate = rate, wait = depth / rate }
  if deadline then
    q.ahead = self.sched:ahead(op, deadline, priority)
    q.wait_ahead = q.ahead / rate
  end
  return q
end

-- Calls policy hook `name` -> true, results | nil (no such hook) | false (it failed:
-- logged). A hook returning nothing leaves the decision to the default, silently.
function Runtime:hook(name, ...)
  local p = self.policy
  if not p or not p:has(name) then return nil end
  local res = table.pack(p:call(name, ...))
  local logs = p:take_logs()
  if logs then
    for _, r in ipairs(logs) do self:emit({ event = "policy_log", hook = name, data = r }) end
  end
  if not res[1] then
    local e = res[2]
    self.counts.policy_errors = self.counts.policy_errors + 1
    self:emit({ event = "policy_error", hook = name, code = e.code, error = e.message, traceback = e.traceback })
    return false
  end
  return true, table.unpack(res, 2, res.n)
end

function Runtime:policy_invalid(name, what)
  self.counts.policy_errors = self.counts.policy_errors + 1
  self:emit({ event = "policy_error", hook = name, code = "PolicyInvalidDecision",
              error = "invalid decision: " .. what })
end

-- No authenticate hook: everyone is. A hook that fails (or returns anything but
-- true) refuses: authentication fails closed, or a request crafted to crash the
-- hook would get through.
function Runtime:authenticate(request)
  local ok, allowed, reason = self:hook("authenticate", request)
  if ok == nil then return true end
  if ok == false then return false, "authentication failed (policy error)" end
  if allowed == true then return true end
  if allowed ~= false and allowed ~= nil then
    self:policy_invalid("authenticate", "true or false, reason expected")
  end
  return false, type(reason) == "string" and reason or "not authenticated"
end

function Runtime:priority_of(ctx, fallback)
  local ok, p = self:hook("priority", ctx)
  if ok and p ~= nil then
    if type(p) == "number" and p == p and p > -HUGE and p < HUGE then return p end
    self:policy_invalid("priority", "a finite number expected")
  end
  return fallback
end

function Runtime:on_status(rec, old, new)
  if self.policy and self.policy:has("on_status") then self:hook("on_status", view(rec), old, new) end
  self:emit({ event = "status", session = rec.arn, old = old, new = new, deadline = rec.deadline })
end

function Runtime:check_open(fn)
  if self.closed then error(("'%s' on a closed runtime"):format(fn), 3) end
end

---------------------------------------------------------------- dispatching calls

function Runtime:dispatch(item)
  local rec = item.arn and self.store:session(item.arn)
  local input
  local k = item.kind or "reconnect"
  if k == "reconnect" then
    if not rec then
      local l = self.live[item.arn]
      if l and l.work == item then l.work = nil end
      return self:deliver(item.cb, nil, new_error("SessionEnded", 410, "the stream session ended"))
    end
    -- One ClientToken per offer, made when first sent: a retry of the same offer
    -- is idempotent, and a queued item does not carry it.
    item.ctoken = item.ctoken or core.uuid4()
    input = { Identifier = rec.group, StreamSessionIdentifier = rec.arn, SignalRequest = item.offer,
              ClientToken = item.ctoken }
  elseif k == "start" or k == "restart_start" then
    -- Likewise one ClientToken per start, kept across retries: a start retried
    -- after a reply that was lost (late, cut short) cannot make a second session.
    item.input.ClientToken = item.input.ClientToken or core.uuid4()
    input = item.input
  elseif k == "list" then
    input = { Identifier = item.group, Status = item.status, MaxResults = 100, NextToken = item.next_token }
  else -- terminate, restart_terminate, fetch: the session is known by ARN and group
    input = { Identifier = item.group, StreamSessionIdentifier = item.arn }
  end
  item.inflight = true
  item.sent = self.now()
  self.inflight[item] = true
  local recent = self.recent[item.op]
  if not recent then
    recent = { first = 1, last = 0 }
    self.recent[item.op] = recent
  end
  recent.last = recent.last + 1
  recent[recent.last] = item.sent
  while recent[recent.first] <= item.sent - 1 do
    recent[recent.first] = nil
    recent.first = recent.first + 1
  end
  local ok, e = pcall(self.client.start, self.client, item.op, input, function(out, err)
    self.done[#self.done + 1] = { item, out, err }
  end)
  if not ok then
    self.done[#self.done + 1] = { item, nil, new_error("ClientError", nil, tostring(e)) }
  end
end

function Runtime:refuse(item)
  self.counts.deadline_misses = self.counts.deadline_misses + 1
  self:emit({ event = "refused", request = item.kind or "reconnect", session = item.arn, code = "DeadlineExceeded",
              reason = "the reconnection window closed while the request waited for budget" })
  local l = item.arn and self.live[item.arn]
  if l and l.work == item then
    l.work = nil
    self:forget_live(item.arn)
  end
  self:deliver(item.cb, nil, new_error("DeadlineExceeded", 410,
    "the reconnection window closes before a connection can be made"))
end

local HANDLERS = {}

function Runtime:complete(item, out, err)
  item.inflight = false
  self.inflight[item] = nil
  if self.closed then return end
  if self.learn_latency and item.sent then self:call_took(self.now() - item.sent) end
  local c = self.calls[item.op]
  if not c then
    c = { ok = 0, throttled = 0, failed = 0 }
    self.calls[item.op] = c
  end
  if err then
    if err.code == "ThrottlingException" then
      c.throttled = c.throttled + 1
      self.sched:throttled(item.op, self.now())
      self:emit({ event = "throttled", operation = item.op, rate = self.sched:rate(item.op) })
    else
      c.failed = c.failed + 1
    end
  else
    c.ok = c.ok + 1
  end
  HANDLERS[item.kind or "reconnect"](self, item, out, err)
end

-- Decides whether to retry item after err; re-queues it and returns true if so.
function Runtime:retry(item, err, rec)
  local now = self.now()
  item.attempt = (item.attempt or 1)
  local attempt = item.attempt
  local ctx = { operation = item.op, session = rec and view(rec), requester = item.who, now = now,
                deadline = item.known and item.deadline or nil }
  local perr = { code = err.code, message = err.message, status = err.status, retryable = err.retryable }
  local retry, delay
  local ok, d = self:hook("on_retry", ctx, perr, attempt)
  if ok and d ~= nil then
    if type(d) == "table" and (d.delay == nil or (type(d.delay) == "number" and d.delay >= 0 and d.delay <= 3600)) then
      retry, delay = d.retry == true, d.delay or 0
    else
      self:policy_invalid("on_retry", "{ retry = bool, delay = seconds } expected")
    end
  end
  if retry == nil then
    local max
    if err.code == "ThrottlingException" or TRANSIENT[conflict_status(err) or ""] then
      max = 10
    elseif err.status == nil or err.status >= 500 or err.retryable then
      -- a reply cut short or unreadable has a status (200) and is transient too
      max = 3
    end
    retry = max ~= nil and attempt < max
    delay = self.random() * math.min(20, 0.2 * 2 ^ (attempt - 1))
    if conflict_status(err) then delay = math.max(delay, self.settle) end
  end
  if retry and item.known and now + delay + self.latency > item.deadline then retry = false end
  self:emit({ event = "retry", operation = item.op, session = item.arn, code = err.code, attempt = attempt,
              retry = retry, delay = retry and delay or nil })
  if not retry then return false end
  item.attempt = attempt + 1
  item.not_before = now + delay
  self.sched:push(item, now)
  return true
end

---------------------------------------------------------------- sessions ending

function Runtime:end_session(rec, status, reason)
  local arn = rec.arn
  local old = rec.status
  self.store:drop_token(rec.token)
  if rec.tomb then self.store:drop_token(rec.tomb) end
  self.store:drop_session(arn)
  self.awaiting[arn] = nil
  local g = rec.group
  if g and self.groups[g] then
    self.groups[g] = self.groups[g] - 1
    if self.groups[g] <= 0 then self.groups[g] = nil end
  end
  rec.status = status
  local ended = new_error("SessionEnded", 410, "the stream session ended")
  local l = self.live[arn]
  if l then
    self.live[arn] = nil
    for _, it in pairs({ l.work, l.next }) do
      if it.inflight then
        it.superseded = true
      else
        self.sched:remove(it)
      end
      self:deliver(it.cb, nil, ended)
      it.cb = nil
    end
    for _, w in ipairs(l.waiters or {}) do
      if not w.done then
        w.done = true
        self:deliver(w.cb, nil, ended)
      end
    end
  end
  self:on_status(rec, old, status)
  self:emit({ event = "ended", session = arn, status = status, reason = reason })
end

---------------------------------------------------------------- start

local function check_start(self, req, cb)
  if type(req) ~= "table" then arg_error("start", 1, "table", req) end
  if type(req.SignalRequest) ~= "string" then
    error("bad argument #1 to 'start' (SignalRequest string expected)", 3)
  end
  if type(cb) ~= "function" then arg_error("start", 3, "function", cb) end
  if req.priority ~= nil and type(req.priority) ~= "number" then
    error("bad argument #1 to 'start' (priority must be a number)", 3)
  end
  self:check_open("start")
end

function Runtime:start(req, client, cb)
  check_start(self, req, cb)
  local who = requester(client, "start", 2)
  local now = self.now()
  local input = {}
  for k, v in pairs(req) do
    if k ~= "priority" then input[k] = v end
  end
  input.Identifier = input.Identifier or self.stream_group
  input.ApplicationIdentifier = input.ApplicationIdentifier or self.application
  input.Protocol = input.Protocol or "WebRTC"
  if not input.Identifier or not input.ApplicationIdentifier then
    return self:deliver(cb, nil, new_error("BadRequest", 400,
      "no stream group or application: pass Identifier and ApplicationIdentifier, or set the runtime's defaults"))
  end
  local allowed, why = self:authenticate({ kind = "start", client = who })
  if not allowed then
    self.counts.refused = self.counts.refused + 1
    self:emit({ event = "decision", request = "start", action = "reject", reason = why, client = who.id })
    return self:deliver(cb, nil, new_error("Forbidden", 403, why))
  end
  local request = { Identifier = input.Identifier, ApplicationIdentifier = input.ApplicationIdentifier,
                    ConnectionTimeoutSeconds = input.ConnectionTimeoutSeconds, UserId = input.UserId,
                    priority = req.priority }
  local ctx = { request = request, requester = who, now = now, queue = self:queue_info(START) }
  local action, reason = "start", nil
  local ok, d = self:hook("on_start", ctx)
  if ok and d ~= nil then
    if type(d) == "table" and (d.action == "start" or d.action == "reject") then
      action, reason = d.action, d.reason
    else
      self:policy_invalid("on_start", "{ action = 'start' | 'reject' } expected")
    end
  end
  local prio = self:priority_of(ctx, req.priority or 0)
  self:emit({ event = "decision", request = "start", action = action, reason = reason, client = who.id,
              device = who.device, priority = prio })
  if action == "reject" then
    self.counts.refused = self.counts.refused + 1
    return self:deliver(cb, nil, new_error("Forbidden", 403,
      type(reason) == "string" and reason or "refused by policy"))
  end
  self.sched:push({ op = START, kind = "start", cb = cb, who = who, input = input, priority = prio,
                    t0 = now }, now)
end

-- A session the runtime now knows (started or restarted): its record and token.
function Runtime:new_session(out, item)
  local input = item.input
  local arn = out.Arn
  local rec = {
    arn = arn, group = group_of(arn) or input.Identifier, app = input.ApplicationIdentifier,
    status = out.Status or "ACTIVATING", owner = item.who.id, device = item.who.device,
    attributes = item.who.attributes, timeout = input.ConnectionTimeoutSeconds or 120, user = input.UserId,
    reconnects = 0, priority = item.priority, changed = self.now(), seen = self.now(), fetch = true,
  }
  self.awaiting[arn] = true
  local token = self:mint(rec)
  self:save(rec)
  self.groups[rec.group] = (self.groups[rec.group] or 0) + 1
  self:ensure_sweep()
  return rec, token
end

function HANDLERS.start(self, item, out, err)
  if out and type(out.Arn) == "string" then
    local rec, token = self:new_session(out, item)
    self:emit({ event = "started", session = rec.arn, client = item.who.id })
    return self:deliver(item.cb, { token = token, session = rec.arn })
  end
  err = err or new_error("MalformedResponse", nil, "StartStreamSession returned no Arn")
  if self:retry(item, err, nil) then return end
  self:deliver(item.cb, nil, err)
end

function HANDLERS.restart_start(self, item, out, err)
  if out and type(out.Arn) == "string" then
    local rec, token = self:new_session(out, item)
    rec.reconnects = item.reconnects or 0
    self:save(rec)
    self:emit({ event = "restarted", session = rec.arn, old_session = item.old_arn, client = item.who.id })
    local l = self:live_of(rec.arn)
    l.waiters = l.waiters or {}
    l.waiters[#l.waiters + 1] = { cb = item.cb, mode = "restart", token = token, t0 = item.t0 }
    return
  end
  err = err or new_error("MalformedResponse", nil, "StartStreamSession returned no Arn")
  if self:retry(item, err, nil) then return end
  self:deliver(item.cb, nil, err)
end

function HANDLERS.restart_terminate(self, item, _, err)
  if err and not session_gone(err) and self:retry(item, err, nil) then return end
end

---------------------------------------------------------------- answer

function Runtime:answer(token, wait, cb)
  if type(token) ~= "string" then arg_error("answer", 1, "string", token) end
  if wait ~= nil and (type(wait) ~= "number" or wait ~= wait or wait < 0) then
    error("bad argument #2 to 'answer' (seconds >= 0 expected)", 2)
  end
  if type(cb) ~= "function" then arg_error("answer", 3, "function", cb) end
  self:check_open("answer")
  local rec, err = self:lookup(token)
  if not rec then return self:deliver(cb, nil, err) end
  if rec.answer then return self:deliver(cb, { SignalResponse = rec.answer }) end
  if not wait or wait <= 0 or wait == HUGE then
    return self:deliver(cb, nil, new_error("NotReady", 202, "the stream session is not ready yet"))
  end
  local l = self:live_of(rec.arn)
  l.waiters = l.waiters or {}
  local w = { cb = cb, mode = "answer", hash = rec.token, arn = rec.arn }
  l.waiters[#l.waiters + 1] = w
  self:after(wait, Runtime.expire_waiter, w)
  -- A session told about (track) is fetched only when someone waits for it.
  if not rec.fetch then
    rec.fetch = true
    self.awaiting[rec.arn] = true
    self:save(rec)
    if rec.status ~= "ACTIVATING" then self:fetch(rec) end
  end
end

function Runtime:expire_waiter(w)
  if w.done then return end
  w.done = true
  local l = self.live[w.arn]
  if l and l.waiters then
    for i, x in ipairs(l.waiters) do
      if x == w then
        table.remove(l.waiters, i)
        break
      end
    end
    self:forget_live(w.arn)
  end
  self:deliver(w.cb, nil, new_error("NotReady", 202, "the stream session is not ready yet"))
end

-- One GetStreamSession for the answer of a session that is (or may be) ACTIVE.
function Runtime:fetch(rec)
  if rec.fetching then return end
  rec.fetching = true
  self.sched:push({ op = GET, kind = "fetch", arn = rec.arn, group = rec.group, priority = rec.priority or 0,
                    deadline = (rec.seen or self.now()) + rec.timeout }, self.now())
end

-- The answer of a started session is known: wake whoever waits for it.
function Runtime:answered(rec)
  local l = self.live[rec.arn]
  if not l or not l.waiters then return end
  local waiters = l.waiters
  l.waiters = nil
  for _, w in ipairs(waiters) do
    if not w.done then
      w.done = true
      if w.mode == "restart" then
        self:record_latency(w.t0)
        self:deliver(w.cb, { SignalResponse = rec.answer, token = w.token, session = rec.arn })
        w.token = nil
      elseif core.equal_ct(w.hash, rec.token) then
        self:deliver(w.cb, { SignalResponse = rec.answer })
      else
        self:deliver(w.cb, nil, new_error("NotFound", 404, "no stream session for this token"))
      end
    end
  end
  self:forget_live(rec.arn)
end

function HANDLERS.fetch(self, item, out, err)
  local rec = self.store:session(item.arn)
  if not rec then return end
  if out then
    rec.fetching = nil
    local answer = out.SignalResponse
    if type(answer) == "string" and answer ~= "" then
      rec.answer = answer
      rec.fetch = nil
      self.awaiting[rec.arn] = nil
      self:save(rec)
      self:answered(rec)
    end
    if type(out.Status) == "string" then self:learn(rec, out.Status, out.LastUpdatedAt, item.sent) end
    return
  end
  if session_gone(err) then return self:end_session(rec, "TERMINATED", err.code) end
  if self:retry(item, err, rec) then return end
  rec.fetching = nil
  self:save(rec)
end

---------------------------------------------------------------- reconnect

local RECONNECT_ACTIONS = { reconnect = true, later = true, reject = true, takeover = true, restart = true }

function Runtime:reconnect(token, offer, client, cb, opts)
  if type(token) ~= "string" then arg_error("reconnect", 1, "string", token) end
  if type(offer) ~= "string" then arg_error("reconnect", 2, "string", offer) end
  if type(cb) ~= "function" then arg_error("reconnect", 4, "function", cb) end
  if opts ~= nil and type(opts) ~= "table" then arg_error("reconnect", 5, "table or nil", opts) end
  self:check_open("reconnect")
  local who = requester(client, "reconnect", 3)
  local now = self.now()
  local rec, err = self:lookup(token)
  if not rec then
    self:emit({ event = "decision", request = "reconnect", action = "reject", code = err.code, client = who.id })
    return self:deliver(cb, nil, err)
  end
  local arn = rec.arn
  local allowed, why = self:authenticate({ kind = "reconnect", client = who, session = view(rec) })
  if not allowed then
    self.counts.refused = self.counts.refused + 1
    self:emit({ event = "decision", request = "reconnect", session = arn, action = "reject", reason = why,
                client = who.id })
    return self:deliver(cb, nil, new_error("Forbidden", 403, why))
  end
  local known = rec.deadline ~= nil
  local deadline = rec.deadline or self:deadline_guess(rec, now)
  if known and deadline < now + self.latency then
    self.counts.refused = self.counts.refused + 1
    self.counts.deadline_misses = self.counts.deadline_misses + 1
    self:emit({ event = "decision", request = "reconnect", session = arn, action = "refuse",
                code = "DeadlineExceeded", client = who.id, deadline_in = deadline - now })
    return self:deliver(cb, nil, new_error("DeadlineExceeded", 410,
      "the reconnection window closes before a connection can be made"))
  end
  local ctx = { session = view(rec), requester = who, now = now,
                queue = self:queue_info(CSSC, deadline, rec.priority or 0),
                request = { kind = "reconnect" }, deadline = deadline, deadline_known = known }
  local d
  local ok, pd = self:hook("on_reconnect", ctx)
  if ok and pd ~= nil then
    if type(pd) == "table" and RECONNECT_ACTIONS[pd.action]
        and (pd.action ~= "later" or (type(pd.delay) == "number" and pd.delay >= 0 and pd.delay <= 3600)) then
      d = pd
    else
      self:policy_invalid("on_reconnect", "{ action = reconnect|later|reject|takeover|restart } expected")
    end
  end
  if not d then
    d = is_owner(rec, who) and { action = "reconnect" } or { action = "reject", reason = "not the session's owner" }
  end
  local prio = self:priority_of(ctx, rec.priority or 0)
  self:emit({ event = "decision", request = "reconnect", session = arn, action = d.action,
              reason = d.reason, delay = d.delay, client = who.id, device = who.device, priority = prio,
              deadline_in = deadline - now, deadline_known = known })
  if d.action == "reject" then
    self.counts.refused = self.counts.refused + 1
    return self:deliver(cb, nil, new_error("Forbidden", 403,
      type(d.reason) == "string" and d.reason or "refused by policy"))
  end
  if d.action == "restart" then return self:restart(rec, offer, who, cb, prio) end
  -- A reconnect item has no `kind` (the default): with the scheduler's fields it
  -- stays at 16, the size of a small table's hash part. An unlearnt deadline
  -- has a latest too: the client asks after its stream dropped, so the window
  -- closes within timeout of now; the scheduler moves the item there rather
  -- than refuse more valuable work for it.
  local item = { op = CSSC, arn = arn, offer = offer, cb = cb, who = who, priority = prio,
                 deadline = deadline, known = known, t0 = now,
                 latest = not known and rec.timeout and now + rec.timeout or nil,
                 keep = opts and opts.rotate == false and token or nil }
  if d.action == "later" then item.not_before = now + d.delay end
  local l = self:live_of(arn)
  local told = new_error("Superseded", 409, "a newer reconnect request for this stream session came")
  if d.action == "takeover" then
    item.takeover = true
    told = new_error("TakenOver", 409, "another device took this stream session over")
    self:emit({ event = "takeover", session = arn, from_client = rec.owner, from_device = rec.device,
                to_client = who.id, to_device = who.device })
    rec.owner = who.id ~= nil and who.id or rec.owner
    rec.device = who.device
    rec.attributes = who.attributes or rec.attributes
    self:save(rec)
    for _, w in ipairs(l.waiters or {}) do
      if not w.done and w.mode == "answer" then
        w.done = true
        self:deliver(w.cb, nil, told)
      end
    end
    l.waiters = nil
  end
  local old = l.work
  if old then
    self.counts.superseded = self.counts.superseded + 1
    self:emit({ event = "superseded", session = arn, by_client = who.id, by_device = who.device,
                in_flight = old.inflight or false })
    self:deliver(old.cb, nil, told)
    old.cb = nil
    if old.inflight then
      -- Its answer, when it comes, goes to no one; the new offer goes next.
      old.superseded = true
      if l.next then
        self:deliver(l.next.cb, nil, told)
        self.counts.superseded = self.counts.superseded + 1
      end
      l.next = item
      return
    end
    self.sched:remove(old)
  end
  l.work = item
  self:queue_reconnect(rec, item, now)
end

function Runtime:queue_reconnect(rec, item, now)
  if rec.settle_until and rec.settle_until > now then
    item.not_before = math.max(item.not_before or 0, rec.settle_until)
  end
  self.sched:push(item, now)
end

function Runtime:restart(rec, offer, who, cb, prio)
  local now = self.now()
  local app = rec.app or self.application
  if not app then
    return self:deliver(cb, nil, new_error("BadRequest", 400,
      "cannot restart: the session's application is unknown (set the runtime's application)"))
  end
  local input = { Identifier = rec.group, ApplicationIdentifier = app, SignalRequest = offer, Protocol = "WebRTC",
                  ConnectionTimeoutSeconds = rec.timeout ~= 120 and rec.timeout or nil, UserId = rec.user }
  local reconnects = (rec.reconnects or 0) + 1
  self:end_session(rec, "TERMINATING", "restart")
  self.sched:push({ op = TERMINATE, kind = "restart_terminate", arn = rec.arn, group = rec.group, priority = prio },
    now)
  self.sched:push({ op = START, kind = "restart_start", cb = cb, who = who, input = input, priority = prio,
                    old_arn = rec.arn, reconnects = reconnects, t0 = now }, now)
end

-- A call came back after took seconds: the margin kept before deadlines
-- follows the slowest of the last CALL_TIMES calls.
function Runtime:call_took(took)
  local ring = self.took
  ring.n = ring.n + 1
  ring[(ring.n - 1) % CALL_TIMES + 1] = took
  local worst = 0
  for i = 1, math.min(ring.n, CALL_TIMES) do
    if ring[i] > worst then worst = ring[i] end
  end
  local margin = math.min(10, 1.5 * worst + 0.01)
  self.latency = margin
  self.sched.latency = margin
end

function Runtime:record_latency(t0)
  if not t0 then return end
  self.nlat = self.nlat + 1
  self.lat[(self.nlat - 1) % LATENCIES + 1] = self.now() - t0
end

function Runtime:learn_local(rec, status)
  local old = rec.status
  rec.status = status
  rec.changed = self.now()
  if old ~= status then self:on_status(rec, old, status) end
end

function HANDLERS.reconnect(self, item, out, err)
  local arn = item.arn
  local rec = self.store:session(arn)
  local l = self.live[arn]
  local now = self.now()
  if item.superseded then
    if out and rec then
      rec.deadline, rec.settle_until, rec.seen = nil, now + self.settle, now
      self:learn_local(rec, "RECONNECTING")
      self:save(rec)
    end
    if l and l.work == item then
      l.work = l.next
      l.next = nil
      if l.work and rec then
        self:queue_reconnect(rec, l.work, now)
      elseif l.work then
        self:deliver(l.work.cb, nil, new_error("SessionEnded", 410, "the stream session ended"))
        l.work = nil
      end
      self:forget_live(arn)
    end
    return
  end
  if not rec then
    return self:deliver(item.cb, nil, new_error("SessionEnded", 410, "the stream session ended"))
  end
  if err then
    if session_gone(err) then
      self:end_session(rec, "TERMINATED", err.code)
      return self:deliver(item.cb, nil, new_error("SessionEnded", 410, "the stream session ended"))
    end
    if self:retry(item, err, rec) then return end
    if l and l.work == item then
      l.work = nil
      self:forget_live(arn)
    end
    return self:deliver(item.cb, nil, err)
  end
  if l and l.work == item then
    l.work = nil
    self:forget_live(arn)
  end
  local answer = out.SignalResponse
  local ctx = { session = view(rec), requester = item.who, now = now }
  local deliver = "requester"
  local ok, d = self:hook("on_answer", ctx, answer)
  if ok and d ~= nil then
    if type(d) == "table" and (d.deliver == "requester" or d.deliver == "owner" or d.deliver == "drop") then
      deliver = d.deliver
    else
      self:policy_invalid("on_answer", "{ deliver = 'requester' | 'owner' | 'drop' } expected")
    end
  end
  rec.deadline, rec.settle_until, rec.seen = nil, now + self.settle, now
  rec.reconnects = (rec.reconnects or 0) + 1
  self:learn_local(rec, "RECONNECTING")
  self:emit({ event = "answer", session = arn, deliver = deliver, client = item.who.id, device = item.who.device,
              latency = now - item.t0 })
  if deliver == "requester" then
    local old_hash = rec.token
    local token = item.keep
    if not (token and core.equal_ct(old_hash, core.sha256_hex(token))) then token = self:mint(rec) end
    if item.takeover and token ~= item.keep then
      if rec.tomb then self.store:drop_token(rec.tomb) end
      rec.tomb = old_hash
      self.store:put_token(old_hash, arn)
    end
    rec.answer = answer
    self:save(rec)
    self:record_latency(item.t0)
    return self:deliver(item.cb, { SignalResponse = answer, token = token })
  end
  if deliver == "owner" then
    rec.answer = answer
    self:save(rec)
    self:answered(rec)
    return self:deliver(item.cb, nil, new_error("Withheld", 403, "the policy gave this answer to the session's owner"))
  end
  rec.answer = nil
  self:save(rec)
  self:deliver(item.cb, nil, new_error("Withheld", 403, "the policy dropped this answer"))
end

---------------------------------------------------------------- terminate

function Runtime:terminate(token, client, cb)
  if type(token) ~= "string" then arg_error("terminate", 1, "string", token) end
  if type(cb) ~= "function" then arg_error("terminate", 3, "function", cb) end
  self:check_open("terminate")
  local who = requester(client, "terminate", 2)
  local rec, err = self:lookup(token)
  if not rec then return self:deliver(cb, nil, err) end
  local allowed, why = self:authenticate({ kind = "terminate", client = who, session = view(rec) })
  if allowed and not is_owner(rec, who) then allowed, why = false, "not the session's owner" end
  self:emit({ event = "decision", request = "terminate", session = rec.arn,
              action = allowed and "terminate" or "reject", reason = why, client = who.id })
  if not allowed then
    self.counts.refused = self.counts.refused + 1
    return self:deliver(cb, nil, new_error("Forbidden", 403, why))
  end
  self.sched:push({ op = TERMINATE, kind = "terminate", arn = rec.arn, group = rec.group, cb = cb, who = who,
                    priority = rec.priority or 0 }, self.now())
end

function HANDLERS.terminate(self, item, _, err)
  local rec = self.store:session(item.arn)
  if err and not session_gone(err) then
    if self:retry(item, err, rec) then return end
    return self:deliver(item.cb, nil, err)
  end
  if rec then self:end_session(rec, "TERMINATED", "terminated") end
  self:deliver(item.cb, true)
end

---------------------------------------------------------------- track

function Runtime:track(t)
  if type(t) ~= "table" then arg_error("track", 1, "table", t) end
  if type(t.arn) ~= "string" or not group_of(t.arn) and not (t.stream_group or self.stream_group) then
    error("bad argument #1 to 'track' (arn of a stream session expected)", 2)
  end
  if t.priority ~= nil and (type(t.priority) ~= "number" or t.priority ~= t.priority) then
    error("bad argument #1 to 'track' (priority must be a number)", 2)
  end
  local timeout = t.connection_timeout or 120
  if type(timeout) ~= "number" or timeout <= 0 then
    error("bad argument #1 to 'track' (connection_timeout: seconds > 0 expected)", 2)
  end
  self:check_open("track")
  local now = self.now()
  local old = self.store:session(t.arn)
  if old then self:end_session(old, old.status, "tracked again") end
  local status = t.status or "ACTIVE"
  local rec = {
    arn = t.arn, group = group_of(t.arn) or t.stream_group or self.stream_group, app = t.application,
    status = status, owner = t.owner, device = t.device, attributes = flat(t.attributes), timeout = timeout,
    reconnects = 0, priority = t.priority or 0, changed = now, seen = now,
  }
  if status == PENDING then
    rec.deadline = now + timeout
    rec.estimated = true
  end
  local token = self:mint(rec)
  self:save(rec)
  self.groups[rec.group] = (self.groups[rec.group] or 0) + 1
  self:ensure_sweep()
  self:emit({ event = "tracked", session = rec.arn, status = status, owner = rec.owner })
  return token
end

---------------------------------------------------------------- status sweeps

function Runtime:ensure_sweep()
  if self.sweep or self.sweep_timer or self.closed then return end
  self.sweep_timer = self:after(self.status_interval, Runtime.begin_sweep)
end

-- A sweep lists statuses one after the other, each over every stream group:
-- PENDING_CLIENT_RECONNECTION always, ACTIVE while a started session waits for
-- its answer, and every live status in a full sweep (every full_sweep_interval).
function Runtime:begin_sweep()
  self.sweep_timer = nil
  if self.closed then return end
  local groups = {}
  for g in pairs(self.groups) do groups[#groups + 1] = g end
  if #groups == 0 then return end
  table.sort(groups)
  local now = self.now()
  local full = now >= self.next_full
  local statuses = { PENDING }
  if full then
    statuses = SWEEP_STATUSES
    self.gen = self.gen + 1
  elseif next(self.awaiting) then
    statuses = { PENDING, "ACTIVE" }
  end
  self.sweep = { gen = full and self.gen or nil, groups = groups, statuses = statuses, gi = 1, si = 1, started = now }
  self:sweep_page(nil)
end

function Runtime:sweep_page(next_token)
  local sw = self.sweep
  self.sched:push({ op = LIST, kind = "list", group = sw.groups[sw.gi], status = sw.statuses[sw.si],
                    next_token = next_token, sweep = sw }, self.now())
end

function Runtime:end_sweep(complete)
  local sw = self.sweep
  self.sweep = nil
  if complete and sw.gen then
    self.next_full = sw.started + self.full_sweep_interval
    local gone = {}
    for _, rec in self.store:sessions() do
      if rec.gen ~= sw.gen and (rec.changed or 0) < sw.started then
        rec.missed = (rec.missed or 0) + 1
        if rec.missed >= 2 then gone[#gone + 1] = rec else self:save(rec) end
      elseif rec.missed then
        rec.missed = nil
        self:save(rec)
      end
    end
    -- The store's order is a hash order, which differs between processes.
    table.sort(gone, function(a, b) return a.arn < b.arn end)
    for _, rec in ipairs(gone) do self:end_session(rec, "TERMINATED", "no longer listed") end
    self:emit({ event = "sweep", full = true, sessions = self.store:count(), ended = #gone })
  end
  self:ensure_sweep()
end

function HANDLERS.list(self, item, out, err)
  local sw = item.sweep
  if sw ~= self.sweep then return end
  if err then
    if err.code == "ThrottlingException" and self:retry(item, err, nil) then return end
    self:emit({ event = "sweep_failed", code = err.code, status = item.status })
    return self:end_sweep(false)
  end
  for _, s in ipairs(type(out.Items) == "table" and out.Items or {}) do
    local rec = type(s) == "table" and self.store:session(s.Arn)
    if rec then
      if sw.gen then rec.gen = sw.gen end
      if type(s.Status) == "string" then self:learn(rec, s.Status, s.LastUpdatedAt, item.sent) end
    end
  end
  if type(out.NextToken) == "string" and out.NextToken ~= "" then return self:sweep_page(out.NextToken) end
  sw.gi = sw.gi + 1
  if sw.gi > #sw.groups then
    -- A session missing from a whole PENDING_CLIENT_RECONNECTION pass that began
    -- at `started` dropped (if at all) after that: a lower bound for deadlines.
    if sw.statuses[sw.si] == PENDING then self.pending_pass = sw.started end
    sw.gi = 1
    sw.si = sw.si + 1
    if sw.si > #sw.statuses then return self:end_sweep(true) end
  end
  self:sweep_page(nil)
end

-- The earliest the reconnection window of rec can close when its drop has not
-- been seen yet: it dropped after it was last seen in another status, and
-- after the last PENDING pass that did not list it began.
function Runtime:deadline_bound(rec, now)
  local base = rec.seen or now
  if self.pending_pass and self.pending_pass > base then base = self.pending_pass end
  return base + rec.timeout
end

-- The deadline a reconnect asked for now is ordered by while its drop is not
-- learnt: the lower bound, or, once drops have been learnt for sessions with
-- a reconnect waiting, now + timeout less the longest clients took to ask
-- after their drop (of the last NOTICES): closer to the truth than the bound
-- when sweeps are slow, and like it never a reason to refuse.
function Runtime:deadline_guess(rec, now)
  local b = self:deadline_bound(rec, now)
  local ring = self.notices
  if ring.n == 0 then return b end
  local worst = 0
  for i = 1, math.min(ring.n, NOTICES) do
    if ring[i] > worst then worst = ring[i] end
  end
  local g = now + rec.timeout - worst
  return g > b and g or b
end

-- A status learnt from the API (sent = when the call that told it was sent).
function Runtime:learn(rec, status, last_updated, sent)
  if rec.changed and sent and rec.changed > sent then return end
  local now = self.now()
  local old = rec.status
  if status ~= PENDING then rec.seen = now end
  if GONE[status] then return self:end_session(rec, status, "status") end
  if old == status and not (status == PENDING and rec.estimated) then
    -- A failed answer fetch is tried again while someone waits for it.
    local l = self.live[rec.arn]
    if rec.fetch and not rec.answer and status ~= "ACTIVATING" and l and l.waiters and l.waiters[1] then
      self:fetch(rec)
    end
    return
  end
  rec.status = status
  if status == PENDING then
    local at = type(last_updated) == "number" and last_updated or now
    if at > now then at = now end
    -- The service's clock may be behind ours, by less than the 5 minutes a
    -- signature allows, so nothing corrects it: the drop cannot have come
    -- before we last knew the session in another status, nor before the last
    -- PENDING pass that did not list it began.
    if rec.seen then
      local floor = rec.seen
      if self.pending_pass and self.pending_pass > floor then floor = self.pending_pass end
      if at < floor then at = floor end
    end
    rec.deadline = at + rec.timeout
    rec.estimated = nil
  else
    rec.deadline = nil
  end
  self:save(rec)
  local l = self.live[rec.arn]
  local it = l and l.work
  if it and status == PENDING and it.t0 and not it.known then
    -- How long after its drop this client asked: what deadline_guess learns from.
    local ring = self.notices
    ring.n = ring.n + 1
    ring[(ring.n - 1) % NOTICES + 1] = math.max(0, it.t0 - (rec.deadline - rec.timeout))
  end
  if it and self.sched:queued(it) then
    self.sched:update(it, rec.deadline or self:deadline_bound(rec, now), rec.deadline ~= nil)
  end
  if rec.fetch and not rec.answer and status ~= "ACTIVATING" then self:fetch(rec) end
  if old ~= status then self:on_status(rec, old, status) end
end

---------------------------------------------------------------- driving

local MAX_ROUNDS = 64

function Runtime:run_ready()
  local n = 0
  for _ = 1, MAX_ROUNDS do
    local busy = false
    local done = self.done
    if done[1] then
      busy = true
      self.done = {}
      for _, d in ipairs(done) do self:complete(d[1], d[2], d[3]) end
    end
    local h = self.timers
    local now = self.now()
    while h[1] and h[1][1] <= now do
      busy = true
      local e = tpop(h)
      e[3](self, e[4])
    end
    if not self.closed then
      local wait = self.sched:pump(now, function(item) self:dispatch(item) end,
        function(item) self:refuse(item) end)
      -- A wait under the clock's resolution (epoch seconds: ~2.4e-7 s) would
      -- land on now itself, and a host would be told to step again at once,
      -- for ever: it waits a few units in the last place at least.
      if wait then
        local least = math.abs(now) * 0x1p-50
        self.sched_due = now + (wait > least and wait or least)
      else
        self.sched_due = nil
      end
    end
    local ready = self.ready
    if ready[1] then
      busy = true
      self.ready = {}
      for _, r in ipairs(ready) do
        n = n + 1
        local ok, e = xpcall(r[1], debug.traceback, r[2], r[3])
        if not ok then self:emit({ event = "callback_error", error = tostring(e) }) end
      end
    end
    if not busy then break end
  end
  return n
end

function Runtime:pollfd() return self.client:pollfd() end

--- API calls the runtime has in flight (a host driving a virtual clock moves
-- it on only when this is 0 and timeout() is not 0).
function Runtime:in_flight()
  local n = 0
  for _ in pairs(self.inflight) do n = n + 1 end
  return n
end

--- Seconds until step() has something to do (0 = now), or nil for nothing planned.
function Runtime:timeout()
  if self.ready[1] or self.done[1] then return 0 end
  local t = self.client:timeout()
  local now = self.now()
  local function consider(due)
    if due then
      local d = due - now
      if d < 0 then d = 0 end
      if not t or d < t then t = d end
    end
  end
  consider(self.timers[1] and self.timers[1][1])
  consider(self.sched_due)
  return t
end

--- Does whatever is due, waits at most `seconds` (default 0) for the network
-- or the next timer (never past timeout()), and does what that brought.
-- Returns the number of callbacks run.
function Runtime:step(seconds)
  seconds = seconds or 0
  if type(seconds) ~= "number" or seconds < 0 or seconds ~= seconds then
    error("bad argument #1 to 'step' (seconds >= 0 expected)", 2)
  end
  local n = self:run_ready()
  local wait = seconds
  local t = self:timeout()
  if t and t < wait then wait = t end
  if next(self.inflight) then
    self.client:step(wait)
  elseif wait > 0 then
    -- Nothing in flight: only time can bring work (the client would not wait).
    core.sleep(wait)
  end
  return n + self:run_ready()
end

---------------------------------------------------------------- reload, stats, close

function Runtime:reload(path)
  if path ~= nil and type(path) ~= "string" then arg_error("reload", 1, "string or nil", path) end
  self:check_open("reload")
  local source
  if path == nil then
    path, source = self.policy_path, (not self.policy_path) and self.policy_source or nil
  end
  if not path and not source then
    self.policy = nil
    self.sched.keep_burst = false
    self:emit({ event = "policy_reload", ok = true, policy = "default" })
    return true
  end
  local p, err = self:_load_policy(path, source)
  if not p then
    self:emit({ event = "policy_reload", ok = false, error = err.message, traceback = err.traceback })
    return nil, new_error("PolicyLoad", nil, err.message)
  end
  self.policy = p
  self.sched.keep_burst = p:has("priority")
  if path then self.policy_path, self.policy_source = path, nil end
  self:emit({ event = "policy_reload", ok = true, policy = path or "source", name = p.name })
  return true
end

local function quantile(sorted, q)
  local n = #sorted
  if n == 0 then return nil end
  local i = math.max(1, math.min(n, math.ceil(q * n)))
  return sorted[i]
end

function Runtime:stats()
  local now = self.now()
  local calls = {}
  for op, c in pairs(self.calls) do calls[op] = { ok = c.ok, throttled = c.throttled, failed = c.failed } end
  local budget, rates = {}, {}
  for _, op in ipairs(scheduler.OPERATIONS) do
    local r = self.recent[op]
    local used = 0
    if r then
      while r.first <= r.last and r[r.first] <= now - 1 do
        r[r.first] = nil
        r.first = r.first + 1
      end
      used = r.last - r.first + 1
    end
    rates[op] = self.sched:rate(op)
    budget[op] = { rate = rates[op], used = used / rates[op] }
  end
  local lat = {}
  for i, v in ipairs(self.lat) do lat[i] = v end
  table.sort(lat)
  return {
    sessions = self.store:count(), queue = self.sched:size(), calls = calls,
    budget_used = budget[CSSC].used, budget = budget, rates = rates,
    deadline_misses = self.counts.deadline_misses, superseded = self.counts.superseded,
    refused = self.counts.refused, policy_errors = self.counts.policy_errors,
    latency = { p50 = quantile(lat, 0.5), p99 = quantile(lat, 0.99) },
    answer_latency = self.latency,
  }
end

--- Ends the runtime: every request still waiting gets a Cancelled error now.
-- The client is not closed (it is the caller's).
function Runtime:close()
  if self.closed then return end
  self:run_ready()
  self.closed = true
  local cancelled = new_error("Cancelled", nil, "the runtime was closed")
  local cbs = {}
  local function add(cb) if cb then cbs[#cbs + 1] = cb end end
  for item in pairs(self.inflight) do
    add(item.cb)
    item.cb = nil
  end
  for _, op in ipairs(self.sched.ops) do
    for _, item in ipairs(self.sched:items(op)) do
      add(item.cb)
      item.cb = nil
    end
  end
  for _, item in ipairs(self.sched.delayed) do
    add(item.cb)
    item.cb = nil
  end
  for _, l in pairs(self.live) do
    for _, it in pairs({ l.work, l.next }) do
      add(it.cb)
      it.cb = nil
    end
    for _, w in ipairs(l.waiters or {}) do
      if not w.done then
        w.done = true
        add(w.cb)
      end
    end
  end
  self.live, self.timers, self.inflight = {}, {}, {}
  for _, cb in ipairs(cbs) do
    local ok, e = xpcall(cb, debug.traceback, nil, cancelled)
    if not ok then self:emit({ event = "callback_error", error = tostring(e) }) end
  end
end

return M
