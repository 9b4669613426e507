-- fuzz/targets/emulator.lua - the emulator's request handling
-- (gameliftstreams.emulator, emu:handle): SigV4 verification, routing,
-- input decoding and model validation (core.emu_verify, emu_route,
-- emu_input: src/emuwire.c through the Lua binding), the operations
-- themselves, output encoding, and the unsigned control API.
--
-- Input: one byte (% 3): 0 an API request the target signs (so it gets past
-- SigV4 to decoding, validation and the operation), 1 a control API request
-- from loopback, 2 the request as given (unsigned, or with whatever
-- Authorization it carries); then "METHOD PATH[?QUERY]\n", header lines
-- "Name: value\n", an empty line, the body. Each input gets a new emulator on a
-- fixed virtual clock.
--
-- Bugs (raised as {bug=}): handle raising; a reply that is not a status
-- 100..599 with a headers table and a string body; an API error without
-- X-Amzn-ErrorType or without a JSON {"message"} body; a 500 (the emulator
-- failing on its own); a success whose non-empty body is not a JSON object;
-- a message holding the secret key or the signature.
local emulator = require "gameliftstreams.emulator"
local sigv4 = require "gameliftstreams.sigv4"
local cjson = require "cjson"
local http = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib/http.lua")

local function bug(fmt, ...) error({ bug = fmt:format(...) }, 2) end

local T0 = 1764684000 -- 2025-12-02T14:00:00Z
local KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

local function is_json_object(body)
  local ok, v = pcall(cjson.decode, body)
  return ok and type(v) == "table", v
end

return function(data)
  local mode = (data:byte(1) or 0) % 3
  local method, path, query, list, body = http.parse(data:sub(2))
  local signature
  if mode == 0 then
    if path:sub(1, 1) ~= "/" then path = "/" .. path end
    local has_host = false
    for _, p in ipairs(list) do if p[1]:lower() == "host" then has_host = true end end
    if not has_host then table.insert(list, 1, { "Host", "127.0.0.1:9000" }) end
    -- refused by the signer (bad header names...): not the emulator's business
    local r = sigv4.sign{ method = method, path = path, query = query, headers = list, body = body,
      access_key_id = KEY, secret_access_key = SECRET, region = "us-west-2", service = "gameliftstreams",
      time = T0 }
    list = r.headers
    signature = r.signature
  elseif mode == 1 then
    if path:sub(1, 10) ~= "/_emulator" then path = "/_emulator/" .. path:gsub("^/", "") end
  end
  local emu = emulator.new{ clock = "virtual", time_source = function() return T0 end }
  local req = { id = 1, method = method, path = path, query = query, body = body, remote = "127.0.0.1",
                headers = http.header_map(list), header_list = list }
  local ok, status, headers, rbody = pcall(emu.handle, emu, req)
  if not ok then bug("handle raised: %s", tostring(status)) end
  if status == nil then return end -- deferred (a latency fault): nothing more to see
  if math.type(status) ~= "integer" or status < 100 or status > 599 then bug("status %s", tostring(status)) end
  if type(headers) ~= "table" or type(rbody) ~= "string" then bug("headers %s, body %s", type(headers), type(rbody)) end
  if status == 500 then bug("500: %s", rbody) end
  if rbody:find(SECRET, 1, true) or (signature and rbody:find(signature, 1, true)) then
    bug("the reply shows the secret key or the signature: %s", rbody)
  end
  local control = path:sub(1, 10) == "/_emulator"
  if status >= 400 then
    if not control and not headers["X-Amzn-ErrorType"] then bug("an API error without X-Amzn-ErrorType") end
    local okj, doc = is_json_object(rbody)
    if not okj then bug("an error body that is not a JSON object: %q", rbody) end
    if not control and type(doc.message) ~= "string" then bug("an API error without a message: %q", rbody) end
  elseif rbody ~= "" and not is_json_object(rbody) then
    bug("a %d whose body is not a JSON object: %q", status, rbody)
  end
end
