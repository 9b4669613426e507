--- gameliftstreams.serve: `glsrun serve POLICY.lua`, the reconnect front of
-- DESIGN.md over core.httpd, driving the runtime (gameliftstreams.runtime).
--
--   local serve = require "gameliftstreams.serve"
--   os.exit(serve.main{ "policy.lua", "--listen", "127.0.0.1:8080" })
--   local front = serve.new{ runtime = rt, max_body = 65536, log = fn, now = core.time }
--   front:handle(req)     -- the core.httpd handler (defers every runtime call)
--
-- Routes (JSON in and out; errors are {"code", "message"}):
--   POST   /v1/sessions                  {"SignalRequest", "Identifier"?, "ApplicationIdentifier"?,
--                                         "UserId"?, "ConnectionTimeoutSeconds"?}
--                                         -> 201 {"Token", "SessionArn"} | 403 (policy) | ...
--   GET    /v1/sessions/{Token}/answer?wait=S   -> 200 {"SignalResponse"} | 202 (not yet)
--                                         (long poll: waits up to S seconds, at most 30)
--   POST   /v1/sessions/{Token}/reconnect {"SignalRequest"}
--                                         -> 200 {"SignalResponse", "Token"} (rotated)
--   DELETE /v1/sessions/{Token}          -> 204
--   POST   /api/CreateStreamSession      the GameLift Streams Web SDK sample backend's
--   POST   /api/GetSignalResponse        paths, so its web client works unchanged
--   POST   /api/ReconnectStreamSession   (errors there are {"error", "code"}; the
--   POST   /api/DestroyStreamSession     token does not rotate)
--   GET    /healthz                      -> 200 {"status": "ok", ...}
--   GET    /metrics                      -> Prometheus text format 0.0.4
--
-- The requester the policy sees (rt:start/reconnect/terminate's `client`):
--   { remote = peer address, headers = request headers (lower-case names),
--     id = X-Gls-Client-Id header, device = X-Gls-Device-Id header }
-- Holding a session's token is what lets a client act on it. A game that puts
-- its own identity in front (a proxy that sets X-Gls-Client-Id after checking
-- the player, or an authenticate hook reading the headers) gets owner-only
-- reconnects on top: the id given at start owns the session. The body's
-- UserId goes to StartStreamSession and proves nothing.
--
-- Logging: one JSON object per line on stderr per decision: the runtime's own
-- records and one per request answered ({"event": "request", "route",
-- "status", "outcome", "ms", "remote"}). Tokens, offers and answers are never
-- logged: paths are logged by route name, and any record member named like
-- a secret is dropped before writing.
local core = require "gameliftstreams.core"
local command = require "gameliftstreams.command"
local cjson = require "cjson"

local M = { _NAME = "gameliftstreams.serve" }

local json = cjson.new()
json.encode_sparse_array(false)
json.encode_invalid_numbers(false)
local null = json.null

local DEFAULT_MAX_BODY = 65536
local MAX_WAIT = 30 -- seconds a long poll may wait (proxies often cut idle requests at 60)

---------------------------------------------------------------- logging

-- Record members never written (compared lower-cased).
local SECRET_KEYS = {
  token = true, new_token = true, signalrequest = true, signalresponse = true, offer = true,
  answer = true, secret_access_key = true, session_token = true, authorization = true,
  headers = true, body = true,
}

local function redact(v, depth)
  if type(v) ~= "table" or depth > 6 then return v end
  local out = {}
  for k, x in pairs(v) do
    if not (type(k) == "string" and SECRET_KEYS[k:lower()]) then
      local t = type(x)
      if t == "table" then out[k] = redact(x, depth + 1)
      elseif t == "string" or t == "number" or t == "boolean" then out[k] = x
      end
    end
  end
  return out
end

--- A log function writing one JSON line per record to f (redacted).
function M.json_logger(f, now)
  now = now or core.time
  return function(record)
    local r = redact(record, 0)
    if r.time == nil then r.time = now() end -- as the runtime's records have it
    local ok, text = pcall(json.encode, r)
    if not ok then text = json.encode{ time = now(), event = "log_error", message = tostring(text) } end
    f:write(text, "\n")
    f:flush()
  end
end

M.redact = function(record) return redact(record, 0) end

---------------------------------------------------------------- metrics

-- Seconds: where a request's time from arrival to reply falls.
local BUCKETS = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 }

