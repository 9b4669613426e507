--- gameliftstreams.emulator: a local Amazon GameLift Streams.
--
--     local emulator = require "gameliftstreams.emulator"
--     local emu = emulator.new{ clock = "virtual" }
--     local status, out = emu:dispatch("StartStreamSession", {
--       Identifier = emulator.STREAM_GROUP_ID, ApplicationIdentifier = emulator.APPLICATION_ID,
--       Protocol = "WebRTC", SignalRequest = offer })
--     emu:advance(1)                      -- activation: ACTIVE, SignalResponse set
--
-- One object holds the whole service: applications, stream groups, stream
-- sessions, stream URLs, tags, idempotency tokens, quotas, faults, a request
-- log and a clock. Nothing sleeps: every delay is a timer that emu:tick()
-- (real clock) or emu:advance(seconds) (either clock) runs when it falls due.
--
-- Entry points, outermost first:
--   emu:handle(req)                 the HTTP handler (core.httpd): control API under
--                                   /_emulator/ for loopback peers, then fault injection,
--                                   SigV4 (core.emu_verify), routing (core.emu_route),
--                                   quota, input (core.emu_input), dispatch, output
--                                   (core.emu_output)
--   emu:control(method, path, body) the control API without HTTP -> status, json_text
--   emu:call(op, input, ctx)        faults + quota + dispatch + request log, no HTTP
--   emu:dispatch(op, input, ctx)    the service logic -> status, output | nil, err
-- err = { code = "ConflictException", message = "...", status = 409 }.
--
-- Stream session states (StatusReason in brackets):
--   StartStreamSession         -> ACTIVATING
--   activation delay           ACTIVATING -> ACTIVE (answer outstanding, unless the offer
--                              was NO_CLIENT_CONNECTION)
--   client connects (control)  ACTIVE or RECONNECTING with an answer outstanding -> CONNECTED
--   client drops (control)     CONNECTED -> PENDING_CLIENT_RECONNECTION
--   CreateStreamSessionConnection  ACTIVE | PENDING_CLIENT_RECONNECTION -> RECONNECTING,
--                              answer returned at once; reconnect delay -> ACTIVE
--   ConnectionTimeoutSeconds   in ACTIVE with an answer outstanding -> TERMINATED
--                              [connectionTimeout, or reconnectionTimeout once a client
--                              has been connected]; in PENDING_CLIENT_RECONNECTION ->
--                              TERMINATED [reconnectionTimeout]
--   SessionLengthSeconds       from the start, any live state -> TERMINATED
--                              [maxSessionLengthTimeout]
--   TerminateStreamSession     any live state but ACTIVATING -> TERMINATING
--                              [apiTerminated]; terminate delay -> TERMINATED
-- Timeouts end a session at once (TERMINATED); only the API passes through
-- TERMINATING. Terminated sessions stay listed until their stream group goes.
--
-- Quotas are token buckets per operation on the emulator's clock: with the
-- virtual clock they refill only when the clock is advanced. Capacity is
-- reported (LocationStates) but never enforced.
local core = require "gameliftstreams.core"
local command = require "gameliftstreams.command"
local cjson = require "cjson"

local M = { _NAME = "gameliftstreams.emulator" }

local json = cjson.new()
json.encode_sparse_array(false)
local null = json.null

local APPLICATION_ID = "a-9ZY8X7Wv6"
local STREAM_GROUP_ID = "sg-1AB2C3De4"
M.APPLICATION_ID = APPLICATION_ID
M.STREAM_GROUP_ID = STREAM_GROUP_ID

local ERROR_NS = ":http://internal.amazon.com/coral/com.amazonaws.gameliftstreams/"
local NO_CLIENT = "NO_CLIENT_CONNECTION"
local ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

-- Seconds each transition takes; opts.delays and POST /_emulator/delays change them.
local DEFAULT_DELAYS = {
  activation = 1,       -- StartStreamSession: ACTIVATING -> ACTIVE
  reconnect = 0.2,      -- CreateStreamSessionConnection: RECONNECTING -> ACTIVE
  terminate = 0.2,      -- TerminateStreamSession: TERMINATING -> TERMINATED
  stream_group = 1,     -- stream group ACTIVATING / UPDATING_LOCATIONS / DELETING
  application = 1,      -- application INITIALIZED -> PROCESSING -> READY, DELETING
}

---------------------------------------------------------------- the operations

-- Input members the model marks required, per operation (checked again by the
-- spec against service-2.json); every operation of the model is a key.
local REQUIRED = {
  AddStreamGroupLocations = { "Identifier", "LocationConfigurations" },
  AssociateApplications = { "Identifier", "ApplicationIdentifiers" },
  CreateApplication = { "Description", "RuntimeEnvironment", "ExecutablePath", "ApplicationSourceUri" },
  CreateStreamGroup = { "Description", "StreamClass" },
  CreateStreamSessionAdminShell = { "Identifier", "StreamSessionIdentifier" },
  CreateStreamSessionConnection = { "Identifier", "StreamSessionIdentifier", "SignalRequest" },
  CreateStreamUrl = { "Identifier", "ApplicationIdentifier", "Protocol", "UrlExpiresAfterMinutes", "Locations" },
  DeleteApplication = { "Identifier" },
  DeleteStreamGroup = { "Identifier" },
  DisassociateApplications = { "Identifier", "ApplicationIdentifiers" },
  ExportStreamSessionFiles = { "Identifier", "StreamSessionIdentifier", "OutputUri" },
  GetApplication = { "Identifier" },
  GetStreamGroup = { "Identifier" },
  GetStreamSession = { "Identifier", "StreamSessionIdentifier" },
  GetStreamUrl = { "Identifier", "StreamUrlIdentifier" },
  ListApplicationShaderCaches = { "Identifier" },
  ListApplications = {},
  ListStreamGroups = {},
  ListStreamSessions = { "Identifier" },
  ListStreamSessionsByAccount = {},
  ListStreamUrls = {},
  ListTagsForResource = { "ResourceArn" },
  RemoveStreamGroupLocations = { "Identifier", "Locations" },
  RevokeStreamUrl = { "Identifier", "StreamUrlIdentifier" },
  StartStreamSession = { "Identifier", "Protocol", "SignalRequest", "ApplicationIdentifier" },
  TagResource = { "ResourceArn", "Tags" },
  TerminateStreamSession = { "Identifier", "StreamSessionIdentifier" },
  UntagResource = { "ResourceArn", "TagKeys" },
  UpdateApplication = { "Identifier" },
  UpdateStreamGroup = { "Identifier" },
}

