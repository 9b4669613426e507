--- gameliftstreams.embed: the runtime as the C embedding API (gls.h,
-- gls_runtime_*, src/runtime_embed.c) drives it: JSON text in, JSON text out.
--
--   local embed = require "gameliftstreams.embed"
--   local host = embed.new(policy_path_or_nil, options_json_or_nil, log_line)
--                                     -- host | nil, message
--   host:start(request_json, client_json, done)      -- true | nil, message (misuse)
--   host:answer(token, wait_seconds, done)
--   host:reconnect(token, offer, client_json, done)
--   host:terminate(token, client_json, done)
--   host:step(seconds)  host:pollfd()  host:timeout()
--   host:reload(path_or_nil)          -- true | nil, message
--   host:stats_json()                 -- JSON text
--   host:close()
--
-- done(result_json) on success, done(nil, code, message, status, retryable) on
-- failure; exactly once, from inside host:step(). log_line(text) receives one
-- JSON object per runtime decision. A JSON argument that is not an object, an
-- unknown option or one of the wrong type is misuse: nil, message (the
-- request is then not taken). What the runtime decides goes through done.
local gls = require "gameliftstreams"
local runtime = require "gameliftstreams.runtime"
local cjson = require "cjson"

local M = { _NAME = "gameliftstreams.embed" }

local json = cjson.new()
json.encode_sparse_array(false)
json.encode_invalid_numbers(false)
local null = json.null

-- Options gls_runtime_new() takes: name -> Lua type, and who gets it.
local CLIENT_OPTS = {
  endpoint_url = "string", region = "string", profile = "string", retry_mode = "string",
  ca_bundle = "string", credentials = "table", max_attempts = "number",
  connect_timeout = "number", read_timeout = "number", verify_ssl = "boolean",
}
local RUNTIME_OPTS = {
  stream_group = "string", application = "string", rates = "table", bursts = "table",
  status_interval = "number", full_sweep_interval = "number", answer_latency = "number",
  settle = "number", hook_instructions = "number", hook_memory_kb = "number",
}

-- JSON null means absent; whole numbers become Lua integers (cjson decodes
-- every number as a float, and the client wants integers where the model
-- says so).
local function normalize(v, depth)
  for k, x in pairs(v) do
    if x == null then
      v[k] = nil
    elseif math.type(x) == "float" then
      v[k] = math.tointeger(x) or x
    elseif type(x) == "table" and depth < 8 then
      normalize(x, depth + 1)
    end
  end
  return v
end

--- Decodes text as a JSON object (nil or "" = {}); nil, message otherwise.
local function object(text, what)
  if text == nil or text == "" then return {} end
  -- cjson reads [] and {} alike: look at the text
  if not text:find("^%s*{") then
    local ok = pcall(json.decode, text)
    return nil, ok and ("%s must be a JSON object"):format(what) or ("%s is not JSON"):format(what)
  end
  local ok, v = pcall(json.decode, text)
  if not ok then return nil, ("%s is not JSON"):format(what) end
  if type(v) ~= "table" or v[1] ~= nil then return nil, ("%s must be a JSON object"):format(what) end
  return normalize(v, 0)
end

local function encode(v)
  local ok, text = pcall(json.encode, v)
  if ok then return text end
  return nil, text
end

--- The error fields of a runtime error (a table {code=, message=, status=,
-- retryable=}, or a string from a hook gone wrong).
local function error_fields(err)
  if type(err) ~= "table" then
    return "InternalError", tostring(err), 500, false
  end
  return tostring(err.code or "InternalError"), tostring(err.message or err.code or "error"),
    math.tointeger(err.status) or 500, err.retryable and true or false
end

--- Wraps done for runtime results: maps a result table through shape (a
-- function table -> table to encode) and an error to its fields.
local function completion(done, shape)
  return function(res, err)
    if res == nil or res == false then
      return done(nil, error_fields(err))
    end
    local text, why = encode(shape(res))
    if not text then
      return done(nil, "InternalError", "cannot encode the result: " .. tostring(why), 500, false)
    end
    return done(text)
  end
