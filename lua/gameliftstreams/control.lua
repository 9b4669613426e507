--- gameliftstreams.control: the emulator's control API (/_emulator/...) from Lua.
--
--   local control = require "gameliftstreams.control"
--   local emu = control.new("http://127.0.0.1:PORT")
--   emu:connect(session)        -- a client attaches: ACTIVE -> CONNECTED
--   emu:disconnect(session)     -- the client drops: CONNECTED -> PENDING_CLIENT_RECONNECTION
--   emu:advance(120)            -- virtual clock: every timer due by then runs
--   emu:sessions()              -- every session with its state
--   emu:requests()              -- the API requests served, oldest first
--   emu:faults{status = 503, count = 2}    emu:quotas{CreateStreamSessionConnection = 5}
--       fault kinds: status (4xx/5xx), latency_ms, drop, truncate, malformed, and
--       body_bytes = N (a 200 JSON body of exactly N bytes, up to 64 MiB: past a
--       client's response bound); count, operation narrow them
--   emu:reset()
--   emu:close()                 -- only matters with keep_alive
--
-- control.new(url, { keep_alive = true }) sends every request over one kept-alive
-- connection (core.http_session) instead of a new connection each: for callers
-- making thousands of control calls (bench/storm advances the clock every 25 ms).
--
-- `session` is a session ID or its ARN. Each method returns the decoded JSON
-- reply (or true for an empty one); a refusal returns nil, err with err a
-- table {code=, message=, status=}. Wrong argument types raise.
local core = require "gameliftstreams.core"
local cjson = require "cjson"

local control = {}
local Control = {}
Control.__index = Control

local error_mt = {
  __tostring = function(e) return ("%s: %s"):format(e.code, e.message) end,
}

local function fail(code, message, status)
  return nil, setmetatable({ code = code, message = message, status = status }, error_mt)
end

--- A control client for the emulator at url (its base URL, as printed on
-- its "listening on URL" line). opts (optional): { keep_alive = true }.
function control.new(url, opts)
  if type(url) ~= "string" or not url:match("^https?://[^/]+") then
    error("bad argument #1 to 'new' (an http(s):// URL expected)", 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error(("bad argument #2 to 'new' (table expected, got %s)"):format(type(opts)), 2)
  end
  local self = setmetatable({ url = url:gsub("/+$", ""), timeout = 30 }, Control)
  if opts and opts.keep_alive then self.http = core.http_session() end
  return self
end

--- Closes the kept-alive connection, if any (the client stays usable: later
-- requests open a connection each).
function Control:close()
  if self.http then self.http:close() end
  self.http = nil
end

--- One control request: method, path under /_emulator, optional Lua value
-- sent as JSON. Returns the decoded reply, or nil, err.
function Control:request(method, path, value)
  local body = value ~= nil and cjson.encode(value) or nil
  local req = {
    method = method, url = self.url .. "/_emulator" .. path, body = body,
    headers = body and { ["Content-Type"] = "application/json" } or nil,
    timeout = self.timeout,
  }
  local status, text
  if self.http then
    status, text = self.http:request(req)
  else
    status, text = core.http_request(req)
  end
  if not status then return fail("RequestFailed", text) end
  local ok, decoded = true, true
  if text ~= "" then ok, decoded = pcall(cjson.decode, text) end
  if status >= 300 then
    local e = ok and type(decoded) == "table" and decoded or {}
    return fail(e.code or "HTTP" .. status, e.message or text, status)
  end
  if not ok then return fail("MalformedReply", "the emulator's reply is not JSON", status) end
  return decoded
end

local function session_id(s, fn)
  if type(s) ~= "string" then
    error(("bad argument #1 to '%s' (session ID or ARN expected)"):format(fn), 3)
  end
  return s:match("([^/]+)$")
end

function Control:connect(session)
  return self:request("POST", "/sessions/" .. session_id(session, "connect") .. "/connect")
end

function Control:disconnect(session)
  return self:request("POST", "/sessions/" .. session_id(session, "disconnect") .. "/disconnect")
end

function Control:advance(seconds)
  if type(seconds) ~= "number" or seconds < 0 then
    error("bad argument #1 to 'advance' (seconds >= 0 expected)", 2)
  end
  return self:request("POST", "/clock", { advance = seconds })
end

function Control:sessions() return self:request("GET", "/sessions") end
function Control:requests() return self:request("GET", "/requests") end
function Control:clear_requests() return self:request("DELETE", "/requests") end
function Control:reset() return self:request("POST", "/reset") end
function Control:clear_faults() return self:request("DELETE", "/faults") end

function Control:faults(spec)
  if type(spec) ~= "table" then error("bad argument #1 to 'faults' (table expected)", 2) end
  return self:request("POST", "/faults", spec)
end

function Control:quotas(rates)
  if type(rates) ~= "table" then error("bad argument #1 to 'quotas' (table expected)", 2) end
  return self:request("POST", "/quotas", rates)
end

--- The state of one session as the emulator sees it, or nil, err.
function Control:session(session)
  local id = session_id(session, "session")
  local list, err = self:sessions()
  if not list then return nil, err end
  for _, s in ipairs(list) do
    if s.Id == id then return s end
  end
  return fail("ResourceNotFoundException", "no session " .. id, 404)
end

return control
