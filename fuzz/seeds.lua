-- fuzz/seeds.lua - seeds from real traffic: the request gls's client makes
-- for each operation (spec/support/sample_inputs.lua, dry_run), and the reply
-- the emulator sends it. Writes fuzz/corpus/emulator (the Lua target's
-- format), fuzz/corpus/emuwire and fuzz/corpus/reply (the C targets'
-- formats, see fuzz/emuwire.c and fuzz/reply.c) and fuzz/corpus/prepare (the
-- sample inputs themselves, fuzz/prepare.c).
--
-- Run from the repository root: build/glsrun fuzz/seeds.lua
local gls = require "gameliftstreams"
local emulator = require "gameliftstreams.emulator"
local sigv4 = require "gameliftstreams.sigv4"
local cjson = require "cjson"

local samples = dofile("spec/support/sample_inputs.lua")
local T0 = 1764684000
local KEY = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

-- operation index in src/model.c's gls_operations (the reply target's byte)
local OP_INDEX, n = {}, 0
for line in io.lines("src/model.c") do
  local name = line:match('^  {"(%u%w+)", "[%l_]+", "%u+", "/')
  if name then
    OP_INDEX[name] = n
    n = n + 1
  end
end

local function put(target, name, data)
  os.execute("mkdir -p fuzz/corpus/" .. target)
  local f = assert(io.open(("fuzz/corpus/%s/%s"):format(target, name), "wb"))
  f:write(data)
  f:close()
end

local function snake(name) return (name:gsub("(%l)(%u)", "%1_%2"):gsub("(%u)(%u%l)", "%1_%2"):lower()) end

local client = gls.client{ region = "us-west-2", endpoint_url = "http://127.0.0.1:9000", credentials = KEY,
                           dry_run = true }
local emu = emulator.new{ clock = "virtual", time_source = function() return T0 end }