local ROUTES = {
  "start", "answer", "reconnect", "terminate", "api_create", "api_signal", "api_reconnect",
  "api_destroy", "healthz", "metrics", "unknown",
}

local function new_metrics()
  local m = { requests = {}, hist = {} }
  for _, r in ipairs(ROUTES) do
    local counts = {}
    for i = 1, #BUCKETS do counts[i] = 0 end
    m.hist[r] = { counts = counts, sum = 0, count = 0 }
  end
  return m
end

local function observe(m, route, outcome, seconds)
  local per = m.requests[route]
  if not per then
    per = {}
    m.requests[route] = per
  end
  per[outcome] = (per[outcome] or 0) + 1
  local h = m.hist[route]
  h.count = h.count + 1
  h.sum = h.sum + seconds
  for i, le in ipairs(BUCKETS) do
    if seconds <= le then h.counts[i] = h.counts[i] + 1 end
  end
end

local function label(v)
  return (tostring(v):gsub("[\\\"\n]", { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n" }))
end

-- The shortest text that reads back as the same number.
local function num(v)
  v = tonumber(v) or 0
  if v ~= v then return "NaN" end
  if v == math.huge then return "+Inf" end
  if v == -math.huge then return "-Inf" end
  if math.type(v) == "integer" then return tostring(v) end
  if v == math.floor(v) and math.abs(v) < 2^53 then return ("%d"):format(v) end
  for digits = 6, 17 do
    local text = ("%." .. digits .. "g"):format(v)
    if tonumber(text) == v then return text end
  end
  return ("%.17g"):format(v)
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return ks
end

--- The Prometheus text exposition (format 0.0.4) of the front's counters
-- and the runtime's stats.
local function render_metrics(m, stats)
  local out = {}
  local function add(s) out[#out + 1] = s end
  local function meta(name, kind, help)
    add(("# HELP %s %s"):format(name, help))
    add(("# TYPE %s %s"):format(name, kind))
  end
  meta("gls_requests_total", "counter", "HTTP requests answered, by route and outcome.")
  for _, route in ipairs(sorted_keys(m.requests)) do
    local per = m.requests[route]
    for _, outcome in ipairs(sorted_keys(per)) do
      add(('gls_requests_total{route="%s",outcome="%s"} %s'):format(label(route), label(outcome), num(per[outcome])))
    end
  end
  meta("gls_request_seconds", "histogram", "Time from a request's arrival to its reply, by route.")
  for _, route in ipairs(ROUTES) do
    local h = m.hist[route]
    if h.count > 0 then
      for i, le in ipairs(BUCKETS) do
        add(('gls_request_seconds_bucket{route="%s",le="%s"} %s'):format(route, num(le), num(h.counts[i])))
      end
      add(('gls_request_seconds_bucket{route="%s",le="+Inf"} %s'):format(route, num(h.count)))
      add(('gls_request_seconds_sum{route="%s"} %s'):format(route, num(h.sum)))
      add(('gls_request_seconds_count{route="%s"} %s'):format(route, num(h.count)))
    end
  end
  stats = type(stats) == "table" and stats or {}
  meta("gls_api_calls_total", "counter", "Calls to the GameLift Streams API, by operation and result.")
  local calls = type(stats.calls) == "table" and stats.calls or {}
  for _, op in ipairs(sorted_keys(calls)) do
    local c = calls[op]
    if type(c) == "table" then
      for _, result in ipairs(sorted_keys(c)) do
        if type(c[result]) == "number" then
          add(('gls_api_calls_total{operation="%s",result="%s"} %s'):format(label(op), label(result), num(c[result])))
        end
      end
    end
  end
  meta("gls_budget_used_ratio", "gauge", "Share of the account's call budget spent recently (0..1).")
  add("gls_budget_used_ratio " .. num(stats.budget_used))
  meta("gls_queue_depth", "gauge", "Work waiting for the call budget.")
  add("gls_queue_depth " .. num(stats.queue))
  meta("gls_sessions", "gauge", "Stream sessions the runtime tracks.")
  add("gls_sessions " .. num(stats.sessions))
  meta("gls_deadline_misses_total", "counter", "Work refused or failed because its session's window closed first.")
  add("gls_deadline_misses_total " .. num(stats.deadline_misses))
  meta("gls_superseded_total", "counter", "Reconnects replaced by a newer one for the same session.")
  add("gls_superseded_total " .. num(stats.superseded))
  meta("gls_refused_total", "counter", "Requests the policy refused.")
  add("gls_refused_total " .. num(stats.refused))
  local lat = type(stats.latency) == "table" and stats.latency or {}
  meta("gls_answer_latency_seconds", "gauge", "Time from a request to its answer, recent quantiles.")
  add('gls_answer_latency_seconds{quantile="0.5"} ' .. (lat.p50 and num(lat.p50) or "NaN"))
  add('gls_answer_latency_seconds{quantile="0.99"} ' .. (lat.p99 and num(lat.p99) or "NaN"))
  local rates = type(stats.rates) == "table" and stats.rates or {}
  meta("gls_rate_limit_calls_per_second", "gauge",
       "Calls per second the runtime allows itself, by operation (lowered on throttling).")
  for _, op in ipairs(sorted_keys(rates)) do
    add(('gls_rate_limit_calls_per_second{operation="%s"} %s'):format(label(op), num(rates[op])))
  end
  meta("gls_policy_errors_total", "counter", "Policy hooks that failed, ran out of budget or answered nonsense.")
  add("gls_policy_errors_total " .. num(stats.policy_errors))
  return table.concat(out, "\n") .. "\n"
end

---------------------------------------------------------------- requests

local Front = {}
Front.__index = Front

local JSON = { ["Content-Type"] = "application/json" }

local function error_body(code, message)
  return json.encode{ code = code, message = message }
end

--- Decodes a request body as a JSON object, JSON null taken as absent.
local function body_object(body)
  if body == nil or body == "" then return nil, "the body must be a JSON object, got nothing" end
  local ok, v = pcall(json.decode, body)
  if ok and not body:find("^%s*{") then return nil, "the body must be a JSON object" end
  if not ok then return nil, "the body is not valid JSON" end
  if type(v) ~= "table" or (next(v) ~= nil and v[1] ~= nil) then
    return nil, "the body must be a JSON object"
  end
  for k, x in pairs(v) do
    if x == null then v[k] = nil
    elseif math.type(x) == "float" then v[k] = math.tointeger(x) or x -- cjson: all floats
    end
  end
  return v
end

-- Checks a member; returns nil or the message naming it.
local function check_string(o, name, required, max)
  local v = o[name]
  if v == nil then
    return required and ("'%s' is required"):format(name) or nil
  end
  if type(v) ~= "string" then return ("'%s' must be a string"):format(name) end
  if v == "" then return ("'%s' must not be empty"):format(name) end
  if max and #v > max then return ("'%s' is longer than %d bytes"):format(name, max) end
end

local function check_integer(o, name, lo, hi)
  local v = o[name]
  if v == nil then return nil end
  if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v)) then
    return ("'%s' must be an integer"):format(name)
  end
  if v < lo or v > hi then return ("'%s' must be between %d and %d"):format(name, lo, hi) end
end

--- serve.new{ runtime =, max_body =, log =, now = } -> front
function M.new(opts)
  if type(opts) ~= "table" or type(opts.runtime) ~= "table" then
    error("bad argument #1 to 'new' (a table with a runtime expected)", 2)
  end
  return setmetatable({
    rt = opts.runtime,
    now = opts.now or core.time,
    log = opts.log or function() end,
    max_body = opts.max_body or DEFAULT_MAX_BODY,
    respond_fn = opts.respond,          -- set later by main (srv:respond)
    metrics = new_metrics(),
    pending = {},                       -- request id -> { route =, t0 =, remote = }
    npending = 0,
    started = (opts.now or core.time)(),
  }, Front)
end

local function requester(req)
  local h = req.headers or {}
  return { remote = req.remote, headers = h, id = h["x-gls-client-id"], device = h["x-gls-device-id"] }
end

-- Probes and scrapes are counted but not logged: they decide nothing.
local QUIET = { healthz = true, metrics = true }

--- Records and logs a reply (every request ends here once).
function Front:finish(route, status, outcome, t0, remote)
  local dt = math.max(0, self.now() - t0)
  observe(self.metrics, route, outcome, dt)
  if not QUIET[route] then
    self.log{ event = "request", route = route, status = status, outcome = outcome,
              ms = math.floor(dt * 1000 + 0.5), remote = remote }
  end
end

--- Replies now (from the handler): returns what the handler returns.
function Front:now_reply(req, route, t0, status, outcome, body, headers)
  self:finish(route, status, outcome, t0, req.remote)
  return status, headers or JSON, body or ""
end

--- Defers req: returns a function(status, outcome, body, headers) that
-- answers it later (at most once).
function Front:defer(req, route, t0)
  local id = req.id
  self.pending[id] = { route = route, t0 = t0, remote = req.remote }
  self.npending = self.npending + 1
  return function(status, outcome, body, headers)
    local p = self.pending[id]
    if not p then return end
    self.pending[id] = nil
    self.npending = self.npending - 1
    if self.respond_fn then
      local ok = self.respond_fn(id, status, headers or JSON, body or "")
      if not ok then outcome = "client_gone" end
    end
    self:finish(route, status, outcome, t0, p.remote)
  end
end

--- Runs fn (a call into the runtime) for a deferred request; if it raises (a
-- bug), the request gets 500 now instead of waiting forever.
function Front:guard(reply, fn, ...)
  local ok, err = pcall(fn, ...)
  if not ok then
    self.log{ event = "runtime_error", message = tostring(err):match("^[^\n]*") }
    reply(500, "InternalError", error_body("InternalError", "internal error"))
  end
end

--- Answers every deferred request with 503 (shutting down).
function Front:drain()
  local ids = sorted_keys(self.pending)
  for _, id in ipairs(ids) do
    local p = self.pending[id]
    self.pending[id] = nil
    self.npending = self.npending - 1
    if self.respond_fn then
      self.respond_fn(id, 503, JSON, error_body("ShuttingDown", "the server is stopping"))
    end
    self:finish(p.route, 503, "ShuttingDown", p.t0, p.remote)
  end
end

-- The HTTP status of a runtime error.
local function err_status(err)
  if type(err) ~= "table" then return 500 end
  local s = math.tointeger(err.status)
  if s and s >= 400 and s <= 599 then return s end
  if err.code == "Cancelled" then return 503 end
  if err.code == "Timeout" then return 504 end
  return 502 -- the service could not be reached or answered nonsense
end

local function err_code(err)
  if type(err) ~= "table" then return "InternalError" end
  return tostring(err.code or "Error")
end

local function err_message(err)
  if type(err) ~= "table" then return "internal error" end
  return tostring(err.message or err.code or "error")
end

-- /v1 error reply and /api error reply
local function v1_error(reply, err)
  local status = err_status(err)
  reply(status, err_code(err), error_body(err_code(err), err_message(err)))
end

local function api_error(reply, err)
  local status = err_status(err)
  reply(status, err_code(err), json.encode{ error = err_message(err), code = err_code(err) })
end

--- What start takes from a client's body (validated): the request table for
-- rt:start, or nil, message naming the member.
local function start_request(o, names)
  local offer_name = names.SignalRequest
  local why = check_string(o, offer_name, true)
    or check_string(o, names.Identifier, false, 2048)
    or check_string(o, names.ApplicationIdentifier, false, 2048)
    or check_string(o, "UserId", false, 1024)
    or check_integer(o, "ConnectionTimeoutSeconds", 1, 3600)
  if why then return nil, why end
  return {
    SignalRequest = o[offer_name], Identifier = o[names.Identifier],
    ApplicationIdentifier = o[names.ApplicationIdentifier], UserId = o.UserId,
    ConnectionTimeoutSeconds = o.ConnectionTimeoutSeconds and math.tointeger(o.ConnectionTimeoutSeconds),
  }
end

local V1_NAMES = { SignalRequest = "SignalRequest", Identifier = "Identifier",
                   ApplicationIdentifier = "ApplicationIdentifier" }

-- The sample backend's client sends StreamGroupId / AppIdentifier (older
-- versions SGIdentifier / ApplicationIdentifier); the first present wins.
local function api_names(o)
  return {
    SignalRequest = "SignalRequest",
    Identifier = o.StreamGroupId ~= nil and "StreamGroupId" or o.SGIdentifier ~= nil and "SGIdentifier"
      or "Identifier",
    ApplicationIdentifier = o.AppIdentifier ~= nil and "AppIdentifier" or "ApplicationIdentifier",
  }
end

local function parse_wait(query)
  local raw = (query or ""):match("^wait=([^&]*)") or (query or ""):match("&wait=([^&]*)")
  if raw == nil then return 0 end
  local n = tonumber(raw)
  if not n or n ~= n or n < 0 or raw:find("[^%d.]") then
    return nil, "'wait' must be a number of seconds >= 0"
  end
  return math.min(n, MAX_WAIT)
end

local API_ROUTES = {
  CreateStreamSession = "api_create", GetSignalResponse = "api_signal",
  ReconnectStreamSession = "api_reconnect", DestroyStreamSession = "api_destroy",
}

local function valid_token_text(t)
  return type(t) == "string" and #t > 0 and #t <= 256 and not t:find("[^%w%-_]")
end

--- The core.httpd handler.
function Front:handle(req)
  local t0 = self.now()
  local method, path = req.method, req.path
  local rt = self.rt

  -- /v1/sessions[/{Token}[/answer|/reconnect]]
  if path == "/v1/sessions" then
    if method ~= "POST" then
      return self:now_reply(req, "start", t0, 405, "MethodNotAllowed",
        error_body("MethodNotAllowed", "use POST"), { ["Content-Type"] = "application/json", Allow = "POST" })
    end
    local o, why = body_object(req.body)
    local input
    if o then input, why = start_request(o, V1_NAMES) end
    if not input then
      return self:now_reply(req, "start", t0, 400, "BadRequest", error_body("BadRequest", why))
    end
    local reply = self:defer(req, "start", t0)
    self:guard(reply, rt.start, rt, input, requester(req), function(res, err)
      if not res then return v1_error(reply, err) end
      reply(201, "ok", json.encode{ Token = res.token, SessionArn = res.session })
    end)
    return
  end
  local token, rest = path:match("^/v1/sessions/([^/]+)(.*)$")
  if token then
    local route = rest == "/answer" and "answer" or rest == "/reconnect" and "reconnect"
      or rest == "" and "terminate" or nil
    if not route then
      return self:now_reply(req, "unknown", t0, 404, "NotFound", error_body("NotFound", "no such route"))
    end
    local want = route == "answer" and "GET" or route == "reconnect" and "POST" or "DELETE"
    if method ~= want then
      return self:now_reply(req, route, t0, 405, "MethodNotAllowed", error_body("MethodNotAllowed", "use " .. want),
        { ["Content-Type"] = "application/json", Allow = want })
    end
    if not valid_token_text(token) then
      return self:now_reply(req, route, t0, 404, "NotFound", error_body("NotFound", "unknown or expired token"))
    end
    if route == "answer" then
      local wait, why = parse_wait(req.query)
      if not wait then return self:now_reply(req, route, t0, 400, "BadRequest", error_body("BadRequest", why)) end
      local reply = self:defer(req, route, t0)
      self:guard(reply, rt.answer, rt, token, wait, function(res, err)
        if res then return reply(200, "ok", json.encode{ SignalResponse = res.SignalResponse }) end
        if type(err) == "table" and err.code == "NotReady" then
          return reply(202, "not_ready", error_body("NotReady", err_message(err)))
        end
        v1_error(reply, err)
      end)
      return
    elseif route == "reconnect" then
      local o, why = body_object(req.body)
      if o then why = check_string(o, "SignalRequest", true) end
      if why then return self:now_reply(req, route, t0, 400, "BadRequest", error_body("BadRequest", why)) end
      local reply = self:defer(req, route, t0)
      self:guard(reply, rt.reconnect, rt, token, o.SignalRequest, requester(req), function(res, err)
        if not res then return v1_error(reply, err) end
        reply(200, "ok", json.encode{ SignalResponse = res.SignalResponse, Token = res.token })
      end)
      return
    else
      local reply = self:defer(req, route, t0)
      self:guard(reply, rt.terminate, rt, token, requester(req), function(res, err)
        if not res then return v1_error(reply, err) end
        reply(204, "ok", "", {})
      end)
      return
    end
  end

  -- the Web SDK sample backend's four paths
  local api = path:match("^/api/(%a+)$")
  if api and API_ROUTES[api] then
    local route = API_ROUTES[api]
    local function bad(why)
      return self:now_reply(req, route, t0, 400, "BadRequest", json.encode{ error = why, code = "BadRequest" })
    end
    if method ~= "POST" then
      return self:now_reply(req, route, t0, 405, "MethodNotAllowed",
        json.encode{ error = "use POST", code = "MethodNotAllowed" },
        { ["Content-Type"] = "application/json", Allow = "POST" })
    end
    local o, why = body_object(req.body)
    if not o then return bad(why) end
    if route == "api_create" then
      local input
      input, why = start_request(o, api_names(o))
      if not input then return bad(why) end
      local reply = self:defer(req, route, t0)
      self:guard(reply, rt.start, rt, input, requester(req), function(res, err)
        if not res then return api_error(reply, err) end
        reply(200, "ok", json.encode{ Token = res.token })
      end)
      return
    end
    why = check_string(o, "Token", true)
    if why then return bad(why) end
    if not valid_token_text(o.Token) then
      return self:now_reply(req, route, t0, 404, "NotFound",
        json.encode{ error = "unknown or expired token", code = "NotFound" })
    end
    -- the sample's web client keeps its token (in the page's URL) for the
    -- session's life: reconnects there do not rotate it
    local api_token = o.Token
    if route == "api_signal" then
      local reply = self:defer(req, route, t0)
      self:guard(reply, rt.answer, rt, api_token, 0, function(res, err)
        if res then return reply(200, "ok", json.encode{ SignalResponse = res.SignalResponse }) end
        if type(err) == "table" and err.code == "NotReady" then
          return reply(200, "not_ready", json.encode{ SignalResponse = "" })
        end
        api_error(reply, err)
      end)
    elseif route == "api_reconnect" then
      why = check_string(o, "SignalRequest", true)
      if why then return bad(why) end
      local reply = self:defer(req, route, t0)
      self:guard(reply, rt.reconnect, rt, api_token, o.SignalRequest, requester(req), function(res, err)
        if not res then return api_error(reply, err) end
        reply(200, "ok", json.encode{ SignalResponse = res.SignalResponse })
      end, { rotate = false })
    else
      local reply = self:defer(req, route, t0)
      self:guard(reply, rt.terminate, rt, api_token, requester(req), function(res, err)
        if not res then return api_error(reply, err) end
        reply(200, "ok", json.encode{ success = true })
      end)
    end
    return
  end

  if path == "/healthz" then
    if method ~= "GET" and method ~= "HEAD" then
      return self:now_reply(req, "healthz", t0, 405, "MethodNotAllowed", error_body("MethodNotAllowed", "use GET"),
        { ["Content-Type"] = "application/json", Allow = "GET" })
    end
    local ok, stats = pcall(rt.stats, rt)
    stats = ok and type(stats) == "table" and stats or {}
    return self:now_reply(req, "healthz", t0, 200, "ok", json.encode{
      status = "ok", uptime_s = math.floor(self.now() - self.started), sessions = stats.sessions or 0,
      queue = stats.queue or 0, in_flight_requests = self.npending,
    })
  end
  if path == "/metrics" then
    if method ~= "GET" then
      return self:now_reply(req, "metrics", t0, 405, "MethodNotAllowed", error_body("MethodNotAllowed", "use GET"),
        { ["Content-Type"] = "application/json", Allow = "GET" })
    end
    local ok, stats = pcall(rt.stats, rt)
    -- this request counts before the text is made, so a scrape sees itself
    self:finish("metrics", 200, "ok", t0, req.remote)
    return 200, { ["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8" },
      render_metrics(self.metrics, ok and stats or nil)
  end
  return self:now_reply(req, "unknown", t0, 404, "NotFound", error_body("NotFound", "no such route"))
end

M.render_metrics = render_metrics

---------------------------------------------------------------- glsrun serve

local USAGE = [[
usage: glsrun serve POLICY.lua [--listen HOST:PORT] [--endpoint-url URL] [--region R]
                    [--profile P] [--stream-group ID] [--application ID] [--max-body BYTES]
                    [--idle-timeout SECONDS] [--tls-cert FILE --tls-key FILE]
The reconnect front (DESIGN.md): game clients start stream sessions, wait for
their answer and reconnect with new offers over JSON/HTTP; POLICY.lua (a Lua
file returning a table of hooks; examples/policies/default.lua has none, which
means the defaults) decides. The first line on stdout is "listening on URL".
  --listen HOST:PORT    where to listen (default 127.0.0.1:0: any free port)
  --endpoint-url URL    the GameLift Streams endpoint (e.g. a `glsrun emulator`)
  --region R, --profile P   as the AWS CLI's (credentials resolve as it does)
  --stream-group ID     the Identifier of sessions whose client names none
  --application ID      the ApplicationIdentifier likewise
  --max-body BYTES      the largest request body (default 65536; larger: 413)
  --idle-timeout SECONDS  a client must send each whole request within this of
                        connecting or of its previous reply, trickled or not;
                        idle connections close after it (default 60)
  --tls-cert/--tls-key  serve HTTPS with this PEM certificate and key
Stops on SIGTERM (exit 0) or SIGINT (exit 130).
]]

local VALUE_OPTS = {
  ["--listen"] = true, ["--endpoint-url"] = true, ["--region"] = true, ["--profile"] = true,
  ["--stream-group"] = true, ["--application"] = true, ["--max-body"] = true,
  ["--idle-timeout"] = true, ["--tls-cert"] = true, ["--tls-key"] = true,
}

local function readable(path)
  local f = io.open(path, "rb")
  if not f then return false end
  f:close()
  return true
end

local function parse_args(argv)
  local o = { ["--listen"] = "127.0.0.1:0" }
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "-h" or a == "--help" then return nil, nil, true end
    if a:sub(1, 2) == "--" then
      local name, value = a:match("^(%-%-[%w-]+)=(.*)$")
      name = name or a
      if not VALUE_OPTS[name] then return nil, ("unrecognized option '%s'"):format(a) end
      if value == nil then
        i = i + 1
        value = argv[i]
        if value == nil then return nil, ("%s needs a value"):format(name) end
      end
      o[name] = value
    elseif a ~= "-" and a:sub(1, 1) == "-" then
      return nil, ("unrecognized option '%s'"):format(a)
    elseif o.policy then
      return nil, ("only one POLICY.lua may be given (got '%s' and '%s')"):format(o.policy, a)
    else
      o.policy = a
    end
    i = i + 1
  end
  if not o.policy then return nil, "POLICY.lua is required (examples/policies/default.lua holds the defaults)" end
  if not readable(o.policy) then return nil, ("POLICY.lua: cannot read '%s'"):format(o.policy) end
  local host, port = o["--listen"]:match("^(.+):(%d+)$")
  if not host or tonumber(port) > 65535 then
    return nil, ("--listen must be HOST:PORT, got '%s'"):format(o["--listen"])
  end
  if o["--endpoint-url"] and not o["--endpoint-url"]:match("^https?://[^/]+") then
    return nil, ("--endpoint-url must be an http:// or https:// URL, got '%s'"):format(o["--endpoint-url"])
  end
  if o["--region"] and not o["--region"]:find("^[a-z0-9-]+$") then
    return nil, ("--region must be a region name such as us-west-2, got '%s'"):format(o["--region"])
  end
  for _, name in ipairs({ "--profile", "--stream-group", "--application" }) do
    if o[name] == "" then return nil, ("%s must not be empty"):format(name) end
  end
  local mb = o["--max-body"]
  if mb then
    local n = mb:find("^%d+$") and tonumber(mb)
    if not n or n < 1 or n > 64 * 1024 * 1024 then
      return nil, ("--max-body must be a number of bytes between 1 and 67108864, got '%s'"):format(mb)
    end
    o.max_body = math.tointeger(n)
  else
    o.max_body = DEFAULT_MAX_BODY
  end
  local idle = o["--idle-timeout"]
  if idle then
    local n = idle:find("^%d+$") and tonumber(idle)
    if not n or n < 1 or n > 86400 then
      return nil, ("--idle-timeout must be a number of seconds between 1 and 86400, got '%s'"):format(idle)
    end
    o.idle_timeout = math.tointeger(n)
  end
  if (o["--tls-cert"] == nil) ~= (o["--tls-key"] == nil) then
    return nil, o["--tls-cert"] and "--tls-key is needed with --tls-cert" or "--tls-cert is needed with --tls-key"
  end
  for _, name in ipairs({ "--tls-cert", "--tls-key" }) do
    if o[name] and not readable(o[name]) then return nil, ("%s: cannot read '%s'"):format(name, o[name]) end
  end
  return o
end

local function err_text(e)
  if type(e) == "table" then return tostring(e.message or e.code) end
  return tostring(e)
end

--- serve.main(argv[, sys]) -> exit code: `glsrun serve POLICY.lua [options]`.
-- Serves until srv:step() reports a signal, then answers what is still
-- waiting with 503, closes and returns 0 (glsrun makes SIGINT 130). Bad
-- arguments: 252; a policy or client that cannot be set up: 253; the server
-- cannot listen: 255. sys (for tests) may replace httpd (core.httpd), stdout,
-- stderr, runtime (the module) and gls (the client module).
function M.main(argv, sys)
  sys = sys or {}
  local o, stdout, stderr = command.begin("serve", USAGE, parse_args, argv, sys)
  if not o then return stdout end
  local httpd = sys.httpd or core.httpd
  local gls = sys.gls or require "gameliftstreams"
  local runtime = sys.runtime or require "gameliftstreams.runtime"
  local log = M.json_logger(stderr)

  -- one attempt per call: the runtime retries itself, within the budget and
  -- the session's deadline
  local okc, client = pcall(gls.client, {
    endpoint_url = o["--endpoint-url"], region = o["--region"], profile = o["--profile"], max_attempts = 1,
  })
  if not okc then
    stderr:write("glsrun: serve: ", err_text(client), "\n")
    return 253
  end
  local okr, rt, rerr = pcall(runtime.new, {
    client = client, policy = o.policy, stream_group = o["--stream-group"],
    application = o["--application"], log = log,
  })
  if not okr or not rt then
    stderr:write("glsrun: serve: POLICY.lua: ", err_text(okr and rerr or rt), "\n")
    client:close()
    return 253
  end

  local front = M.new{ runtime = rt, max_body = o.max_body, log = log }
  local oks, srv, serr = pcall(httpd, {
    listen = o["--listen"], tls_cert = o["--tls-cert"], tls_key = o["--tls-key"],
    max_body = o.max_body, idle_timeout = o.idle_timeout, handler = function(req) return front:handle(req) end,
    on_error = function(msg)
      -- a bug in the front: logged without the request (which may hold secrets)
      log{ event = "handler_error", message = tostring(msg):match("^[^\n]*") }
    end,
  })
  if not oks or not srv then
    stderr:write("glsrun: serve: cannot listen on ", o["--listen"], ": ", tostring(oks and serr or srv), "\n")
    rt:close()
    client:close()
    return 255
  end
  front.respond_fn = function(...) return srv:respond(...) end
  local watched = rt:pollfd()
  if watched then assert(srv:watch(watched)) end

  stdout:write("listening on ", srv:url(), "\n")
  stdout:flush()
  log{ event = "listening", url = srv:url(), policy = o.policy }

  local code = 0
  while true do
    local t = rt:timeout()
    local wait = t and math.max(0, math.min(t, 1)) or 1
    local stepped, reason = srv:step(wait)
    if not stepped then
      if reason == "interrupted" then break end
      stderr:write("glsrun: serve: ", tostring(reason), "\n")
      code = 255
      break
    end
    rt:step(0)
    local fd = rt:pollfd()
    if fd ~= watched then
      if watched then srv:watch(watched, false) end
      if fd then srv:watch(fd) end
      watched = fd
    end
  end
  log{ event = "stopping", waiting = front.npending }
  front:drain()
  -- let the 503s go out (interrupted steps are fine: the replies are queued)
  for _ = 1, 3 do srv:step(0) end
  if watched then srv:watch(watched, false) end
  srv:close()
  rt:close()
  client:close()
  return code
end

return M
