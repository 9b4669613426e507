--- gameliftstreams: a client for Amazon GameLift Streams.
--
--     local gls = require "gameliftstreams"
--     local client = gls.client{ region = "us-west-2" }
--     local out, err = client:create_stream_session_connection{
--       Identifier = "sg-1AB2C3De4", StreamSessionIdentifier = "ABC123def4567",
--       SignalRequest = offer }
--
-- Every operation of the model is a method named in snake_case; input and
-- output members keep the model's names. Errors come in two channels:
-- misuse (wrong argument types, unknown options) raises; everything else
-- (validation, network, TLS, the service's errors) returns nil, err where
-- err = { code=, message=, status=, request_id=, retryable=, attempts= }
-- and tostring(err) gives "code: message".
local core = require "gameliftstreams.core"
local cjson = require "cjson"
local model = require "gameliftstreams.model"
local jmespath = require "gameliftstreams.jmespath"

local M = { _NAME = "gameliftstreams", _VERSION = core._VERSION }

-- A private cjson instance: settings made here never touch the host's cjson.
local json = cjson.new()
json.encode_sparse_array(false)
M.null = json.null

---------------------------------------------------------------- errors

local Error = {}
Error.__index = Error
Error.__tostring = function(e) return e.code .. ": " .. e.message end

local function new_error(info)
  return setmetatable({
    code = info.code or "Error",
    message = info.message or "unknown error",
    status = info.status,
    request_id = info.request_id,
    retryable = info.retryable or false,
    attempts = info.attempts,
  }, Error)
end
M.new_error = new_error

--- Is v an error table made by gls?
function M.is_error(v) return getmetatable(v) == Error end

---------------------------------------------------------------- operations

local by_name, by_snake = {}, {}
for _, op in ipairs(core.operations()) do
  by_name[op.name] = op
  by_snake[op.snake] = op
end
M.operations = by_name

local function find_op(name, level)
  local op = by_name[name] or by_snake[name]
  if not op then error(("unknown operation '%s'"):format(tostring(name)), level + 1) end
  return op
end

local function encode(input, where, level)
  if input == nil then return "{}" end
  if type(input) ~= "table" then
    error(("bad argument #1 to '%s' (table expected, got %s)"):format(where, type(input)), level + 1)
  end
  local ok, text = pcall(json.encode, input)
  if not ok then error(("bad argument #1 to '%s' (%s)"):format(where, text), level + 1) end
  return text
end

local function finish(text, info)
  if not text then return nil, new_error(info) end
  local out = json.decode(text)
  out.ResponseMetadata = {
    RequestId = info.request_id,
    HTTPStatusCode = info.status,
    RetryAttempts = (info.attempts or 1) - 1,
  }
  return out
end

---------------------------------------------------------------- client

local Client = {}
Client.__index = Client
Client.__name = "gameliftstreams.Client"
Client.__close = function(self) self:close() end

--- Creates a client. Every field is optional; see the README.
function M.client(opts)
  if opts ~= nil and type(opts) ~= "table" then
    error(("bad argument #1 to 'client' (table expected, got %s)"):format(type(opts)), 2)
  end
  local ok, c = pcall(core.client, opts)
  if not ok then error((tostring(c):gsub("^[^:]*:%d+: ", "")), 2) end
  return setmetatable({ _c = c }, Client)
end

-- Inside a coroutine run by cqueues, a call yields to the loop instead of
-- blocking it: the client is a cqueues pollable (pollfd/events/timeout).
local function cqueues_running()
  local cq = package.loaded.cqueues
  if not cq or not coroutine.isyieldable() then return nil end
  local ctl = cq.running and cq.running()
  if ctl then return cq end
  return nil
end

local function call(self, op, input, level)
  local text = encode(input, op.snake, level + 1)
  local cq = cqueues_running()
  if not cq then return finish(self._c:call(op.name, text)) end
  local done, out, err = false, nil, nil
  local h = self._c:start(op.name, text, function(t, info)
    done = true
    out, err = finish(t, info)
  end)
  while not done do
    cq.poll(self)
    self._c:step(0)
  end
  local _ = h
  return out, err
end

--- client:call(operation, input): any operation by its model or snake_case name.
function Client:call(name, input)
  return call(self, find_op(name, 2), input, 2)
end

for _, op in pairs(by_name) do
  Client[op.snake] = function(self, input)
    return call(self, op, input, 2)
  end
end

--- client:start(operation, input, callback) -> request.
-- Starts a call without blocking; callback(out, err) runs inside a later
-- client:step(). request:cancel() cancels it (the callback then gets a
-- "Cancelled" error).
function Client:start(name, input, callback)
  local op = find_op(name, 2)
  if type(callback) ~= "function" then
    error(("bad argument #3 to 'start' (function expected, got %s)"):format(type(callback)), 2)
  end
  local text = encode(input, op.snake, 2)
  return self._c:start(op.name, text, function(t, info)
    callback(finish(t, info))
  end)
end

function Client:pollfd() return self._c:pollfd() end
function Client:events() return self._c:events() end
function Client:timeout() return self._c:timeout() end
function Client:in_flight() return self._c:in_flight() end
--- client:step([seconds]): does what is ready, runs callbacks; waits at most seconds.
function Client:step(seconds) return self._c:step(seconds) end
function Client:close() return self._c:close() end
--- Where the credentials in use come from ("environment", "profile prod (assume role)", ...),
-- once a call has resolved them; nil before.
function Client:credential_source() return self._c:credential_source() end

---------------------------------------------------------------- paginators

--- for page, err in client:paginate("list_stream_sessions", input) do ... end
-- Each step gives the next page; on failure it gives false, err and stops.
function Client:paginate(name, input)
  local op = find_op(name, 2)
  local p = model.paginators[op.name]
  if not p then error(("operation '%s' cannot be paginated"):format(op.snake), 2) end
  if input ~= nil and type(input) ~= "table" then
    error(("bad argument #2 to 'paginate' (table expected, got %s)"):format(type(input)), 2)
  end
  local args = {}
  for k, v in pairs(input or {}) do args[k] = v end
  local finished = false
  return function()
    if finished then return nil end
    local out, err = call(self, op, args, 1)
    if not out then
      finished = true
      return false, err
    end
    local token = out[p.output_token]
    if token == nil or token == json.null or token == "" or token == args[p.input_token] then
      finished = true
    else
      args[p.input_token] = token
    end
    return out
  end
end

---------------------------------------------------------------- waiters

local function camel(name)
  if model.waiters[name] then return name end
  local s = name:gsub("^%l", string.upper):gsub("_(%l)", string.upper)
  return s
end

-- Acceptor arguments are JMESPath expressions, evaluated as botocore does:
-- "path" compares the result, "pathAll"/"pathAny" every/any element of a
-- non-empty array result.
local function path_matches(a, out)
  if out == nil then return false end
  local v = jmespath.search(a.argument, out)
  if a.matcher == "path" then return v == a.expected end
  if not (type(v) == "table" and jmespath.type(v) == "array" and #v > 0) then return false end
  for i = 1, #v do
    local hit = v[i] == a.expected
    if a.matcher == "pathAny" and hit then return true end
    if a.matcher == "pathAll" and not hit then return false end
  end
  return a.matcher == "pathAll"
end

local function matches(a, out, err)
  if a.matcher == "path" or a.matcher == "pathAll" or a.matcher == "pathAny" then
    return path_matches(a, out)
  elseif a.matcher == "error" then
    if type(a.expected) == "boolean" then return (err ~= nil) == a.expected end
    return err ~= nil and err.code == a.expected
  elseif a.matcher == "status" then
    local status = err and err.status or (out and out.ResponseMetadata.HTTPStatusCode)
    return status == a.expected
  end
  error("unsupported waiter matcher '" .. tostring(a.matcher) .. "'")
end

--- client:wait(waiter, input, {delay=, max_attempts=}) -> out | nil, err
-- Polls the waiter's operation until a success acceptor matches. err.code is
-- "WaiterFailure" on a failure state or an unexpected error, and
-- "WaiterTimeout" when max_attempts runs out.
function Client:wait(name, input, opts)
  if type(name) ~= "string" then
    error(("bad argument #1 to 'wait' (string expected, got %s)"):format(type(name)), 2)
  end
  local wname = camel(name)
  local w = model.waiters[wname]
  if not w then error(("unknown waiter '%s'"):format(name), 2) end
  if opts ~= nil and type(opts) ~= "table" then
    error(("bad argument #3 to 'wait' (table expected, got %s)"):format(type(opts)), 2)
  end
  opts = opts or {}
  local delay = opts.delay or w.delay
  local max_attempts = opts.max_attempts or w.max_attempts
  if type(delay) ~= "number" or delay < 0 then error("bad option 'delay' (number >= 0 expected)", 2) end
  if math.type(max_attempts) ~= "integer" or max_attempts < 1 then
    error("bad option 'max_attempts' (integer >= 1 expected)", 2)
  end
  local op = by_name[w.operation]
  for attempt = 1, max_attempts do
    local out, err = call(self, op, input, 1)
    local state
    for _, a in ipairs(w.acceptors) do
      if matches(a, out, err) then
        state = a.state
        break
      end
    end
    if state == "success" then return out or true end
    if state == "failure" then
      return nil, new_error{ code = "WaiterFailure", status = err and err.status,
        request_id = err and err.request_id or out and out.ResponseMetadata.RequestId,
        message = ("Waiter %s failed: Waiter encountered a terminal failure state"):format(wname) }
    end
    if err and state == nil then
      return nil, new_error{ code = "WaiterFailure", status = err.status, request_id = err.request_id,
        retryable = err.retryable,
        message = ("Waiter %s failed: An error occurred (%s): %s"):format(wname, err.code, err.message) }
    end
    if attempt < max_attempts then
      local cq = cqueues_running()
      if cq then cq.sleep(delay) else core.sleep(delay) end
    end
  end
  return nil, new_error{ code = "WaiterTimeout",
    message = ("Waiter %s failed: Max attempts exceeded"):format(wname) }
end

M.waiters = model.waiters
M.paginators = model.paginators

return M
