--- gameliftstreams.json: JSON values in Lua that keep what JSON says.
--
-- lua-cjson decodes `[]` and `{}` to the same empty table and forgets the
-- order of object keys; the AWS CLI prints keys in the order the service
-- sent them. Here:
--   json.null                the null sentinel (== cjson.null)
--   json.array(t)            marks t as an array (metatable json.array_mt)
--   json.object()            a new empty ordered object (json.object_mt)
--   json.set(obj, k, v)      sets a key in insertion order (nil removes it);
--                            `obj.k = v` on an object records the order too
--   json.keys(obj)           keys in insertion order (plain table: sorted)
--   json.is_array(v), json.is_object(v)
--   json.decode(text)        -> value | nil, err   (jansson, in C)
--   json.encode(v, opts)     -> text, as Python's json.dumps(v,
--                            indent=opts.indent, ensure_ascii=False,
--                            sort_keys=opts.sort_keys) writes it
-- Objects read as plain tables (`obj.Key`); pairs() walks them in order.
-- Numbers: JSON integers decode to Lua integers (outside 64 bits, the whole
-- document's integers to floats), the others to floats. jansson refuses
-- NUL in object keys and numbers beyond the double range (Python takes both).
local core = require "gameliftstreams.core"
local cjson = require "cjson"

local M = {}

M.null = cjson.null

local array_mt = { __name = "json.array" }
M.array_mt = array_mt

-- order[obj] = list of obj's keys: list[i] = key and list[key] = i (JSON
-- keys are strings, positions integers: they cannot collide). Weak keys,
-- so an object's order dies with it; never stored in the object itself.
local order = setmetatable({}, { __mode = "k" })

local function list_remove(list, k)
  local pos = list[k]
  if not pos then return end
  list[k] = nil
  table.remove(list, pos)
  for i = pos, #list do list[list[i]] = i end
end

local function list_append(list, k)
  list_remove(list, k)
  local n = #list + 1
  list[n], list[k] = k, n
end

local object_mt = { __name = "json.object" }
M.object_mt = object_mt

-- A new key (absent keys only reach __newindex) goes to the end.
function object_mt.__newindex(obj, k, v)
  if type(k) == "string" and v ~= nil then
    local list = order[obj]
    if not list then list = {}; order[obj] = list end
    list_append(list, k)
  end
  rawset(obj, k, v)
end

local function is_plain(t) return type(t) == "table" and getmetatable(t) == nil end