local function http_text(method, target, headers, body)
  local t = { method .. " " .. target }
  for _, h in ipairs(headers) do t[#t + 1] = h[1] .. ": " .. h[2] end
  return table.concat(t, "\n") .. "\n\n" .. body
end

local function handle(method, path, query, headers, body)
  local list = { { "Host", "127.0.0.1:9000" } }
  for _, h in ipairs(headers) do list[#list + 1] = h end
  local r = sigv4.sign{ method = method, path = path, query = query, headers = list, body = body,
    access_key_id = KEY.access_key_id, secret_access_key = KEY.secret_access_key, region = "us-west-2",
    service = "gameliftstreams", time = T0 }
  local map = {}
  for _, h in ipairs(r.headers) do map[h[1]:lower()] = h[2] end
  return emu:handle{ id = 1, method = method, path = path, query = query, body = body, remote = "127.0.0.1",
                     headers = map, header_list = r.headers }
end

local function reply_seed(op, status, headers, body)
  local lines = {}
  for _, k in ipairs{ "x-amzn-RequestId", "X-Amzn-ErrorType", "Content-Type" } do
    if headers[k] then lines[#lines + 1] = k .. ": " .. headers[k] end
  end
  lines[#lines + 1] = "Date: Tue, 02 Dec 2025 14:00:00 GMT"
  return string.char(OP_INDEX[op] or 0, status >> 8, status & 255) .. table.concat(lines, "\n") .. "\0" .. body
end

-- emuwire's format: flags, header count, then method, path, query, headers, body
local function emuwire_seed(flags, method, path, query, headers, body)
  local parts = { method, path, query }
  for _, h in ipairs(headers) do parts[#parts + 1] = h[1]; parts[#parts + 1] = h[2] end
  parts[#parts + 1] = body
  return string.char(flags, #headers) .. table.concat(parts, "\0")
end

local names = {}
for op in pairs(samples) do names[#names + 1] = op end
table.sort(names)
for _, op in ipairs(names) do
  local out, err = client[snake(op)](client, samples[op])
  assert(out, op .. ": " .. tostring(err and err.message))
  local path, query = out.url:match("^https?://[^/]+(/[^?]*)%??(.*)$")
  local headers = {}
  for _, h in ipairs(out.headers) do
    local k = h[1]:lower()
    if k == "content-type" then headers[#headers + 1] = { h[1], h[2] } end
  end
  put("prepare", op, string.char(OP_INDEX[op]) .. cjson.encode(samples[op]))
  put("emulator", op, "\0" .. http_text(out.method, path .. (query ~= "" and "?" .. query or ""), headers, out.body))
  put("emuwire", op, emuwire_seed(1, out.method, path, query, headers, out.body))
  local status, rh, rbody = handle(out.method, path, query, headers, out.body)
  put("reply", op .. "-" .. tostring(status), reply_seed(op, status, rh, rbody))
  -- the same with a body that breaks the model: a validation error
  if out.body ~= "" then
    local bad = out.body:gsub('"[^"]*"%s*}$', '"x\\u0000' .. ("y"):rep(300) .. '"}')
    local s2, h2, b2 = handle(out.method, path, query, headers, bad)
    put("reply", op .. "-bad-" .. tostring(s2), reply_seed(op, s2, h2, b2))
    put("emulator", op .. "-bad", "\0" .. http_text(out.method, path, headers, bad))
  end
end

-- errors of the front door: unsigned, unknown path, wrong method
local s, h, b = emu:handle{ id = 1, method = "GET", path = "/streamgroups", query = "", body = "",
  remote = "127.0.0.1", headers = { host = "127.0.0.1:9000" }, header_list = { { "Host", "127.0.0.1:9000" } } }
put("reply", "missing-authentication-" .. s, reply_seed("ListStreamGroups", s, h, b))
put("emulator", "unsigned", "\2" .. http_text("GET", "/streamgroups", { { "Host", "127.0.0.1:9000" } }, ""))
s, h, b = handle("GET", "/nowhere", "", {}, "")
put("reply", "unknown-operation-" .. s, reply_seed("GetStreamGroup", s, h, b))
s, h, b = handle("PUT", "/streamgroups", "", {}, "")
put("reply", "method-not-allowed-" .. s, reply_seed("CreateStreamGroup", s, h, b))
-- a throttled call and botocore-style bodies the real service has sent
put("reply", "throttled-429", reply_seed("CreateStreamSessionConnection", 429,
  { ["x-amzn-RequestId"] = "5b0a2c1e-3f4d-4e5f-8a9b-0c1d2e3f4a5b",
    ["X-Amzn-ErrorType"] = "ThrottlingException:http://internal.amazon.com/coral/com.amazonaws.gameliftstreams/" },
  '{"message":"Rate exceeded"}'))
put("reply", "type-in-body-400", reply_seed("GetStreamSession", 400, {},
  '{"__type":"com.amazonaws.gameliftstreams#ValidationException","Message":"1 validation error detected"}'))
put("reply", "code-in-body-503", reply_seed("GetStreamSession", 503, {}, '{"code":"ServiceUnavailable","errorMessage":"try later"}'))
put("reply", "skewed-403", reply_seed("ListStreamGroups", 403,
  { ["X-Amzn-ErrorType"] = "InvalidSignatureException" },
  '{"message":"Signature expired: 20251202T130000Z is now earlier than 20251202T135500Z (20251202T140000Z - 5 min.)"}'))

-- control API
local control = {
  { "POST", "/_emulator/clock", '{"advance": 30}' },
  { "POST", "/_emulator/faults", '{"operation":"CreateStreamSessionConnection","status":503,"code":"ServiceUnavailable","count":2}' },
  { "POST", "/_emulator/faults", '{"operation":"*","latency_ms":200,"count":1}' },
  { "POST", "/_emulator/faults", '{"operation":"GetStreamSession","truncate":true}' },
  { "POST", "/_emulator/quotas", '{"CreateStreamSessionConnection": 20, "*": 5}' },
  { "POST", "/_emulator/delays", '{"activation": 1.5}' },
  { "GET", "/_emulator/sessions", "" },
  { "POST", "/_emulator/sessions/ABC123def4567/connect", "{}" },
  { "POST", "/_emulator/sessions/ABC123def4567/disconnect", "{}" },
  { "GET", "/_emulator/requests", "" },
  { "POST", "/_emulator/reset", "" },
  { "GET", "/_emulator/health", "" },
}
for i, c in ipairs(control) do
  put("emulator", ("control-%02d"):format(i), "\1" .. http_text(c[1], c[2], { { "Content-Type", "application/json" } }, c[3]))
end
io.write("seeds written\n")
