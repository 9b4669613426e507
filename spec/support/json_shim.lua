-- A stand-in for gameliftstreams.json (branch jmespath) with the same
-- contract, for the cli specs while that module is not merged: ordered
-- objects, json.null, arrays with json.array_mt, and encode() writing what
-- Python's json.dumps(v, indent=N, ensure_ascii=False) writes.
-- install() puts it in package.preload only when the real one is absent.
local cjson = require "cjson"

local M = { null = cjson.null }
M.array_mt = { __name = "json.array" }
local object_mt = { __name = "json.object" }
local order = setmetatable({}, { __mode = "k" })

function M.array(t) return setmetatable(t or {}, M.array_mt) end
function M.is_array(v) return type(v) == "table" and getmetatable(v) == M.array_mt end
function M.is_object(v)
  return type(v) == "table" and getmetatable(v) ~= M.array_mt
end
function M.object()
  local o = setmetatable({}, object_mt)
  order[o] = {}
  return o
end
function M.set(o, k, v)
  local ks = order[o]
  if not ks then
    ks = {}
    for key in pairs(o) do ks[#ks + 1] = key end
    table.sort(ks)
    order[o] = ks
  end
  if rawget(o, k) == nil then ks[#ks + 1] = k end
  rawset(o, k, v)
end
function M.keys(o)
  local ks = order[o]
  if ks then return ks end
  ks = {}
  for key in pairs(o) do ks[#ks + 1] = key end
  table.sort(ks)
  return ks
end

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r",
                  ["\t"] = "\\t", ["\b"] = "\\b", ["\f"] = "\\f" }
local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == "\127" then return c end
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local pyfloat
local function encode(v, indent, level)
  if v == M.null or v == nil then return "null" end
  local t = type(v)
  if t == "boolean" then return tostring(v) end
  if t == "string" then return encode_string(v) end
  if t == "number" then
    if math.type(v) == "integer" then return string.format("%d", v) end
    if v ~= v then return "NaN" end
    if v == math.huge then return "Infinity" end
    if v == -math.huge then return "-Infinity" end
    pyfloat = pyfloat or require("gameliftstreams.clioutput").pyfloat
    return pyfloat(v)
  end
  local items = {}
  local is_arr = M.is_array(v)
  if is_arr then
    for i = 1, #v do items[i] = encode(v[i], indent, level + 1) end
  else
    for _, k in ipairs(M.keys(v)) do
      items[#items + 1] = encode_string(k) .. ": " .. encode(v[k], indent, level + 1)
    end
  end
  local open, close = is_arr and "[" or "{", is_arr and "]" or "}"
  if #items == 0 then return open .. close end
  if not indent then return open .. table.concat(items, ", ") .. close end
  local pad = "\n" .. string.rep(" ", indent * (level + 1))
  return open .. pad .. table.concat(items, "," .. pad) .. "\n"
    .. string.rep(" ", indent * level) .. close
end

function M.encode(v, opts)
  return encode(v, opts and opts.indent, 0)
end

function M.install()
  if not pcall(require, "gameliftstreams.json") then
    package.loaded["gameliftstreams.json"] = nil
    package.preload["gameliftstreams.json"] = function() return M end
  end
end

return M