end

local function started(res) return { Token = res.token, SessionArn = res.session } end
local function answered(res) return { SignalResponse = res.SignalResponse } end
local function reconnected(res) return { SignalResponse = res.SignalResponse, Token = res.token } end
local function terminated() return {} end

local Host = {}
Host.__index = Host

--- embed.new(policy_path, options_json, log_line) -> host | nil, message
function M.new(policy_path, options_json, log_line)
  local opts, why = object(options_json, "options_json")
  if not opts then return nil, why end
  local copts, ropts = {}, {}
  for k, v in pairs(opts) do
    local want = CLIENT_OPTS[k] or RUNTIME_OPTS[k]
    if not want then return nil, ("options_json: unknown member '%s'"):format(tostring(k)) end
    if type(v) ~= want then
      return nil, ("options_json: '%s' must be a %s, got %s"):format(k, want == "table" and "JSON object" or want,
        type(v) == "table" and "an array or object" or type(v))
    end
    if CLIENT_OPTS[k] then copts[k] = v else ropts[k] = v end
  end
  if policy_path ~= nil then
    local f, err = io.open(policy_path, "rb")
    if not f then return nil, ("cannot read the policy: %s"):format(err) end
    f:close()
  end
  -- one attempt per call unless told otherwise: the runtime retries itself,
  -- within the budget and the session's deadline
  if copts.max_attempts == nil then copts.max_attempts = 1 end
  local ok, client = pcall(gls.client, copts)
  if not ok then return nil, ("options_json: %s"):format(tostring(client)) end
  ropts.client = client
  ropts.policy = policy_path
  if log_line then
    ropts.log = function(record)
      local text = encode(record)
      if text then log_line(text) end
    end
  end
  local rt, err
  ok, rt, err = pcall(runtime.new, ropts)
  if not ok or not rt then
    client:close()
    local msg = ok and err or rt
    return nil, type(msg) == "table" and tostring(msg.message or msg.code) or tostring(msg)
  end
  return setmetatable({ rt = rt, client = client, policy = policy_path }, Host)
end

function Host:start(request_json, client_json, done)
  local req, why = object(request_json, "request_json")
  if not req then return nil, why end
  if type(req.SignalRequest) ~= "string" or req.SignalRequest == "" then
    return nil, "request_json: 'SignalRequest' (the client's offer) must be a non-empty string"
  end
  local who
  who, why = object(client_json, "client_json")
  if not who then return nil, why end
  self.rt:start(req, who, completion(done, started))
  return true
end

function Host:answer(token, wait, done)
  self.rt:answer(token, wait, completion(done, answered))
  return true
end

function Host:reconnect(token, offer, client_json, done)
  if offer == "" then return nil, "the offer must not be empty" end
  local who, why = object(client_json, "client_json")
  if not who then return nil, why end
  self.rt:reconnect(token, offer, who, completion(done, reconnected))
  return true
end

function Host:terminate(token, client_json, done)
  local who, why = object(client_json, "client_json")
  if not who then return nil, why end
  self.rt:terminate(token, who, completion(done, terminated))
  return true
end

function Host:step(seconds) return self.rt:step(seconds) end
function Host:pollfd() return self.rt:pollfd() end
function Host:timeout() return self.rt:timeout() end

function Host:reload(path)
  local ok, res, err = pcall(self.rt.reload, self.rt, path)
  if not ok then return nil, tostring(res) end
  if not res then
    return nil, type(err) == "table" and tostring(err.message or err.code) or tostring(err)
  end
  if path then self.policy = path end
  return true
end

function Host:stats_json()
  return encode(self.rt:stats())
end

function Host:close()
  if self.closed then return end
  self.closed = true
  self.rt:close()
  self.client:close()
end

return M