local OPERATIONS = {}
for name in pairs(REQUIRED) do OPERATIONS[#OPERATIONS + 1] = name end
table.sort(OPERATIONS)
M.operations = OPERATIONS

-- Operations whose input has an idempotency token (ClientToken).
local IDEMPOTENT = {
  CreateApplication = true, CreateStreamGroup = true, CreateStreamSessionConnection = true,
  CreateStreamUrl = true, StartStreamSession = true,
}

-- Calls per second (burst the same) unless opts.quotas / POST /_emulator/quotas say otherwise.
local SESSION_RATE, OTHER_RATE = 20, 25
local SESSION_OPS = {
  StartStreamSession = true, CreateStreamSessionConnection = true, GetStreamSession = true,
  TerminateStreamSession = true, ListStreamSessions = true, ListStreamSessionsByAccount = true,
  CreateStreamSessionAdminShell = true,
}

-- The error each injected status stands for.
local MAX_FAULT_BODY = 64 * 1024 * 1024  -- body_bytes faults: past any client's bound
local FAULT_CODES = {
  [400] = "ValidationException", [402] = "ServiceQuotaExceededException", [403] = "AccessDeniedException",
  [404] = "ResourceNotFoundException", [409] = "ConflictException", [429] = "ThrottlingException",
  [500] = "InternalServerException", [503] = "ServiceUnavailableException",
}
local FAULT_MESSAGES = {
  ThrottlingException = "Rate exceeded", InternalServerException = "Internal server error",
  ServiceUnavailableException = "Service unavailable",
}

local LIVE = {
  ACTIVATING = true, ACTIVE = true, CONNECTED = true, PENDING_CLIENT_RECONNECTION = true,
  RECONNECTING = true, TERMINATING = true,
}
-- Stream group states in which sessions start and reconnect: locations being added
-- or removed, or in error, leave the others streaming.
local STREAMING = { ACTIVE = true, UPDATING_LOCATIONS = true, ACTIVE_WITH_ERRORS = true }
local IN_PROGRESS = { ACTIVE = true, CONNECTED = true, PENDING_CLIENT_RECONNECTION = true, RECONNECTING = true }
local TERMINATED_REASONS = {
  applicationExit = true, idleTimeout = true, connectionTimeout = true, reconnectionTimeout = true,
  maxSessionLengthTimeout = true, apiTerminated = true,
}
local ERROR_REASONS = {
  internalError = true, invalidSignalRequest = true, placementTimeout = true,
  applicationLogS3DestinationError = true, assumeRoleFailed = true,
}
local SESSION_STATUSES = {
  ACTIVATING = true, ACTIVE = true, CONNECTED = true, PENDING_CLIENT_RECONNECTION = true,
  RECONNECTING = true, TERMINATING = true, TERMINATED = true, ERROR = true,
}

---------------------------------------------------------------- small helpers

local Error = {}
Error.__index = Error
Error.__tostring = function(e) return e.code .. ": " .. e.message end

local function fail(code, status, fmt, ...)
  local msg = select("#", ...) > 0 and fmt:format(...) or fmt
  return nil, setmetatable({ code = code, message = msg, status = status }, Error)
end
local function not_found(fmt, ...) return fail("ResourceNotFoundException", 404, fmt, ...) end
local function invalid(fmt, ...) return fail("ValidationException", 400, fmt, ...) end
local function conflict(fmt, ...) return fail("ConflictException", 409, fmt, ...) end

local function lower_camel(name) return (name:gsub("^%u", string.lower)) end

local function random_chars(n)
  local t = {}
  for i = 1, n do
    local k = math.random(1, #ALNUM)
    t[i] = ALNUM:sub(k, k)
  end
  return table.concat(t)
end

local function random_hex(n)
  local t = {}
  for i = 1, n do t[i] = ("%x"):format(math.random(0, 15)) end
  return table.concat(t)
end

local function round_ms(t) return math.floor(t * 1000 + 0.5) / 1000 end

local function copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return t
end

local function key_before(a, b)
  if type(a) == type(b) then return a < b end
  return type(a) == "number"
end

-- An unambiguous binary text of a Lua value (keys sorted, strings length-prefixed),
-- skipping the top-level ClientToken: two inputs are "the same request" when their
-- fingerprints are equal.
local function fingerprint(v, top, out)
  local tv = type(v)
  if tv == "string" then
    out[#out + 1] = string.pack("<s4", v)
  elseif tv == "table" then
    local keys = {}
    for k in pairs(v) do
      if not (top and k == "ClientToken") then keys[#keys + 1] = k end
    end
    table.sort(keys, key_before)
    out[#out + 1] = "{"
    for _, k in ipairs(keys) do
      fingerprint(k, false, out)
      fingerprint(v[k], false, out)
    end
    out[#out + 1] = "}"
  elseif math.type(v) == "integer" then
    out[#out + 1] = string.pack("<bj", 1, v)
  elseif tv == "number" then
    out[#out + 1] = string.pack("<bn", 2, v)
  else
    out[#out + 1] = string.pack("<bs4", 3, tostring(v))
  end
  return out
end

local function is_loopback(remote)
  if type(remote) ~= "string" then return false end
  return remote == "::1" or remote:find("^127%.") ~= nil or remote:find("^::ffff:127%.") ~= nil
end

local function percent_decode(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function is_array(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  return n == #v
end

-- Binary search: the first index of list (ascending .seq) whose seq >= seq.
local function lower_bound(list, seq)
  local lo, hi = 1, #list + 1
  while lo < hi do
    local mid = (lo + hi) // 2
    if list[mid].seq < seq then lo = mid + 1 else hi = mid end
  end
  return lo
end

local function list_remove(list, item)
  local i = lower_bound(list, item.seq)
  if list[i] == item then table.remove(list, i) end
end

local function remove_value(list, v)
  for i = #list, 1, -1 do
    if list[i] == v then table.remove(list, i) end
  end
end

---------------------------------------------------------------- timers (binary heap)

local function heap_push(h, e)
  local i = #h + 1
  h[i] = e
  while i > 1 do
    local p = i // 2
    local a, b = h[p], h[i]
    if a.due < b.due or (a.due == b.due and a.seq < b.seq) then break end
    h[p], h[i] = b, a
    i = p
  end
end

local function heap_pop(h)
  local n = #h
  local top = h[1]
  h[1] = h[n]
  h[n] = nil
  n = n - 1
  local i = 1
  while true do
    local l, r, m = 2 * i, 2 * i + 1, i
    if l <= n and (h[l].due < h[m].due or (h[l].due == h[m].due and h[l].seq < h[m].seq)) then m = l end
    if r <= n and (h[r].due < h[m].due or (h[r].due == h[m].due and h[r].seq < h[m].seq)) then m = r end
    if m == i then break end
    h[i], h[m] = h[m], h[i]
    i = m
  end
  return top
end

local function timer_before(a, b) return a.due < b.due or (a.due == b.due and a.seq < b.seq) end

-- The earliest live timer of the emulator, dropping cancelled ones on the way.
local function next_due(self)
  local h = self.timers
  while h[1] and h[1].cancelled do
    heap_pop(h)
    self.dead = self.dead - 1
  end
  return h[1]
end

-- Cancels a timer (nil, fired or cancelled ones are fine). Cancelled timers stay
-- in the heap until they come up; when they outnumber the live ones, the heap is
-- rebuilt without them (a sorted array is a heap), so a stream of reconnects that
-- each cancel a 120 s timer does not pile up memory.
local function cancel(self, t)
  if not t or t.cancelled or t.fired then return end
  t.cancelled = true
  self.dead = self.dead + 1
  local h = self.timers
  if self.dead > 1024 and self.dead * 2 > #h then
    local live = {}
    for _, e in ipairs(h) do
      if not e.cancelled then live[#live + 1] = e end
    end
    table.sort(live, timer_before)
    self.timers = live
    self.dead = 0
  end
end

---------------------------------------------------------------- the emulator

local Emu = {}
Emu.__index = Emu
Emu.__name = "gameliftstreams.Emulator"

local function check_opts(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(("bad argument #1 to 'new' (table expected, got %s)"):format(type(opts)), 3)
  end
  local function want(name, ty, ok)
    local v = opts[name]
    if v ~= nil and (type(v) ~= ty or (ok and not ok(v))) then
      error(("bad option '%s' to 'new'"):format(name), 4)
    end
  end
  want("clock", "string", function(v) return v == "real" or v == "virtual" end)
  want("region", "string", function(v) return v:find("^[a-z0-9-]+$") ~= nil end)
  want("account", "string", function(v) return v:find("^%d%d%d%d%d%d%d%d%d%d%d%d$") ~= nil end)
  want("credentials", "table")
  want("quotas", "table")
  want("delays", "table")
  want("respond", "function")
  want("time_source", "function")
  want("wire", "table")
  want("max_requests", "number", function(v) return v >= 1 end)
  want("idempotency_ttl", "number", function(v) return v > 0 end)
  want("max_tokens", "number", function(v) return v >= 1 end)
  return opts
end

--- emulator.new(opts) -> emulator. Every field optional:
-- clock ("real" | "virtual": starts at the real time's whole second, so that
-- sums of the same offsets round the same way from one run to the next),
-- time_source (function -> epoch seconds, default core.time), region
-- ("us-west-2"), account ("123456789012"), credentials
-- ({ [akid] = { secret_access_key =, session_token = } }), quotas ({ [op] = calls/s,
-- ["*"] = every op }; 0 or false = unlimited), delays (see DEFAULT_DELAYS),
-- respond (srv:respond, for replies deferred by a latency fault), any_region (accept
-- requests signed for another region), max_requests (request log size, 100000),
-- idempotency_ttl (seconds a ClientToken is remembered, 3600), max_tokens (how many
-- are remembered at most, 50000), wire (the table giving
-- emu_verify, emu_route, emu_input, emu_output and uuid4; default core).
function M.new(opts)
  opts = check_opts(opts)
  local self = setmetatable({}, Emu)
  self.time_source = opts.time_source or core.time
  self.virtual = opts.clock == "virtual"
  self.offset = 0
  self.vnow = self.virtual and math.floor(self.time_source()) or self.time_source()
  self.region = opts.region or "us-west-2"
  self.account = opts.account or "123456789012"
  self.respond = opts.respond
  self.wire = opts.wire or core
  self.any_region = opts.any_region and true or false
  self.max_requests = math.floor(opts.max_requests or 100000)
  self.idempotency_ttl = opts.idempotency_ttl or 3600
  self.max_tokens = math.floor(opts.max_tokens or 50000)
  self.opts = opts
  self.credentials = opts.credentials or {
    AKIDEXAMPLE = { secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
  }
  self.verify_opts = { credentials = self.credentials, now = 0, service = "gameliftstreams" }
  self.deferred = {}            -- replies held back by latency faults, on the real clock
  self.seq = 0
  self:reset()
  return self
end

local function set_quota(self, op, rate, burst)
  if not rate or rate == 0 then
    self.quotas[op] = nil
    return
  end
  burst = burst or math.max(rate, 1)
  self.quotas[op] = { rate = rate, burst = burst, tokens = burst, last = self:now() }
end

local function apply_quotas(self, q)
  for op, rate in pairs(q) do
    if rate ~= false and (type(rate) ~= "number" or rate < 0 or rate ~= rate or rate == math.huge) then
      error(("bad option 'quotas' to 'new' (%s: calls per second >= 0 expected)"):format(tostring(op)), 4)
    end
  end
  if q["*"] ~= nil then
    for _, op in ipairs(OPERATIONS) do set_quota(self, op, q["*"] or 0) end
  end
  for op, rate in pairs(q) do
    if op ~= "*" then
      if not REQUIRED[op] then error(("bad option 'quotas' to 'new' (unknown operation '%s')"):format(op), 4) end
      set_quota(self, op, rate or 0)
    end
  end
end

--- emu:reset(): back to the start state (one READY application, one ACTIVE stream
-- group), with the construction's quotas and delays; faults, the request log,
-- tokens and timers are cleared. The clock keeps its time; replies already
-- deferred by a latency fault are still sent.
function Emu:reset()
  local opts = self.opts
  self.timers, self.dead = {}, 0
  self.apps, self.app_list = {}, {}
  self.groups, self.group_list = {}, {}
  self.sessions, self.session_list = {}, {}
  self.urls, self.url_list = {}, {}
  self.tags = {}
  self.idem, self.idem_queue, self.idem_first, self.idem_last = {}, {}, 1, 0
  self.faults = {}
  self.log, self.log_first, self.log_last = {}, 1, 0
  self.secret = random_hex(32)  -- binds NextTokens to this state
  self.delays = {}
  for k, v in pairs(DEFAULT_DELAYS) do self.delays[k] = v end
  for k, v in pairs(opts.delays or {}) do
    if DEFAULT_DELAYS[k] == nil or type(v) ~= "number" or v < 0 then
      error(("bad option 'delays' to 'new' (%s)"):format(tostring(k)), 3)
    end
    self.delays[k] = v
  end
  self.quotas = {}
  for _, op in ipairs(OPERATIONS) do
    set_quota(self, op, SESSION_OPS[op] and SESSION_RATE or OTHER_RATE)
  end
  if opts.quotas then apply_quotas(self, opts.quotas) end
  self:seed()
end

function Emu:next_seq()
  self.seq = self.seq + 1
  return self.seq
end

---------------------------------------------------------------- clock

--- emu:now() -> epoch seconds (float) on the emulator's clock.
function Emu:now()
  if self.virtual then return self.vnow end
  return self.time_source() + self.offset
end

local function stamp(self) return round_ms(self:now()) end

-- Runs fn(a, b) once the emulator's clock reaches now + delay; returns the timer.
function Emu:after(delay, fn, a, b)
  local e = { due = self:now() + delay, seq = self:next_seq(), fn = fn, a = a, b = b }
  heap_push(self.timers, e)
  return e
end

local function run_timer(e)
  e.fired = true
  local ok, why = xpcall(e.fn, debug.traceback, e.a, e.b)
  if not ok then io.stderr:write("emulator: timer failed: ", tostring(why), "\n") end
end

-- Sends the replies whose latency has passed (real clock, whatever the emulator's clock).
local function run_deferred(self)
  local h = self.deferred
  if not h[1] then return end
  local now = self.time_source()
  while h[1] and h[1].due <= now do run_timer(heap_pop(h)) end
end

--- emu:tick(): runs every timer that is due.
function Emu:tick()
  while true do
    local t = next_due(self)
    if not t or t.due > self:now() then break end
    heap_pop(self.timers)
    run_timer(t)
  end
  run_deferred(self)
end

--- emu:advance(seconds) -> now: moves the clock forward, running every timer
-- that falls due on the way, in order, each at its own time.
function Emu:advance(seconds)
  if type(seconds) ~= "number" or seconds < 0 or seconds ~= seconds or seconds == math.huge then
    error("bad argument #1 to 'advance' (seconds >= 0 expected)", 2)
  end
  local target = self:now() + seconds
  while true do
    local t = next_due(self)
    if not t or t.due > target then break end
    heap_pop(self.timers)
    if self.virtual then
      if t.due > self.vnow then self.vnow = t.due end
    elseif t.due > self:now() then
      self.offset = self.offset + (t.due - self:now())
    end
    run_timer(t)
  end
  if self.virtual then
    self.vnow = target
  elseif target > self:now() then
    self.offset = self.offset + (target - self:now())
  end
  run_deferred(self)
  return self:now()
end

--- emu:next_timer() -> seconds until the next timer is due (0 = now), or nil.
-- With the virtual clock only timers already due count: waiting moves nothing.
function Emu:next_timer()
  local best
  local t = next_due(self)
  if t then
    local wait = t.due - self:now()
    if wait <= 0 then
      best = 0
    elseif not self.virtual then
      best = wait
    end
  end
  local d = self.deferred[1]
  if d then
    local wait = math.max(0, d.due - self.time_source())
    if not best or wait < best then best = wait end
  end
  return best
end

---------------------------------------------------------------- resources

local function arn(self, resource)
  return ("arn:aws:gameliftstreams:%s:%s:%s"):format(self.region, self.account, resource)
end

-- The resource part of one of our ARNs, or nil when the ARN is another region's or account's.
local function arn_resource(self, s)
  local region, account, resource = s:match("^arn:aws:gameliftstreams:([^:]*):(%d+):(.+)$")
  if region ~= self.region or account ~= self.account then return nil end
  return resource
end

local function unique_id(prefix, n, taken)
  while true do
    local id = prefix .. random_chars(n)
    if not taken[id] then return id end
  end
end

-- The resource ID an identifier names: the identifier itself, or the last
-- part of an ARN of this account and region whose resource is `kind`.
-- Returns id, parent (the stream group ID of a child resource) or nil.
local function id_of(self, ident, kind)
  if ident:sub(1, 4) ~= "arn:" then return ident end
  local res = arn_resource(self, ident)
  local rest = res and res:match("^" .. kind .. "/(.+)$")
  if not rest then return nil end
  local parent, child = rest:match("^([^/]+)/([^/]+)$")
  if parent then return child, parent end
  if rest:find("/", 1, true) then return nil end
  return rest
end

function Emu:group_of(ident)
  local id, parent = id_of(self, ident, "streamgroup")
  return id and not parent and self.groups[id] or nil
end

function Emu:app_of(ident)
  local id, parent = id_of(self, ident, "application")
  return id and not parent and self.apps[id] or nil
end

-- A child (session or URL) of group g by ID or ARN (the ARN's stream group
-- must be g).
local function child_in(self, g, ident, kind, registry)
  local id, parent = id_of(self, ident, kind)
  if not id or (parent and parent ~= g.id) or (ident:sub(1, 4) == "arn:" and not parent) then return nil end
  local r = registry[id]
  if r and r.group == g then return r end
  return nil
end

local function session_in(self, g, ident) return child_in(self, g, ident, "streamsession", self.sessions) end
local function url_in(self, g, ident) return child_in(self, g, ident, "streamurl", self.urls) end

local function need_group(self, ident)
  local g = self:group_of(ident)
  if not g then return not_found("Stream group '%s' was not found.", ident) end
  return g
end

local function need_app(self, ident)
  local a = self:app_of(ident)
  if not a then return not_found("Application '%s' was not found.", ident) end
  return a
end

local function need_session(self, input, ctx)
  local g, err = need_group(self, input.Identifier)
  if not g then return nil, err end
  local s = session_in(self, g, input.StreamSessionIdentifier)
  if not s then
    return not_found("Stream session '%s' was not found in stream group '%s'.",
      input.StreamSessionIdentifier, g.id)
  end
  ctx.session = s.id
  return s, g
end

local function new_location(cfg, status, default_capacity)
  return {
    name = cfg.LocationName, status = status,
    always_on = cfg.AlwaysOnCapacity or default_capacity,
    on_demand = cfg.OnDemandCapacity or 0,
    target_idle = cfg.TargetIdleCapacity or 0,
    maximum = cfg.MaximumCapacity or math.max(cfg.AlwaysOnCapacity or default_capacity, cfg.OnDemandCapacity or 0),
  }
end

local function location_view(g, loc)
  local live = g.live_by_loc[loc.name] or 0
  local allocated = 0
  if loc.status == "ACTIVE" then allocated = math.max(loc.always_on, live) end
  return {
    LocationName = loc.name, Status = loc.status,
    AlwaysOnCapacity = loc.always_on, OnDemandCapacity = loc.on_demand,
    TargetIdleCapacity = loc.target_idle, MaximumCapacity = loc.maximum,
    RequestedCapacity = loc.always_on, AllocatedCapacity = allocated,
    IdleCapacity = math.max(0, allocated - live),
  }
end

local function default_app(self, g)
  local a = g.default and self.apps[g.default]
  if not a then return nil end
  return { Id = a.id, Arn = a.arn }
end

local function group_summary(self, g)
  return {
    Arn = g.arn, Id = g.id, Description = g.description, DefaultApplication = default_app(self, g),
    StreamClass = g.stream_class, Status = g.status, CreatedAt = g.created, LastUpdatedAt = g.updated,
    ExpiresAt = g.expires,
  }
end

local function group_view(self, g)
  local v = group_summary(self, g)
  v.StatusReason = g.reason
  local locs = {}
  for i, loc in ipairs(g.locations) do locs[i] = location_view(g, loc) end
  v.LocationStates = locs
  local apps = {}
  for i, id in ipairs(g.apps) do apps[i] = self.apps[id].arn end
  v.AssociatedApplications = apps
  return v
end

local function app_summary(a)
  return {
    Arn = a.arn, Id = a.id, Description = a.description, Status = a.status,
    CreatedAt = a.created, LastUpdatedAt = a.updated, RuntimeEnvironment = a.runtime,
  }
end

local function app_view(self, a)
  local v = app_summary(a)
  v.ExecutablePath = a.executable
  v.ApplicationLogPaths = a.log_paths
  v.ApplicationLogOutputUri = a.log_uri
  v.ApplicationSourceUri = a.source_uri
  v.StatusReason = a.reason
  local groups, seen, reps = {}, { [self.region] = true }, { { Location = self.region, Status = "COMPLETED" } }
  for i, gid in ipairs(a.groups) do
    local g = self.groups[gid]
    groups[i] = g.arn
    for _, loc in ipairs(g.locations) do
      if not seen[loc.name] then
        seen[loc.name] = true
        reps[#reps + 1] = { Location = loc.name, Status = loc.status == "ACTIVE" and "COMPLETED" or "REPLICATING" }
      end
    end
  end
  v.AssociatedStreamGroups = groups
  if a.status == "READY" then v.ReplicationStatuses = reps end
  return v
end

local function session_summary(s, brief_export)
  local export = s.export
  if export and brief_export then export = { Status = export.Status } end
  return {
    Arn = s.arn, UserId = s.user_id, Status = s.status, StatusReason = s.reason, Protocol = s.protocol,
    LastUpdatedAt = s.updated, CreatedAt = s.created, ApplicationArn = s.app_arn,
    ExportFilesMetadata = export, Location = s.location, RoleArn = s.role,
  }
end

local function session_view(s)
  return {
    Arn = s.arn, Description = s.description, StreamGroupId = s.group.id, UserId = s.user_id,
    Status = s.status, StatusReason = s.reason, Protocol = s.protocol, Location = s.location,
    SignalRequest = s.offer, SignalResponse = s.answer,
    ConnectionTimeoutSeconds = s.conn_timeout, SessionLengthSeconds = s.length,
    AdditionalLaunchArgs = s.launch_args, AdditionalEnvironmentVariables = s.env,
    PerformanceStatsConfiguration = s.perf, LogFileLocationUri = s.log_uri,
    LastUpdatedAt = s.updated, CreatedAt = s.created, ApplicationArn = s.app_arn,
    ExportFilesMetadata = s.export, RoleArn = s.role, DisplayConfiguration = s.display,
  }
end

local function url_status(self, u)
  if u.status == "ACTIVE" and self:now() >= u.expires then return "EXPIRED" end
  return u.status
end

local function url_summary(self, u)
  return {
    Arn = u.arn, StreamUrlId = u.id, StreamUrl = u.url, Status = url_status(self, u), StatusReason = u.reason,
    ExpiresAt = u.expires, CreatedAt = u.created, UsageLimit = u.limit, RemainingUses = u.remaining,
    StreamGroupArn = u.group.arn, ApplicationArn = u.app_arn, SessionLengthSeconds = u.length,
    Description = u.description,
  }
end

local function url_view(self, u)
  local v = url_summary(self, u)
  v.Protocol = u.protocol
  v.Locations = u.locations
  v.AdditionalLaunchArgs = u.launch_args
  v.AdditionalEnvironmentVariables = u.env
  v.RoleArn = u.role
  v.DisplayConfiguration = u.display
  return v
end

---------------------------------------------------------------- state changes

local function touch(self, r) r.updated = stamp(self) end

-- Sets a session's status; leaving the live states releases its capacity and timers.
local function set_status(self, s, status, reason)
  local was_live = LIVE[s.status]
  s.status = status
  if reason then s.reason = reason end
  touch(self, s)
  if was_live and not LIVE[status] then
    local g = s.group
    g.live = g.live - 1
    g.live_by_loc[s.location] = g.live_by_loc[s.location] - 1
    s.app.live = s.app.live - 1
    cancel(self, s.t_state)
    cancel(self, s.t_length)
    s.t_state, s.t_length = nil, nil
    s.pending = false
    if s.export and s.export.Status == "PENDING" then s.export.Status = "SUCCEEDED" end
  end
end

local function end_session(self, s, status, reason)
  if LIVE[s.status] then set_status(self, s, status, reason) end
end

-- Timer functions of a session (static: no closure per timer).
local function connection_timeout(self, s)
  if s.status == "PENDING_CLIENT_RECONNECTION" then
    end_session(self, s, "TERMINATED", "reconnectionTimeout")
  elseif s.status == "ACTIVE" and s.pending then
    end_session(self, s, "TERMINATED", s.ever_connected and "reconnectionTimeout" or "connectionTimeout")
  end
end

local function start_connection_timer(self, s)
  cancel(self, s.t_state)
  s.t_state = self:after(s.conn_timeout, connection_timeout, self, s)
end

local function reconnected(self, s)
  if s.status == "RECONNECTING" then
    set_status(self, s, "ACTIVE")
    start_connection_timer(self, s)
  end
end

local function terminated(self, s) end_session(self, s, "TERMINATED", "apiTerminated") end

local function length_reached(self, s) end_session(self, s, "TERMINATED", "maxSessionLengthTimeout") end

-- An SDP-like answer that names the offer it answers by its SHA-256. Its other
-- fields look random but come from SHA-256 too (per emulator secret and counter):
-- this runs for every offer, so it stays cheap.
local function make_answer(self, s, digest)
  local h1 = core.sha256_hex(("%s\0%s\0%d\0%s"):format(self.secret, s.id, self:next_seq(), digest))
  local h2 = core.sha256_hex(h1)
  return table.concat({
    "v=0",
    ("o=- %d 2 IN IP4 127.0.0.1"):format(tonumber(h2:sub(1, 13), 16)),
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0",
    "a=x-gls-emulator:gameliftstreams " .. self.region,
    "a=x-gls-session:" .. s.id,
    "a=x-gls-offer-sha256:" .. digest,
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "c=IN IP4 0.0.0.0",
    "a=ice-ufrag:" .. h2:sub(14, 21),
    "a=ice-pwd:" .. h2:sub(22, 53),
    "a=fingerprint:sha-256 " .. h1:upper():gsub("(%x%x)", "%1:"):sub(1, -2),
    "a=setup:active",
    "a=mid:0",
    "a=sctp-port:5000",
    "",
  }, "\r\n")
end

local function activate(self, s)
  if s.status ~= "ACTIVATING" then return end
  s.t_state = nil
  if s.offer == NO_CLIENT then
    set_status(self, s, "ACTIVE")
    return
  end
  s.answer = make_answer(self, s, s.digest)
  s.pending = true
  set_status(self, s, "ACTIVE")
  start_connection_timer(self, s)
end

local function group_settle(self, g)
  g.t_state = nil
  if g.status == "DELETING" then
    -- gone: its sessions, URLs and associations with it
    for _, s in ipairs(g.session_list) do
      end_session(self, s, "TERMINATED", "apiTerminated")
      self.sessions[s.id] = nil
      list_remove(self.session_list, s)
    end
    for _, u in ipairs(self.url_list) do
      if u.group == g and u.status == "ACTIVE" then
        u.status, u.reason = "REVOKED", "streamGroupDeleted"
      end
    end
    for _, id in ipairs(g.apps) do
      local a = self.apps[id]
      if a then remove_value(a.groups, g.id) end
    end
    self.groups[g.id] = nil
    self.tags[g.arn] = nil
    list_remove(self.group_list, g)
    return
  end
  local kept = {}
  for _, loc in ipairs(g.locations) do
    if loc.status == "REMOVING" then
      g.loc_by_name[loc.name] = nil
    else
      if loc.status == "ACTIVATING" then loc.status = "ACTIVE" end
      kept[#kept + 1] = loc
    end
  end
  g.locations = kept
  if g.status == "ACTIVATING" or g.status == "UPDATING_LOCATIONS" then g.status = "ACTIVE" end
  touch(self, g)
end

local function group_transition(self, g, status)
  g.status = status
  touch(self, g)
  cancel(self, g.t_state)
  g.t_state = self:after(self.delays.stream_group, group_settle, self, g)
end

local function app_settle(self, a)
  a.t_state = nil
  if a.status == "INITIALIZED" then
    a.status = "PROCESSING"
    touch(self, a)
    a.t_state = self:after(self.delays.application / 2, app_settle, self, a)
  elseif a.status == "PROCESSING" then
    a.status = "READY"
    touch(self, a)
  elseif a.status == "DELETING" then
    for _, u in ipairs(self.url_list) do
      if u.app == a and u.status == "ACTIVE" then u.status, u.reason = "REVOKED", "applicationDeleted" end
    end
    self.apps[a.id] = nil
    self.tags[a.arn] = nil
    list_remove(self.app_list, a)
  end
end

local function add_app(self, input, status)
  local id = input.Id or unique_id("a-", 9, self.apps)
  local now = stamp(self)
  local a = {
    id = id, arn = arn(self, "application/" .. id), seq = self:next_seq(),
    description = input.Description, runtime = copy(input.RuntimeEnvironment),
    executable = input.ExecutablePath, source_uri = input.ApplicationSourceUri,
    log_paths = copy(input.ApplicationLogPaths) or {}, log_uri = input.ApplicationLogOutputUri,
    status = status, created = now, updated = now, groups = {}, live = 0,
  }
  self.apps[id] = a
  self.app_list[#self.app_list + 1] = a
  return a
end

local function associate(g, a)
  if g.app_set[a.id] then return end
  g.app_set[a.id] = true
  g.apps[#g.apps + 1] = a.id
  a.groups[#a.groups + 1] = g.id
  if not g.default then g.default = a.id end
end

local function add_group(self, input, status, default_app_rec)
  local id = input.Id or unique_id("sg-", 9, self.groups)
  local now = stamp(self)
  local g = {
    id = id, arn = arn(self, "streamgroup/" .. id), seq = self:next_seq(),
    description = input.Description, stream_class = input.StreamClass, status = status,
    created = now, updated = now, expires = now + 365 * 86400,
    locations = {}, loc_by_name = {}, apps = {}, app_set = {},
    session_list = {}, live = 0, live_by_loc = {},
  }
  local default_capacity = input.StreamClass:find("_high$") and 2 or 1
  local loc_status = status == "ACTIVE" and "ACTIVE" or "ACTIVATING"
  -- the primary location (the region) first, whatever the configurations say
  local cfgs = { { LocationName = self.region } }
  for _, cfg in ipairs(input.LocationConfigurations or {}) do
    if cfg.LocationName == self.region then cfgs[1] = cfg else cfgs[#cfgs + 1] = cfg end
  end
  for _, cfg in ipairs(cfgs) do
    if not g.loc_by_name[cfg.LocationName] then
      local loc = new_location(cfg, loc_status, default_capacity)
      g.locations[#g.locations + 1] = loc
      g.loc_by_name[loc.name] = loc
    end
  end
  self.groups[id] = g
  self.group_list[#self.group_list + 1] = g
  if default_app_rec then associate(g, default_app_rec) end
  return g
end

-- The start state: one READY application and one ACTIVE stream group using it.
function Emu:seed()
  local a = add_app(self, {
    Id = APPLICATION_ID, Description = "Emulated game", ExecutablePath = "bin/game",
    ApplicationSourceUri = "s3://gls-emulator-content/game/",
    RuntimeEnvironment = { Type = "PROTON", Version = "20241007" },
    ApplicationLogPaths = { "logs/" }, ApplicationLogOutputUri = "s3://gls-emulator-logs/game/",
  }, "READY")
  add_group(self, {
    Id = STREAM_GROUP_ID, Description = "Emulated stream group", StreamClass = "gen4n_high",
    LocationConfigurations = { { LocationName = self.region, AlwaysOnCapacity = 2, MaximumCapacity = 2 } },
  }, "ACTIVE", a)
end

---------------------------------------------------------------- pagination

-- Range check of an optional integer member, worded as the service words it.
local function check_int(input, name, lo, hi)
  local v = input[name]
  if v == nil then return true end
  local rule
  if math.type(v) ~= "integer" then
    rule = "Member must be an integer"
  elseif v < lo then
    rule = ("Member must have value greater than or equal to %d"):format(lo)
  elseif hi and v > hi then
    rule = ("Member must have value less than or equal to %d"):format(hi)
  else
    return true
  end
  return invalid("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s",
    tostring(v), lower_camel(name), rule)
end

local function page_token(self, op, scope, seq)
  local mac = core.sha256_hex(("%s\0%s\0%s\0%d"):format(self.secret, op, scope, seq)):sub(1, 24)
  return ("%x.%s"):format(seq, mac)
end

-- A page of list (ascending .seq) for op: items passing keep, shown by view.
local function page(self, op, scope, list, input, keep, view)
  local ok, err = check_int(input, "MaxResults", 1, 100)
  if not ok then return nil, err end
  local max = input.MaxResults or 25
  local start = 1
  local token = input.NextToken
  if token ~= nil then
    local hex = type(token) == "string" and token:match("^(%x+)%.%x+$")
    local seq = hex and tonumber(hex, 16)
    if not seq or page_token(self, op, scope, seq) ~= token then
      return invalid("The NextToken '%s' is not valid for %s.", tostring(token), op)
    end
    start = lower_bound(list, seq)
  end
  local items, n = {}, 0
  for i = start, #list do
    local item = list[i]
    if keep == nil or keep(item) then
      if n == max then
        return 200, { Items = items, NextToken = page_token(self, op, scope, item.seq) }
      end
      n = n + 1
      items[n] = view(self, item)
    end
  end
  return 200, { Items = items }
end

---------------------------------------------------------------- operation handlers

local OPS = {}


function OPS.CreateApplication(self, input)
  local a = add_app(self, input, "INITIALIZED")
  a.t_state = self:after(self.delays.application / 2, app_settle, self, a)
  if input.Tags then self.tags[a.arn] = copy(input.Tags) end
  return 201, app_view(self, a)
end

function OPS.GetApplication(self, input)
  local a, err = need_app(self, input.Identifier)
  if not a then return nil, err end
  return 200, app_view(self, a)
end

function OPS.ListApplications(self, input)
  return page(self, "ListApplications", "", self.app_list, input, nil,
    function(_, a) return app_summary(a) end)
end

function OPS.UpdateApplication(self, input)
  local a, err = need_app(self, input.Identifier)
  if not a then return nil, err end
  if a.status == "DELETING" then return invalid("Application '%s' is being deleted.", a.id) end
  if input.Description ~= nil then a.description = input.Description end
  if input.ApplicationLogPaths ~= nil then a.log_paths = copy(input.ApplicationLogPaths) end
  if input.ApplicationLogOutputUri ~= nil then
    a.log_uri = input.ApplicationLogOutputUri ~= "" and input.ApplicationLogOutputUri or nil
  end
  touch(self, a)
  return 200, app_view(self, a)
end

function OPS.DeleteApplication(self, input)
  local a, err = need_app(self, input.Identifier)
  if not a then return nil, err end
  if a.status == "DELETING" then return 204 end
  if a.status == "INITIALIZED" or a.status == "PROCESSING" then
    return conflict("Application '%s' is in %s status; it can be deleted once it is READY or ERROR.",
      a.id, a.status)
  end
  if #a.groups > 0 then
    return conflict("Application '%s' is associated with stream group(s) %s; disassociate it first.",
      a.id, table.concat(a.groups, ", "))
  end
  if a.live > 0 then
    return conflict("Application '%s' is streaming in %d stream session(s).", a.id, a.live)
  end
  a.status = "DELETING"
  touch(self, a)
  a.t_state = self:after(self.delays.application, app_settle, self, a)
  return 204
end

function OPS.ListApplicationShaderCaches(self, input)
  local a, err = need_app(self, input.Identifier)
  if not a then return nil, err end
  local items = {}
  if a.status == "READY" then
    local groups = {}
    for i, gid in ipairs(a.groups) do groups[i] = self.groups[gid].arn end
    items[1] = {
      Identifier = core.sha256_hex(a.arn):sub(1, 32), ApplicationArn = a.arn, Status = "READY",
      LastUpdatedAt = a.updated, StorageBytes = 268435456, AssociatedStreamGroups = groups,
    }
  end
  return 200, { Items = items }
end

function OPS.CreateStreamGroup(self, input)
  local a
  if input.DefaultApplicationIdentifier ~= nil then
    local err
    a, err = need_app(self, input.DefaultApplicationIdentifier)
    if not a then return nil, err end
    if a.status ~= "READY" then
      return invalid("Application '%s' is in %s status; a default application must be READY.", a.id, a.status)
    end
  end
  local seen = {}
  for _, cfg in ipairs(input.LocationConfigurations or {}) do
    if seen[cfg.LocationName] then return invalid("Location '%s' is listed twice.", cfg.LocationName) end
    seen[cfg.LocationName] = true
  end
  local g = add_group(self, {
    Description = input.Description, StreamClass = input.StreamClass,
    LocationConfigurations = input.LocationConfigurations,
  }, "ACTIVATING", a)
  g.t_state = self:after(self.delays.stream_group, group_settle, self, g)
  if input.Tags then self.tags[g.arn] = copy(input.Tags) end
  return 201, group_view(self, g)
end

function OPS.GetStreamGroup(self, input)
  local g, err = need_group(self, input.Identifier)
  if not g then return nil, err end
  return 200, group_view(self, g)
end

function OPS.ListStreamGroups(self, input)
  return page(self, "ListStreamGroups", "", self.group_list, input, nil, group_summary)
end

function OPS.UpdateStreamGroup(self, input)
  local g, err = need_group(self, input.Identifier)
  if not g then return nil, err end
  if g.status ~= "ACTIVE" then
    return conflict("Stream group '%s' is in %s status; it can be updated only when ACTIVE.", g.id, g.status)
  end
  local a
  if input.DefaultApplicationIdentifier ~= nil then
    a, err = need_app(self, input.DefaultApplicationIdentifier)
    if not a then return nil, err end
    if not g.app_set[a.id] then
      return invalid("Application '%s' is not associated with stream group '%s'.", a.id, g.id)
    end
  end
  for _, cfg in ipairs(input.LocationConfigurations or {}) do
    if not g.loc_by_name[cfg.LocationName] then
      return invalid("Location '%s' is not a location of stream group '%s'; use AddStreamGroupLocations.",
        cfg.LocationName, g.id)
    end
  end
  for _, cfg in ipairs(input.LocationConfigurations or {}) do
    local loc = g.loc_by_name[cfg.LocationName]
    if cfg.AlwaysOnCapacity then loc.always_on = cfg.AlwaysOnCapacity end
    if cfg.OnDemandCapacity then loc.on_demand = cfg.OnDemandCapacity end
    if cfg.TargetIdleCapacity then loc.target_idle = cfg.TargetIdleCapacity end
    if cfg.MaximumCapacity then loc.maximum = cfg.MaximumCapacity end
  end
  if input.Description ~= nil then g.description = input.Description end
  if a then g.default = a.id end
  touch(self, g)
  return 200, group_view(self, g)
end

function OPS.DeleteStreamGroup(self, input)
  local g, err = need_group(self, input.Identifier)
  if not g then return nil, err end
  if g.status == "DELETING" then return 204 end
  if g.live > 0 then
    return conflict("Stream group '%s' has %d stream session(s) in progress; terminate them first.", g.id, g.live)
  end
  group_transition(self, g, "DELETING")
  return 204
end

local function need_active_group(self, ident, verb)
  local g, err = need_group(self, ident)
  if not g then return nil, err end
  if g.status ~= "ACTIVE" then
    return invalid("Stream group '%s' is in %s status; %s needs it ACTIVE.", g.id, g.status, verb)
  end
  return g
end

function OPS.AddStreamGroupLocations(self, input)
  local g, err = need_active_group(self, input.Identifier, "adding locations")
  if not g then return nil, err end
  local seen = {}
  for _, cfg in ipairs(input.LocationConfigurations) do
    if g.loc_by_name[cfg.LocationName] or seen[cfg.LocationName] then
      return invalid("Location '%s' is already a location of stream group '%s'.", cfg.LocationName, g.id)
    end
    seen[cfg.LocationName] = true
  end
  local default_capacity = g.stream_class:find("_high$") and 2 or 1
  local added = {}
  for _, cfg in ipairs(input.LocationConfigurations) do
    local loc = new_location(cfg, "ACTIVATING", default_capacity)
    g.locations[#g.locations + 1] = loc
    g.loc_by_name[loc.name] = loc
    added[#added + 1] = location_view(g, loc)
  end
  group_transition(self, g, "UPDATING_LOCATIONS")
  return 200, { Identifier = g.arn, Locations = added }
end

function OPS.RemoveStreamGroupLocations(self, input)
  local g, err = need_active_group(self, input.Identifier, "removing locations")
  if not g then return nil, err end
  for _, name in ipairs(input.Locations) do
    if name == self.region then
      return invalid("Location '%s' is the primary location of stream group '%s' and cannot be removed.",
        name, g.id)
    end
    if not g.loc_by_name[name] then
      return invalid("Location '%s' is not a location of stream group '%s'.", name, g.id)
    end
  end
  for _, name in ipairs(input.Locations) do g.loc_by_name[name].status = "REMOVING" end
  group_transition(self, g, "UPDATING_LOCATIONS")
  return 204
end

local function resolve_apps(self, idents)
  local apps = {}
  for i, ident in ipairs(idents) do
    local a, err = need_app(self, ident)
    if not a then return nil, err end
    apps[i] = a
  end
  return apps
end

function OPS.AssociateApplications(self, input)
  local g, err = need_active_group(self, input.Identifier, "associating applications")
  if not g then return nil, err end
  local apps
  apps, err = resolve_apps(self, input.ApplicationIdentifiers)
  if not apps then return nil, err end
  for _, a in ipairs(apps) do
    if a.status ~= "READY" then
      return invalid("Application '%s' is in %s status; only READY applications can be associated.",
        a.id, a.status)
    end
  end
  local arns = {}
  for i, a in ipairs(apps) do
    associate(g, a)
    arns[i] = a.arn
  end
  touch(self, g)
  return 200, { Arn = g.arn, ApplicationArns = arns }
end

function OPS.DisassociateApplications(self, input)
  local g, err = need_active_group(self, input.Identifier, "disassociating applications")
  if not g then return nil, err end
  local apps
  apps, err = resolve_apps(self, input.ApplicationIdentifiers)
  if not apps then return nil, err end
  local arns = {}
  for _, a in ipairs(apps) do
    if g.app_set[a.id] then
      g.app_set[a.id] = nil
      remove_value(g.apps, a.id)
      remove_value(a.groups, g.id)
      arns[#arns + 1] = a.arn
      if g.default == a.id then g.default = g.apps[1] end
    end
  end
  touch(self, g)
  return 200, { Arn = g.arn, ApplicationArns = arns }
end

function OPS.StartStreamSession(self, input, ctx)
  local ok, err = check_int(input, "ConnectionTimeoutSeconds", 1, 3600)
  if ok then ok, err = check_int(input, "SessionLengthSeconds", 1, 86400) end
  if not ok then return nil, err end
  local g
  g, err = need_group(self, input.Identifier)
  if not g then return nil, err end
  if not STREAMING[g.status] then
    return conflict("Stream group '%s' is in %s status; stream sessions start only in an ACTIVE stream group.",
      g.id, g.status)
  end
  local a
  a, err = need_app(self, input.ApplicationIdentifier)
  if not a then return nil, err end
  if not g.app_set[a.id] then
    return invalid("Application '%s' is not associated with stream group '%s'.", a.id, g.id)
  end
  local location
  for _, name in ipairs(input.Locations or { self.region }) do
    local loc = g.loc_by_name[name]
    if loc and loc.status == "ACTIVE" then
      location = name
      break
    end
  end
  if not location then
    return invalid("None of the locations [%s] is an ACTIVE location of stream group '%s'.",
      table.concat(input.Locations, ", "), g.id)
  end
  local id = unique_id("", 13, self.sessions)
  local offer = input.SignalRequest
  local now = stamp(self)
  local s = {
    id = id, arn = arn(self, ("streamsession/%s/%s"):format(g.id, id)), seq = self:next_seq(),
    group = g, app = a, app_arn = a.arn, status = "ACTIVATING", created = now, updated = now,
    description = input.Description, user_id = input.UserId, protocol = input.Protocol, location = location,
    offer = offer, offers = {}, noffers = 0,
    conn_timeout = input.ConnectionTimeoutSeconds or 120, length = input.SessionLengthSeconds or 43200,
    launch_args = copy(input.AdditionalLaunchArgs), env = copy(input.AdditionalEnvironmentVariables),
    perf = copy(input.PerformanceStatsConfiguration), role = input.RoleArn,
    display = copy(input.DisplayConfiguration) or { Resolution = { Width = 1920, Height = 1080 } },
    log_uri = a.log_uri and (a.log_uri:gsub("/?$", "/") .. id .. "/") or nil,
  }
  if offer ~= NO_CLIENT then
    s.digest = core.sha256_hex(offer)
    s.offers[s.digest] = true
    s.noffers = 1
  end
  self.sessions[id] = s
  self.session_list[#self.session_list + 1] = s
  g.session_list[#g.session_list + 1] = s
  g.live = g.live + 1
  g.live_by_loc[location] = (g.live_by_loc[location] or 0) + 1
  a.live = a.live + 1
  s.t_state = self:after(self.delays.activation, activate, self, s)
  s.t_length = self:after(s.length, length_reached, self, s)
  ctx.session = id
  return 201, session_view(s)
end

function OPS.GetStreamSession(self, input, ctx)
  local s, err = need_session(self, input, ctx)
  if not s then return nil, err end
  return 200, session_view(s)
end

local function session_filter(input)
  local status, export = input.Status, input.ExportFilesStatus
  if status ~= nil and not SESSION_STATUSES[status] then
    return invalid("1 validation error detected: Value '%s' at 'status' failed to satisfy constraint: "
      .. "Member must satisfy enum value set: [ACTIVATING, ACTIVE, CONNECTED, PENDING_CLIENT_RECONNECTION, "
      .. "RECONNECTING, TERMINATING, TERMINATED, ERROR]", tostring(status))
  end
  if status == nil and export == nil then return true end
  return function(s)
    return (status == nil or s.status == status)
      and (export == nil or (s.export ~= nil and s.export.Status == export))
  end
end

function OPS.ListStreamSessions(self, input)
  local g, err = need_group(self, input.Identifier)
  if not g then return nil, err end
  local keep, ferr = session_filter(input)
  if not keep then return nil, ferr end
  return page(self, "ListStreamSessions", g.id, g.session_list, input, keep ~= true and keep or nil,
    function(_, s) return session_summary(s, false) end)
end

function OPS.ListStreamSessionsByAccount(self, input)
  local keep, ferr = session_filter(input)
  if not keep then return nil, ferr end
  return page(self, "ListStreamSessionsByAccount", "", self.session_list, input, keep ~= true and keep or nil,
    function(_, s) return session_summary(s, true) end)
end

function OPS.CreateStreamSessionConnection(self, input, ctx)
  local s, g = need_session(self, input, ctx)
  if not s then return nil, g end
  if not STREAMING[g.status] then
    return conflict("Stream group '%s' is in %s status; reconnecting needs it ACTIVE.", g.id, g.status)
  end
  if s.status ~= "ACTIVE" and s.status ~= "PENDING_CLIENT_RECONNECTION" then
    return conflict("Stream session '%s' is in %s status; a connection can be created only in "
      .. "ACTIVE or PENDING_CLIENT_RECONNECTION status.", s.id, s.status)
  end
  local offer = input.SignalRequest
  if offer == NO_CLIENT then
    return invalid("SignalRequest NO_CLIENT_CONNECTION is valid only for StartStreamSession.")
  end
  local digest = core.sha256_hex(offer)
  if s.offers[digest] then
    return invalid("The SignalRequest was already used with stream session '%s'; "
      .. "the offer must be newly generated.", s.id)
  end
  s.offers[digest] = true
  s.noffers = s.noffers + 1
  s.offer, s.digest = offer, digest
  s.answer = make_answer(self, s, digest)
  s.pending = true
  set_status(self, s, "RECONNECTING")
  cancel(self, s.t_state)
  s.t_state = self:after(self.delays.reconnect, reconnected, self, s)
  return 200, { SignalResponse = s.answer }
end

function OPS.TerminateStreamSession(self, input, ctx)
  local s, err = need_session(self, input, ctx)
  if not s then return nil, err end
  if s.status == "ACTIVATING" then
    return conflict("Stream session '%s' is in ACTIVATING status and cannot be terminated until it is ACTIVE.",
      s.id)
  end
  if not IN_PROGRESS[s.status] then return 204 end
  set_status(self, s, "TERMINATING", "apiTerminated")
  cancel(self, s.t_length)
  s.t_length = nil
  cancel(self, s.t_state)
  s.t_state = self:after(self.delays.terminate, terminated, self, s)
  return 204
end

function OPS.CreateStreamSessionAdminShell(self, input, ctx)
  local s, err = need_session(self, input, ctx)
  if not s then return nil, err end
  if not IN_PROGRESS[s.status] then
    return fail("StreamSessionAccessNotReadyException", 409,
      "Stream session '%s' is in %s status; an admin shell needs ACTIVE, CONNECTED, "
      .. "PENDING_CLIENT_RECONNECTION or RECONNECTING.", s.id, s.status)
  end
  local sid = "gls-emulator-" .. random_hex(17)
  return 200, {
    SessionId = sid,
    StreamUrl = ("wss://ssmmessages.%s.amazonaws.com/v1/data-channel/%s?role=publish_subscribe"):format(
      self.region, sid),
    TokenValue = random_chars(64),
  }
end

function OPS.ExportStreamSessionFiles(self, input, ctx)
  local s, err = need_session(self, input, ctx)
  if not s then return nil, err end
  if not IN_PROGRESS[s.status] then
    return invalid("Stream session '%s' is in %s status; files can be exported only from a session in "
      .. "ACTIVE, CONNECTED, PENDING_CLIENT_RECONNECTION or RECONNECTING status.", s.id, s.status)
  end
  s.export = { Status = "PENDING", OutputUri = input.OutputUri }
  touch(self, s)
  return 200, {}
end

function OPS.CreateStreamUrl(self, input)
  local ok, err = check_int(input, "UrlExpiresAfterMinutes", 1)
  if ok then ok, err = check_int(input, "UsageLimit", 1) end
  if ok then ok, err = check_int(input, "SessionLengthSeconds", 1, 86400) end
  if not ok then return nil, err end
  local g
  g, err = need_group(self, input.Identifier)
  if not g then return nil, err end
  if g.status ~= "ACTIVE" then
    return conflict("Stream group '%s' is in %s status; stream URLs need it ACTIVE.", g.id, g.status)
  end
  local a
  a, err = need_app(self, input.ApplicationIdentifier)
  if not a then return nil, err end
  if not g.app_set[a.id] then
    return invalid("Application '%s' is not associated with stream group '%s'.", a.id, g.id)
  end
  local id = unique_id("su-", 9, self.urls)
  local now = stamp(self)
  local limit = input.UsageLimit or 1
  local u = {
    id = id, arn = arn(self, ("streamurl/%s/%s"):format(g.id, id)), seq = self:next_seq(),
    group = g, app = a, app_arn = a.arn, status = "ACTIVE", created = now,
    expires = now + input.UrlExpiresAfterMinutes * 60, limit = limit, remaining = limit,
    url = ("https://play.gameliftstreams.%s.amazonaws.com/%s#%s"):format(self.region, id, random_chars(43)),
    protocol = input.Protocol, locations = copy(input.Locations), length = input.SessionLengthSeconds or 43200,
    description = input.Description, launch_args = copy(input.AdditionalLaunchArgs),
    env = copy(input.AdditionalEnvironmentVariables), role = input.RoleArn,
    display = copy(input.DisplayConfiguration),
  }
  self.urls[id] = u
  self.url_list[#self.url_list + 1] = u
  return 201, url_view(self, u)
end

function OPS.GetStreamUrl(self, input)
  local g, err = need_group(self, input.Identifier)
  if not g then return nil, err end
  local u = url_in(self, g, input.StreamUrlIdentifier)
  if not u then
    return not_found("Stream URL '%s' was not found in stream group '%s'.", input.StreamUrlIdentifier, g.id)
  end
  local v = url_view(self, u)
  v.StreamSessions = {}
  return 200, v
end

function OPS.ListStreamUrls(self, input)
  local g, scope = nil, ""
  if input.StreamGroupIdentifier ~= nil then
    local err
    g, err = need_group(self, input.StreamGroupIdentifier)
    if not g then return nil, err end
    scope = g.id
  end
  local status = input.Status
  local keep
  if g or status then
    keep = function(u) return (g == nil or u.group == g) and (status == nil or url_status(self, u) == status) end
  end
  return page(self, "ListStreamUrls", scope, self.url_list, input, keep, url_summary)
end

function OPS.RevokeStreamUrl(self, input)
  local g, err = need_group(self, input.Identifier)
  if not g then return nil, err end
  local u = url_in(self, g, input.StreamUrlIdentifier)
  if not u then
    return not_found("Stream URL '%s' was not found in stream group '%s'.", input.StreamUrlIdentifier, g.id)
  end
  if u.status == "ACTIVE" then
    u.status = "REVOKED"
    u.reason = input.RevocationMode == "REVOKE_AND_TERMINATE_SESSIONS" and "revokedAndSessionsTerminated"
      or "userRevoked"
  end
  return 204
end

-- The tag table of a taggable resource by ARN (applications and stream groups).
local function tags_of(self, resource_arn)
  local res = arn_resource(self, resource_arn)
  local kind, id = (res or ""):match("^(%a+)/([^/]+)$")
  local r = (kind == "application" and self.apps[id]) or (kind == "streamgroup" and self.groups[id])
  if not r then return not_found("Resource '%s' was not found.", resource_arn) end
  local t = self.tags[r.arn]
  if not t then
    t = {}
    self.tags[r.arn] = t
  end
  return t
end

function OPS.TagResource(self, input)
  local t, err = tags_of(self, input.ResourceArn)
  if not t then return nil, err end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for k in pairs(input.Tags) do
    if t[k] == nil then n = n + 1 end
  end
  if n > 50 then return invalid("A resource can have at most 50 tags; this request would make %d.", n) end
  for k, v in pairs(input.Tags) do t[k] = v end
  return 200, {}
end

function OPS.UntagResource(self, input)
  local t, err = tags_of(self, input.ResourceArn)
  if not t then return nil, err end
  for _, k in ipairs(input.TagKeys) do t[k] = nil end
  return 200, {}
end

function OPS.ListTagsForResource(self, input)
  local t, err = tags_of(self, input.ResourceArn)
  if not t then return nil, err end
  if next(t) == nil then return 200, {} end
  return 200, { Tags = copy(t) }
end

---------------------------------------------------------------- dispatch

local function missing_members(op, input)
  local errs
  for _, name in ipairs(REQUIRED[op]) do
    if input[name] == nil or input[name] == null then
      errs = errs or {}
      errs[#errs + 1] = ("Value null at '%s' failed to satisfy constraint: Member must not be null")
        :format(lower_camel(name))
    end
  end
  if not errs then return nil end
  return select(2, invalid("%d validation error%s detected: %s", #errs, #errs > 1 and "s" or "",
    table.concat(errs, "; ")))
end

-- Keeps a reply for its ClientToken; forgets the oldest past idempotency_ttl or
-- beyond max_tokens (a benchmark sends thousands a second).
local function remember(self, key, entry)
  local now = self:now()
  local q, idem = self.idem_queue, self.idem
  local first, last = self.idem_first, self.idem_last + 1
  entry.key, entry.at = key, now
  idem[key] = entry
  q[last] = entry
  while first <= last and (q[first].at + self.idempotency_ttl <= now or last - first + 1 > self.max_tokens) do
    local old = q[first]
    if idem[old.key] == old then idem[old.key] = nil end
    q[first] = nil
    first = first + 1
  end
  self.idem_first, self.idem_last = first, last
end

--- emu:dispatch(op, input, ctx) -> status, output | nil, err
-- The service logic of one operation; input is keyed by the model's member names
-- (as core.emu_input makes it). ctx (optional) receives ctx.session, the stream
-- session the call was about. Unknown operations and non-table inputs raise.
function Emu:dispatch(op, input, ctx)
  local fn = OPS[op]
  if not fn then error(("bad argument #1 to 'dispatch' (unknown operation '%s')"):format(tostring(op)), 2) end
  if type(input) ~= "table" then
    error(("bad argument #2 to 'dispatch' (table expected, got %s)"):format(type(input)), 2)
  end
  ctx = ctx or {}
  local merr = missing_members(op, input)
  if merr then return nil, merr end
  local token = IDEMPOTENT[op] and input.ClientToken
  local key, fp
  if type(token) == "string" then
    key = op .. "\0" .. token
    fp = core.sha256_hex(table.concat(fingerprint(input, true, {})))
    local prev = self.idem[key]
    if prev then
      if prev.fp == fp then
        ctx.session = prev.session
        return prev.status, prev.out
      end
      return invalid("The ClientToken '%s' was already used for a different %s request; "
        .. "use a new ClientToken for a new request.", token, op)
    end
  end
  local status, out = fn(self, input, ctx)
  if status and key then
    remember(self, key, { fp = fp, status = status, out = out, session = ctx.session })
  end
  return status, out
end

---------------------------------------------------------------- quotas, faults, request log

-- Takes one call from op's bucket: true, or nil when the quota is spent.
function Emu:admit(op)
  local b = self.quotas[op]
  if not b then return true end
  local now = self:now()
  local tokens = b.tokens + (now - b.last) * b.rate
  if tokens > b.burst then tokens = b.burst end
  b.last = now
  if tokens < 1 then
    b.tokens = tokens
    return nil
  end
  b.tokens = tokens - 1
  return true
end

-- The first pending fault for op (nil = unroutable request), consumed by one.
function Emu:take_fault(op)
  local faults = self.faults
  for i = 1, #faults do
    local f = faults[i]
    if f.operation == nil or f.operation == op then
      f.count = f.count - 1
      if f.count <= 0 then table.remove(faults, i) end
      return f
    end
  end
  return nil
end

function Emu:log_request(op, status, code, session, token)
  local last = self.log_last + 1
  self.log_last = last
  self.log[last] = { op, status, code, stamp(self), session, token }
  if last - self.log_first + 1 > self.max_requests then
    self.log[self.log_first] = nil
    self.log_first = self.log_first + 1
  end
end

local function session_label(ident)
  if type(ident) ~= "string" then return nil end
  return ident:match("([^/]+)$")
end

--- emu:call(op, input, ctx) -> status, output | nil, err
-- As the HTTP path does, without HTTP: faults, quota, dispatch, request log.
-- A drop/truncate/malformed fault gives err.code "EmulatorFault" (no status).
function Emu:call(op, input, ctx)
  if not OPS[op] then error(("bad argument #1 to 'call' (unknown operation '%s')"):format(tostring(op)), 2) end
  ctx = ctx or {}
  local label = type(input) == "table" and session_label(input.StreamSessionIdentifier) or nil
  local token = type(input) == "table" and type(input.ClientToken) == "string" and input.ClientToken or nil
  local f = self.faults[1] and self:take_fault(op)
  if f then
    if f.status and not (f.drop or f.truncate or f.malformed or f.body_bytes) then
      self:log_request(op, f.status, f.code, label, token)
      return fail(f.code, f.status, f.message)
    end
    if f.drop or f.truncate or f.malformed or f.body_bytes then
      local what = f.drop and "drop" or f.truncate and "truncate" or f.malformed and "malformed" or "body_bytes"
      local sent = nil  -- a dropped connection sends no status
      if not f.drop then sent = f.status or 200 end
      self:log_request(op, sent, "EmulatorFault", label, token)
      return fail("EmulatorFault", nil, "injected fault: %s", what)
    end
  end
  if not self:admit(op) then
    self:log_request(op, 429, "ThrottlingException", label, token)
    return fail("ThrottlingException", 429, "Rate exceeded")
  end
  local status, out = self:dispatch(op, input, ctx)
  if status then
    self:log_request(op, status, nil, ctx.session or label, token)
    return status, out
  end
  self:log_request(op, out.status, out.code, ctx.session or label, token)
  return nil, out
end

---------------------------------------------------------------- control API

local function encode_list(list)
  if #list == 0 then return "[]" end
  return json.encode(list)
end

local function control_error(status, code, fmt, ...)
  local msg = select("#", ...) > 0 and fmt:format(...) or fmt
  return status, json.encode({ code = code, message = msg })
end

local function bad_request(fmt, ...) return control_error(400, "BadRequest", fmt, ...) end

local function control_session(s)
  return {
    Arn = s.arn, Id = s.id, StreamGroupId = s.group.id, ApplicationArn = s.app_arn,
    Status = s.status, StatusReason = s.reason or null, Location = s.location,
    ConnectionTimeoutSeconds = s.conn_timeout, SessionLengthSeconds = s.length,
    Offers = s.noffers, AnswerPending = s.pending and true or false,
    UserId = s.user_id or null, CreatedAt = s.created, LastUpdatedAt = s.updated,
  }
end

local function fault_view(f)
  return {
    status = f.status or null, count = f.count, operation = f.operation or null,
    latency_ms = f.latency_ms or null, drop = f.drop or false, truncate = f.truncate or false,
    malformed = f.malformed or false, body_bytes = f.body_bytes or null, code = f.code or null,
  }
end

local CONTROL = {}

function CONTROL.health(self)
  return 200, json.encode({ status = "ok", clock = self.virtual and "virtual" or "real", now = stamp(self),
    region = self.region, account = self.account })
end

function CONTROL.clock(self, method, body)
  if method == "GET" then
    return 200, json.encode({ now = stamp(self), clock = self.virtual and "virtual" or "real" })
  end
  if method ~= "POST" then return nil end
  local s = body.advance
  if type(s) ~= "number" or s < 0 or s ~= s or s == math.huge then
    return bad_request("'advance' must be a number of seconds >= 0")
  end
  self:advance(s)
  return 200, json.encode({ now = stamp(self) })
end

-- A JSON number (cjson decodes them all as floats) as an integer, or nil.
local function json_int(v)
  if type(v) ~= "number" then return nil end
  return math.tointeger(v)
end

local function parse_fault(body)
  local f = {}
  local status = body.status
  if status ~= nil and status ~= null then
    status = json_int(status)
    if not status or status < 400 or status > 599 then
      return nil, "'status' must be an HTTP status between 400 and 599"
    end
    f.status = status
  end
  local count = body.count
  if count == nil or count == null then count = 1 end
  count = json_int(count)
  if not count or count < 1 then return nil, "'count' must be an integer >= 1" end
  f.count = count
  local op = body.operation
  if op ~= nil and op ~= null then
    if type(op) ~= "string" or not REQUIRED[op] then return nil, "'operation' must name an operation of the model" end
    f.operation = op
  end
  local latency = body.latency_ms
  if latency ~= nil and latency ~= null then
    if type(latency) ~= "number" or latency < 0 or latency ~= latency or latency > 3600000 then
      return nil, "'latency_ms' must be a number of milliseconds between 0 and 3600000"
    end
    f.latency_ms = latency
  end
  local n = 0
  for _, k in ipairs({ "drop", "truncate", "malformed" }) do
    local v = body[k]
    if v ~= nil and v ~= null then
      if type(v) ~= "boolean" then return nil, ("'%s' must be true or false"):format(k) end
      if v then
        f[k] = true
        n = n + 1
      end
    end
  end
  local size = body.body_bytes
  if size ~= nil and size ~= null then
    size = json_int(size)
    if not size or size < 8 or size > MAX_FAULT_BODY then
      return nil, ("'body_bytes' must be an integer between 8 and %d"):format(MAX_FAULT_BODY)
    end
    f.body_bytes = size
    n = n + 1
  end
  if n > 1 then return nil, "'drop', 'truncate', 'malformed' and 'body_bytes' exclude one another" end
  if not (f.status or n > 0 or f.latency_ms) then
    return nil, "a fault needs 'status', 'drop', 'truncate', 'malformed', 'body_bytes' or 'latency_ms'"
  end
  for _, k in ipairs({ "code", "message" }) do
    local v = body[k]
    if v ~= nil and v ~= null then
      if type(v) ~= "string" or v == "" then return nil, ("'%s' must be a non-empty string"):format(k) end
      f[k] = v
    end
  end
  if f.status then
    f.code = f.code or FAULT_CODES[f.status] or (f.status >= 500 and "InternalServerException")
      or "ValidationException"
    f.message = f.message or FAULT_MESSAGES[f.code] or ("Injected fault (%d %s)"):format(f.status, f.code)
  end
  return f
end

function CONTROL.faults(self, method, body)
  if method == "GET" then
    local list = {}
    for i, f in ipairs(self.faults) do list[i] = fault_view(f) end
    return 200, encode_list(list)
  elseif method == "DELETE" then
    local n = #self.faults
    self.faults = {}
    return 200, json.encode({ cleared = n })
  elseif method ~= "POST" then
    return nil
  end
  local f, why = parse_fault(body)
  if not f then return bad_request("%s", why) end
  if f.latency_ms and f.latency_ms > 0 and not self.respond then
    return bad_request("'latency_ms' needs a responder (emulator.new{respond = srv:respond})")
  end
  -- made once, here: building 16 MiB takes long enough to pass for a silent server
  if f.body_bytes then f.body = '{"x":"' .. ("x"):rep(f.body_bytes - 8) .. '"}' end
  self.faults[#self.faults + 1] = f
  return 201, json.encode(fault_view(f))
end

function CONTROL.quotas(self, method, body)
  if method == "POST" then
    local set = {}
    for op, v in pairs(body) do
      if op ~= "*" and not REQUIRED[op] then return bad_request("unknown operation '%s'", tostring(op)) end
      if v == null or v == false then v = 0 end
      if type(v) ~= "number" or v < 0 or v ~= v or v == math.huge then
        return bad_request("'%s' must be calls per second >= 0 (0 or null = unlimited)", op)
      end
      set[op] = v
    end
    apply_quotas(self, set)
  elseif method ~= "GET" then
    return nil
  end
  local out = {}
  for _, op in ipairs(OPERATIONS) do
    local b = self.quotas[op]
    out[op] = b and b.rate or 0
  end
  return 200, json.encode(out)
end

function CONTROL.delays(self, method, body)
  if method == "POST" then
    for k, v in pairs(body) do
      if DEFAULT_DELAYS[k] == nil then return bad_request("unknown delay '%s'", tostring(k)) end
      if type(v) ~= "number" or v < 0 or v ~= v or v > 86400 then
        return bad_request("'%s' must be seconds between 0 and 86400", k)
      end
    end
    for k, v in pairs(body) do self.delays[k] = v end
  elseif method ~= "GET" then
    return nil
  end
  return 200, json.encode(self.delays)
end

function CONTROL.requests(self, method)
  if method == "DELETE" then
    local n = self.log_last - self.log_first + 1
    self.log, self.log_first, self.log_last = {}, 1, 0
    return 200, json.encode({ cleared = n })
  elseif method ~= "GET" then
    return nil
  end
  local list = {}
  for i = self.log_first, self.log_last do
    local e = self.log[i]
    list[#list + 1] = { operation = e[1] or null, status = e[2] or null, error = e[3] or null, time = e[4],
      session = e[5] or null, client_token = e[6] or null }
  end
  return 200, encode_list(list)
end

function CONTROL.reset(self, method)
  if method ~= "POST" then return nil end
  self:reset()
  return 200, json.encode({ now = stamp(self) })
end

-- /_emulator/sessions[/{id}[/{action}]]
local function control_sessions(self, method, id, action, body)
  if not id then
    if method ~= "GET" then return nil end
    local list = {}
    for i, s in ipairs(self.session_list) do list[i] = control_session(s) end
    return 200, encode_list(list)
  end
  local s = self.sessions[percent_decode(id)]
  if not s then return control_error(404, "NotFound", "no stream session '%s'", id) end
  if not action then
    if method ~= "GET" then return nil end
    return 200, json.encode(control_session(s))
  end
  if method ~= "POST" then return nil end
  if action == "connect" then
    -- A device may use its answer as soon as CreateStreamSessionConnection
    -- returned it, before RECONNECTING has turned ACTIVE.
    if (s.status ~= "ACTIVE" and s.status ~= "RECONNECTING") or not s.pending then
      return control_error(409, "Conflict", "stream session '%s' is %s%s; a client connects to an ACTIVE "
        .. "or RECONNECTING session with an answer outstanding", s.id, s.status,
        s.status == "ACTIVE" and " with no answer outstanding" or "")
    end
    cancel(self, s.t_state)
    s.t_state = nil
    s.pending = false
    s.ever_connected = true
    set_status(self, s, "CONNECTED")
  elseif action == "disconnect" then
    if s.status ~= "CONNECTED" then
      return control_error(409, "Conflict", "stream session '%s' is %s; only a CONNECTED session can lose "
        .. "its client", s.id, s.status)
    end
    set_status(self, s, "PENDING_CLIENT_RECONNECTION")
    start_connection_timer(self, s)
  elseif action == "terminate" or action == "error" then
    local reason = body.reason
    local reasons = action == "terminate" and TERMINATED_REASONS or ERROR_REASONS
    if reason == nil or reason == null then reason = action == "terminate" and "applicationExit" or "internalError" end
    if type(reason) ~= "string" or not reasons[reason] then return bad_request("'reason' is not a valid reason") end
    if not LIVE[s.status] then
      return control_error(409, "Conflict", "stream session '%s' is already %s", s.id, s.status)
    end
    end_session(self, s, action == "terminate" and "TERMINATED" or "ERROR", reason)
  else
    return control_error(404, "NotFound", "no control path '%s' for stream sessions", action)
  end
  return 200, json.encode(control_session(s))
end

--- emu:control(method, path, body_text) -> status, json_text
-- The control API (see DESIGN.md "Emulator"), callable without HTTP.
function Emu:control(method, path, body_text)
  path = path:gsub("%?.*$", "")
  local body = {}
  if body_text ~= nil and body_text ~= "" and (method == "POST" or method == "PUT") then
    local ok, v = pcall(json.decode, body_text)
    if not ok or type(v) ~= "table" or (next(v) ~= nil and is_array(v)) then
      return bad_request("the body must be a JSON object")
    end
    body = v
  end
  local rest = path:match("^/_emulator/(.*)$")
  if not rest then return control_error(404, "NotFound", "no control path '%s'", path) end
  rest = rest:gsub("/$", "")
  local status, text
  local sid, action = rest:match("^sessions/([^/]+)/?([^/]*)$")
  if rest == "sessions" or sid then
    status, text = control_sessions(self, method, sid, action ~= "" and action or nil, body)
  else
    local fn = CONTROL[rest]
    if not fn then return control_error(404, "NotFound", "no control path '%s'", path) end
    status, text = fn(self, method, body)
  end
  if not status then return control_error(405, "MethodNotAllowed", "%s is not allowed on %s", method, path) end
  return status, text
end

---------------------------------------------------------------- HTTP

-- Every error, the front door's (SigV4, routing, serialization) included, names
-- the service's namespace: clients read the code before the colon.
local function error_headers(rid, code)
  return {
    ["x-amzn-RequestId"] = rid, ["Content-Type"] = "application/json",
    ["X-Amzn-ErrorType"] = code .. ERROR_NS,
  }
end

local function error_reply(rid, code, message)
  return error_headers(rid, code), json.encode({ message = message })
end

-- The reply a fault stands for: status, headers, body, opts.
local function fault_reply(rid, f)
  if f.drop then return 200, {}, "", { drop = true } end
  if f.body_bytes then
    -- a well-formed JSON object of exactly body_bytes bytes: {"x":"xxx..."}
    local headers = { ["x-amzn-RequestId"] = rid, ["Content-Type"] = "application/json" }
    return f.status or 200, headers, f.body
  end
  if f.truncate or f.malformed then
    local status = f.status or 200
    local headers = { ["x-amzn-RequestId"] = rid, ["Content-Type"] = "application/json" }
    if f.malformed then return status, headers, '{"emulatorFault": malformed, "SignalResponse": ' end
    local body = json.encode({ emulatorFault = "truncated", detail = ("x"):rep(64) })
    return status, headers, body, { truncate = #body // 2 }
  end
  local headers, body = error_reply(rid, f.code, f.message)
  return f.status, headers, body
end

--- emu:handle(req) -> status, headers, body[, opts] | nothing (deferred)
-- The core.httpd handler (see the contract of core.httpd for req).
function Emu:handle(req)
  local path = req.path
  if path:sub(1, 10) == "/_emulator" and (#path == 10 or path:sub(11, 11) == "/")
      and is_loopback(req.remote) then
    local status, text = self:control(req.method, path, req.body)
    return status, { ["x-amzn-RequestId"] = self.wire.uuid4(), ["Content-Type"] = "application/json" }, text
  end
  local status, headers, body, ropts, delay = self:serve(req, self.wire.uuid4())
  if delay then
    local respond, id = self.respond, req.id
    heap_push(self.deferred, { due = self.time_source() + delay, seq = self:next_seq(),
      fn = function() respond(id, status, headers, body, ropts) end })
    return
  end
  return status, headers, body, ropts
end

-- A fault's reply and its request-log entry (status sent, error code).
local function serve_fault(self, f, op, rid, delay, token)
  local status, headers, body, ropts = fault_reply(rid, f)
  if f.drop then
    self:log_request(op, nil, "EmulatorFault", nil, token)
  elseif f.truncate or f.malformed or f.body_bytes then
    self:log_request(op, status, "EmulatorFault", nil, token)
  else
    self:log_request(op, status, f.code, nil, token)
  end
  return status, headers, body, ropts, delay
end

-- The ClientToken a request body carries (for the request log), or nil.
local function body_token(body)
  if type(body) ~= "string" or not body:find('"ClientToken"', 1, true) then return nil end
  local ok, v = pcall(json.decode, body)
  local t = ok and type(v) == "table" and v.ClientToken
  return type(t) == "string" and t or nil
end

-- One API request -> status, headers, body, opts, delay (seconds the reply is held
-- back by a latency fault, or nil); logs it.
function Emu:serve(req, rid)
  local wire = self.wire
  local delay
  if self.faults[1] then
    local rop = wire.emu_route(req.method, req.path)
    local f = self:take_fault(rop)
    if f then
      if f.latency_ms and f.latency_ms > 0 and self.respond then delay = f.latency_ms / 1000 end
      if f.status or f.drop or f.truncate or f.malformed or f.body_bytes then
        return serve_fault(self, f, rop, rid, delay, body_token(req.body))
      end
    end
  end
  self.verify_opts.now = self.time_source()
  local akid, region_or_code, vmsg, vstatus = wire.emu_verify(req, self.verify_opts)
  local op, labels, rmsg, rstatus = wire.emu_route(req.method, req.path)
  local label = op and session_label(labels.StreamSessionIdentifier) or nil
  local code, message, status
  if not akid then
    code, message, status = region_or_code, vmsg, vstatus
  elseif region_or_code ~= self.region and not self.any_region then
    code, message, status = "InvalidSignatureException",
      ("Credential should be scoped to a valid region, not '%s'. "):format(tostring(region_or_code)), 403
  elseif not op then
    code, message, status = labels, rmsg, rstatus
  elseif not self:admit(op) then
    code, message, status = "ThrottlingException", "Rate exceeded", 429
  else
    local input, icode, imsg, istatus = wire.emu_input(op, labels, req.query, req.headers, req.body)
    if not input then
      code, message, status = icode, imsg, istatus
    else
      local ctx = { request_id = rid, access_key_id = akid }
      local out
      status, out = self:dispatch(op, input, ctx)
      if status then
        self:log_request(op, status, nil, ctx.session or label, input.ClientToken)
        if status == 204 or out == nil then return status, { ["x-amzn-RequestId"] = rid }, "", nil, delay end
        local text = wire.emu_output(op, out)
        return status, { ["x-amzn-RequestId"] = rid, ["Content-Type"] = "application/json" }, text, nil, delay
      end
      code, message, status, label = out.code, out.message, out.status, ctx.session or label
    end
  end
  self:log_request(op, status, code, label, body_token(req.body))
  local headers, body = error_reply(rid, code, message)
  return status, headers, body, nil, delay
end

---------------------------------------------------------------- glsrun emulator

local USAGE = [[
usage: glsrun emulator [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE]
                       [--clock virtual|real] [--region REGION] [--account ID]
                       [--credentials FILE] [--seed N]
A local Amazon GameLift Streams. The first line on stdout is "listening on URL".
--seed N: the IDs, tokens and secrets it makes come from a generator seeded with
N, so that a run against it can be repeated exactly (default: a random seed).
--credentials FILE: a JSON object {"AKID": {"secret_access_key": "...", "session_token": "..."}};
without it AKIDEXAMPLE (the AWS documentation's example key) and the AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN of the environment are accepted.
]]

local VALUE_OPTS = {
  ["--listen"] = true, ["--tls-cert"] = true, ["--tls-key"] = true, ["--clock"] = true,
  ["--region"] = true, ["--account"] = true, ["--credentials"] = true, ["--seed"] = true,
}

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function parse_args(argv)
  local o = { ["--listen"] = "127.0.0.1:0", ["--clock"] = "real", ["--region"] = "us-west-2" }
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "-h" or a == "--help" then return nil, nil, true end
    local name, value = a:match("^(%-%-[%w-]+)=(.*)$")
    name = name or a
    if not VALUE_OPTS[name] then return nil, ("unrecognized option '%s'"):format(a) end
    if value == nil then
      i = i + 1
      value = argv[i]
      if value == nil then return nil, ("%s needs a value"):format(name) end
    end
    o[name] = value
    i = i + 1
  end
  local host, port = o["--listen"]:match("^(.+):(%d+)$")
  if not host or tonumber(port) > 65535 then
    return nil, ("--listen must be HOST:PORT, got '%s'"):format(o["--listen"])
  end
  if o["--clock"] ~= "real" and o["--clock"] ~= "virtual" then
    return nil, ("--clock must be 'virtual' or 'real', got '%s'"):format(o["--clock"])
  end
  if not o["--region"]:find("^[a-z0-9-]+$") then
    return nil, ("--region must be a region name such as us-west-2, got '%s'"):format(o["--region"])
  end
  if o["--account"] and not o["--account"]:find("^%d+$") or (o["--account"] and #o["--account"] ~= 12) then
    return nil, "--account must be 12 digits"
  end
  local seed = o["--seed"]
  if seed and (not seed:find("^%d+$") or #seed > 15) then
    return nil, ("--seed must be a whole number of at most 15 digits, got '%s'"):format(o["--seed"])
  end
  if (o["--tls-cert"] == nil) ~= (o["--tls-key"] == nil) then
    return nil, o["--tls-cert"] and "--tls-key is needed with --tls-cert" or "--tls-cert is needed with --tls-key"
  end
  for _, name in ipairs({ "--tls-cert", "--tls-key" }) do
    if o[name] and not read_file(o[name]) then return nil, ("%s: cannot read '%s'"):format(name, o[name]) end
  end
  if o["--credentials"] then
    local text = read_file(o["--credentials"])
    if not text then return nil, ("--credentials: cannot read '%s'"):format(o["--credentials"]) end
    local ok, creds = pcall(json.decode, text)
    if not ok or type(creds) ~= "table" then return nil, "--credentials: the file must hold a JSON object" end
    for akid, c in pairs(creds) do
      if type(akid) ~= "string" or type(c) ~= "table" or type(c.secret_access_key) ~= "string" then
        return nil, "--credentials: each key ID needs an object with a secret_access_key string"
      end
      if c.session_token == null then c.session_token = nil end
    end
    o.credentials = creds
  end
  return o
end

local function default_credentials()
  local creds = { AKIDEXAMPLE = { secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" } }
  local akid, secret = os.getenv("AWS_ACCESS_KEY_ID"), os.getenv("AWS_SECRET_ACCESS_KEY")
  if akid and akid ~= "" and secret and secret ~= "" then
    local token = os.getenv("AWS_SESSION_TOKEN")
    creds[akid] = { secret_access_key = secret, session_token = token ~= "" and token or nil }
  end
  return creds
end

--- emulator.main(argv[, sys]) -> exit code: `glsrun emulator [options]`.
-- Serves until srv:step() reports a signal (SIGINT/SIGTERM), then returns 0.
-- Bad arguments: 252; the server cannot start: 255. sys (for tests) may replace
-- httpd (core.httpd), stdout and stderr (io.stdout, io.stderr), time (core.time).
function M.main(argv, sys)
  sys = sys or {}
  local o, stdout, stderr = command.begin("emulator", USAGE, parse_args, argv, sys)
  if not o then return stdout end
  local httpd = sys.httpd or core.httpd
  if not httpd then
    stderr:write("glsrun: emulator: this build has no HTTP server (core.httpd)\n")
    return 255
  end
  local srv
  -- The process's own generator: glsrun emulator is the only user of it here.
  if o["--seed"] then math.randomseed(math.tointeger(tonumber(o["--seed"]))) end
  local emu = M.new{
    clock = o["--clock"], region = o["--region"], account = o["--account"],
    credentials = o.credentials or default_credentials(), time_source = sys.time or core.time,
    respond = function(...) return srv:respond(...) end,
  }
  local ok, s, err = pcall(httpd, {
    listen = o["--listen"], tls_cert = o["--tls-cert"], tls_key = o["--tls-key"],
    handler = function(req) return emu:handle(req) end,
  })
  if not ok or not s then
    stderr:write("glsrun: emulator: cannot listen on ", o["--listen"], ": ", tostring(ok and err or s), "\n")
    return 255
  end
  srv = s
  stdout:write("listening on ", srv:url(), "\n")
  stdout:flush()
  while true do
    local wait = math.min(emu:next_timer() or 1, 1)
    local stepped, reason = srv:step(wait)
    if not stepped then
      if reason == "interrupted" then break end
      stderr:write("glsrun: emulator: ", tostring(reason), "\n")
      srv:close()
      return 255
    end
    emu:tick()
  end
  srv:close()
  return 0
end

return M