--- The string keys of obj: an object's in insertion order, then any set
-- behind its back (rawset) sorted; a plain table's sorted.
function M.keys(obj)
  local out, extra = {}, {}
  local list = getmetatable(obj) == object_mt and order[obj] or {}
  for i = 1, #list do
    local k = list[i]
    if rawget(obj, k) ~= nil then out[#out + 1] = k end
  end
  for k in next, obj do
    if type(k) == "string" and not list[k] then extra[#extra + 1] = k end
  end
  table.sort(extra)
  table.move(extra, 1, #extra, #out + 1, out)
  return out
end

function object_mt.__pairs(obj)
  local keys, i = M.keys(obj), 0
  return function()
    i = i + 1
    local k = keys[i]
    if k ~= nil then return k, rawget(obj, k) end
  end, obj, nil
end

function M.array(t)
  if t == nil then t = {} end
  if type(t) ~= "table" then
    error("bad argument #1 to 'array' (table expected, got " .. type(t) .. ")", 2)
  end
  return setmetatable(t, array_mt)
end

function M.object()
  local obj = setmetatable({}, object_mt)
  order[obj] = {}
  return obj
end

--- Sets obj[k] = v keeping insertion order: a new key goes last, an existing
-- one keeps its place, v == nil removes k. A plain table becomes an object
-- (its keys, sorted, first).
function M.set(obj, k, v)
  if type(k) ~= "string" then
    error("bad argument #2 to 'set' (string expected, got " .. type(k) .. ")", 2)
  end
  if is_plain(obj) then
    local list = {}
    for i, key in ipairs(M.keys(obj)) do list[i], list[key] = key, i end
    order[obj] = list
    setmetatable(obj, object_mt)
  elseif getmetatable(obj) ~= object_mt then
    error("bad argument #1 to 'set' (JSON object expected, got " .. type(obj) .. ")", 2)
  end
  local list = order[obj]
  if not list then list = {}; order[obj] = list end
  if v == nil then
    list_remove(list, k)
  elseif rawget(obj, k) == nil then
    list_append(list, k)
  end
  rawset(obj, k, v)
  return obj
end

--- Is v an array: marked, or a plain non-empty sequence (keys exactly 1..n)?
function M.is_array(v)
  if type(v) ~= "table" then return false end
  local mt = getmetatable(v)
  if mt == array_mt then return true end
  if mt ~= nil then return false end
  local n = #v
  if n == 0 then return false end
  local count = 0
  for k in next, v do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
    count = count + 1
  end
  return count == n
end

--- Is v an object: made by json.object/decode, or a plain table whose keys
-- are all strings (an empty plain table is an object)?
function M.is_object(v)
  if type(v) ~= "table" then return false end
  local mt = getmetatable(v)
  if mt == object_mt then return true end
  if mt ~= nil then return false end
  for k in next, v do
    if type(k) ~= "string" then return false end
  end
  return true
end

---------------------------------------------------------------- decode

local Error = { __tostring = function(e) return e.code .. ": " .. e.message end }

function M.decode(text)
  if type(text) ~= "string" then
    error("bad argument #1 to 'decode' (string expected, got " .. type(text) .. ")", 2)
  end
  local v, msg = core.json_decode(text, array_mt, object_mt, order)
  if msg then return nil, setmetatable({ code = "InvalidJSON", message = msg }, Error) end
  return v
end

---------------------------------------------------------------- encode

--- x as Python's repr(float) writes it: the shortest digits that read back
-- as x, positional when the decimal point falls within 16 digits of them.
local e_formats, all_e_formats = { "%.14e", "%.15e", "%.16e" }, {}
for p = 0, 16 do all_e_formats[p + 1] = "%." .. p .. "e" end

local function float_repr(x)
  if x ~= x then return "NaN" end
  if x == math.huge then return "Infinity" end
  if x == -math.huge then return "-Infinity" end
  if x == 0 then return 1 / x < 0 and "-0.0" or "0.0" end
  -- Any decimal of 15 significant digits or fewer survives the trip through
  -- a double (DBL_DIG), so when 15 digits read back as x, those digits less
  -- their trailing zeros are the shortest; else 16, else 17 (always enough).
  -- Subnormals hold fewer digits: for them, every length from 1 up.
  local s
  for _, fmt in ipairs(math.abs(x) < 2.2250738585072014e-308 and all_e_formats or e_formats) do
    s = fmt:format(x)
    if tonumber(s) == x then break end
  end
  local sign, d1, frac, e = s:match("^(-?)(%d)%.?(%d*)e([-+]%d+)$")
  local digits = (d1 .. frac):gsub("0+$", "")
  local decpt = tonumber(e) + 1
  if decpt > 16 or decpt <= -4 then
    local mant = #digits > 1 and digits:sub(1, 1) .. "." .. digits:sub(2) or digits
    local ex = decpt - 1
    return ("%s%se%s%02d"):format(sign, mant, ex < 0 and "-" or "+", math.abs(ex))
  elseif decpt <= 0 then
    return sign .. "0." .. ("0"):rep(-decpt) .. digits
  elseif decpt >= #digits then
    return sign .. digits .. ("0"):rep(decpt - #digits) .. ".0"
  end
  return sign .. digits:sub(1, decpt) .. "." .. digits:sub(decpt + 1)
end
M.float_repr = float_repr

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
for b = 0, 31 do
  local c = string.char(b)
  if not escapes[c] then escapes[c] = ("\\u%04x"):format(b) end
end

-- s with each byte that is not part of valid UTF-8 made U+FFFD: JSON text
-- is UTF-8, and jansson (the C core, the reader of --query's output) refuses
-- anything else (fuzz/regressions/jmespath, fuzz/regressions/cli: a raw
-- string literal or an argument with a stray byte came out as invalid JSON).
local function valid_utf8(s)
  if utf8.len(s) then return s end
  local out, i = {}, 1
  while i <= #s do
    local n, bad = utf8.len(s, i)
    if n then
      out[#out + 1] = s:sub(i)
      break
    end
    out[#out + 1] = s:sub(i, bad - 1)
    out[#out + 1] = "\u{FFFD}"
    i = bad + 1
  end
  return table.concat(out)
end

local function quote(s)
  s = valid_utf8(s)
  if not s:find('[%z\1-\31"\\]') then return '"' .. s .. '"' end
  return '"' .. s:gsub('[%z\1-\31"\\]', escapes) .. '"'
end

-- Python's ensure_ascii=True: everything outside space..~ as \uXXXX
-- (UTF-16 surrogate pairs beyond the BMP).
local function u16(c)
  if c < 0x10000 then return ("\\u%04x"):format(c) end
  c = c - 0x10000
  return ("\\u%04x\\u%04x"):format(0xD800 + (c >> 10), 0xDC00 + (c & 0x3FF))
end

local function quote_ascii(s)
  return (quote(s):gsub("[\127-\255][\128-\191]*", function(seq)
    local ok, out = pcall(function()
      local parts = {}
      for _, c in utf8.codes(seq) do parts[#parts + 1] = u16(c) end
      return table.concat(parts)
    end)
    return ok and out or (seq:gsub(".", function(b) return u16(b:byte()) end))
  end))
end

local default_seps, indent_seps = { ", ", ": " }, { ",", ": " }

local function encode_into(v, opts, out, level, seen)
  local t = type(v)
  if v == nil or v == M.null then
    out[#out + 1] = "null"
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif t == "number" then
    out[#out + 1] = math.type(v) == "integer" and tostring(v) or float_repr(v)
  elseif t == "string" then
    out[#out + 1] = (opts.ensure_ascii and quote_ascii or quote)(v)
  elseif t == "table" then
    if seen[v] then error("json.encode: circular reference", 0) end
    local mt = getmetatable(v)
    local array = mt == array_mt or mt ~= object_mt and M.is_array(v)
    if not array and mt ~= object_mt and not M.is_object(v) then
      error("json.encode: a table must be an array (keys 1..n) or an object (string keys)", 0)
    end
    local keys
    if not array then
      keys = M.keys(v)
      if opts.sort_keys then table.sort(keys) end
    end
    local n = array and #v or #keys
    if n == 0 then
      out[#out + 1] = array and "[]" or "{}"
      return
    end
    seen[v] = true
    local indent, close = opts.indent, ""
    local seps = opts.separators or (indent and indent_seps) or default_seps
    local sep, colon = seps[1], seps[2]
    if indent then
      local pad = "\n" .. (" "):rep(indent * (level + 1))
      out[#out + 1] = (array and "[" or "{") .. pad
      sep, close = sep .. pad, "\n" .. (" "):rep(indent * level)
    else
      out[#out + 1] = array and "[" or "{"
    end
    for i = 1, n do
      if i > 1 then out[#out + 1] = sep end
      if array then
        encode_into(v[i], opts, out, level + 1, seen)
      else
        out[#out + 1] = (opts.ensure_ascii and quote_ascii or quote)(keys[i]) .. colon
        encode_into(v[keys[i]], opts, out, level + 1, seen)
      end
    end
    out[#out + 1] = close .. (array and "]" or "}")
    seen[v] = nil
  else
    error("json.encode: cannot encode a " .. t, 0)
  end
end

local no_opts = {}

--- v as JSON text, as Python's json.dumps(v, indent=opts.indent,
-- ensure_ascii=False, sort_keys=opts.sort_keys) writes it; also
-- opts.separators = {item, key} and opts.ensure_ascii as Python's. Raises on what
-- JSON cannot hold (functions, mixed tables, cycles); inf and nan come out
-- as Python's Infinity and NaN.
function M.encode(v, opts)
  opts = opts or no_opts
  if type(opts) ~= "table" then
    error("bad argument #2 to 'encode' (table expected, got " .. type(opts) .. ")", 2)
  end
  if opts.indent ~= nil and math.type(opts.indent) ~= "integer" then
    error("bad argument #2 to 'encode' (indent must be an integer)", 2)
  end
  local out = {}
  encode_into(v, opts, out, 0, {})
  return table.concat(out)
end

return M
