-- gameliftstreams.argvalue: how the AWS CLI v2 (2.9.19) turns an option's
-- words into a parameter value (awscli/paramfile.py, argprocess.py and the
-- BackCompatVisitor of shorthand.py), for `glsrun OPERATION`.
--
--   local argvalue = require "gameliftstreams.argvalue"
--   local shape = argvalue.resolve(model.shapes, "LocationConfigurations")
--   local text, err = argvalue.load(words, "--location-configurations")
--   -- text: the file's contents for file://PATH or fileb://PATH (awscli does
--   -- this for every option), nil for anything else
--   local v, err = argvalue.unpack(shape, text or words, "--location-configurations")
--
-- The value handed to unpack is what argparse gives awscli: one string for a
-- scalar, structure or map option, a list of strings (nargs "+") for a list
-- option. The rules, in awscli's order:
--   * a structure, a map, or a list whose members are structures, lists or
--     maps is read as shorthand (gameliftstreams.shorthand) unless its (first)
--     word starts with "{" or "[" after whitespace; the shorthand's strings
--     are then converted by the shape: integer/long by Python's int(),
--     float/double by float(), booleans only from "true"/"false" (any case),
--     and a single value where a list is expected becomes a one-item list;
--     each word of a list option is one shorthand document
--   * otherwise JSON for a structure or map (text starting with "{"; anything
--     else: "Invalid JSON:\n<text>"), and for a list whose first word starts
--     with "[" (only when it is the only word); a list of scalars takes one
--     item per word
--   * scalars: integer/long int(), float/double float(), boolean: "false"
--     (any case) is false, any other non-empty text true; the rest as text
--
-- Errors are nil, err with err = {code = C, message = M, rc = R}: awscli
-- writes "\n" .. M .. "\n" to stderr and exits with R. code "ParamError" (rc
-- 252) carries "Error parsing parameter '--x': ..."; "ValueError",
-- "TypeError", "IndexError", "AttributeError" (rc 255) are Python's own
-- exceptions that awscli lets through, with Python's message.
--
-- Shapes (argvalue.resolve builds them from service-2.json's "shapes"):
--   {type = "structure", members = {{name = "A", shape = S}, ...},
--    document = bool}
--   {type = "list", member = S}
--   {type = "map", key = S, value = S}
--   {type = "string" | "integer" | "long" | "float" | "double" | "boolean" |
--           "blob" | "timestamp", streaming = bool, jsonvalue = bool,
--           location = "header" | ...}
local json = require "gameliftstreams.json"
local shorthand = require "gameliftstreams.shorthand"
local pyunicode = require "gameliftstreams.pyunicode"

local M = { _NAME = "gameliftstreams.argvalue" }

local null = json.null
local is_array, is_object = json.is_array, json.is_object

local SCALAR = { string = true, integer = true, long = true, float = true,
                 double = true, boolean = true, blob = true, timestamp = true,
                 character = true, byte = true, bigdecimal = true, biginteger = true }
local COMPLEX = { structure = true, list = true, map = true }

local PyError = {}   -- marks errors raised inside this module

local function raise(code, message)
  error(setmetatable({ code = code, message = message,
                       rc = code == "ParamError" and 252 or 255 }, PyError), 0)
end

local function param_error(cli_name, message)
  raise("ParamError", string.format("Error parsing parameter '%s': %s", cli_name, message))
end

-- Python's repr() of a str.
local function pyrepr(s)
  return require("gameliftstreams.clioutput").pyrepr(s)
end

local function pytype(v)
  if type(v) == "string" then return "str" end
  if is_array(v) then return "list" end
  if is_object(v) then return "dict" end
  if v == null or v == nil then return "NoneType" end
  if type(v) == "boolean" then return "bool" end
  return math.type(v) == "integer" and "int" or "float"
end

-- str.strip() / lstrip() with Python's whitespace.
local function strip(s, left_only)
  local cps = shorthand.code_points(s)
  local i, j = 1, #cps
  while i <= j and pyunicode.is_space(cps[i]) do i = i + 1 end
  if not left_only then
    while j >= i and pyunicode.is_space(cps[j]) do j = j - 1 end
  end
  local out = {}
  for k = i, j do out[#out + 1] = utf8.char(cps[k]) end
  return table.concat(out)
end

-- s[0] of a Python str (its first character), raising IndexError when empty.
local function first_char(s)
  if s == "" then raise("IndexError", "string index out of range") end
  return utf8.char(shorthand.code_points(s)[1])
end

-- _PyUnicode_TransformDecimalAndSpaceToASCII, then strip(): what int() and
-- float() parse. Any other non-ASCII character stays (and fails the parse).
local function ascii_number_text(s)
  local out = {}
  for _, cp in ipairs(shorthand.code_points(s)) do
    local d = cp >= 128 and pyunicode.decimal_value(cp)
    if d then out[#out + 1] = string.char(48 + d)
    elseif pyunicode.is_space(cp) then out[#out + 1] = " "
    else out[#out + 1] = utf8.char(cp) end
  end
  return (table.concat(out):match("^ *(.-) *$"))
end

local function underscores_ok(digits)
  -- Python allows one "_" between two digits only
  return not (digits:find("__", 1, true) or digits:find("^_") or digits:find("_$"))
end

-- int(value) as Python does it for a str (base 10) or a number.
local function pyint(v)
  if type(v) == "number" then
    return math.tointeger(v) or (v >= 0 and math.floor(v) or math.ceil(v))
  end
  if type(v) == "boolean" then return v and 1 or 0 end
  if type(v) ~= "string" then
    raise("TypeError", "int() argument must be a string, a bytes-like object or a real number, not '"
      .. pytype(v) .. "'")
  end
  local s = ascii_number_text(v)
  local sign, digits = s:match("^([+-]?)([0-9_]+)$")
  if not digits or not underscores_ok(digits) then
    raise("ValueError", "invalid literal for int() with base 10: " .. pyrepr(v))
  end
  digits = digits:gsub("_", "")
  local n = math.tointeger(tonumber(sign .. digits))
  -- beyond 64 bits Python keeps an exact integer; Lua keeps the nearest float
  return n or tonumber(sign .. digits .. ".0")
end
M.pyint = pyint

-- float(value) as Python does it.
local function pyfloatvalue(v)
  if type(v) == "number" then return v + 0.0 end
  if type(v) == "boolean" then return v and 1.0 or 0.0 end
  if type(v) ~= "string" then
    raise("TypeError", "float() argument must be a string or a real number, not '"
      .. pytype(v) .. "'")
  end
  local s = ascii_number_text(v)
  local low = s:lower()
  local sign, word = low:match("^([+-]?)(%a+)$")
  if word == "inf" or word == "infinity" then
    return sign == "-" and -math.huge or math.huge
  elseif word == "nan" then
    return 0.0 / 0.0
  end
  local body = s:match("^[+-]?(.*)$")
  local mant, exp = body:match("^([0-9_.]+)([eE][+-]?[0-9_]+)$")
  if not mant then mant, exp = body, "" end
  local ip, fp = mant:match("^([0-9_]*)%.([0-9_]*)$")
  if not ip then ip, fp = mant:match("^([0-9_]+)$"), "" end
  local ok = ip ~= nil and (ip ~= "" or fp ~= "")
    and (ip == "" or underscores_ok(ip)) and (fp == "" or underscores_ok(fp))
    and (exp == "" or underscores_ok(exp:sub(2):gsub("^[+-]", "")))
  if not ok then
    raise("ValueError", "could not convert string to float: " .. pyrepr(v))
  end
  return tonumber((s:gsub("_", ""))) + 0.0
end
M.pyfloat = pyfloatvalue

---------------------------------------------------------------------------
-- paramfile.py
---------------------------------------------------------------------------

local function expand_path(path, getenv)
  getenv = getenv or os.getenv
  -- os.path.expanduser, then os.path.expandvars ($NAME and ${NAME}; unset
  -- variables stay as written)
  if path:sub(1, 1) == "~" then
    local user_end = path:find("/", 2, true) or (#path + 1)
    if user_end == 2 then
      local home = getenv("HOME")
      if home then path = home:gsub("/$", "") .. path:sub(2) end
    end
  end
  path = path:gsub("%$(%b{})", function(b)
    local v = getenv(b:sub(2, -2))
    return v
  end)
  path = path:gsub("%$([%w_]+)", function(name) return getenv(name) end)
  return path
end

local ERRNO_TEXT = {
  [2] = "No such file or directory", [13] = "Permission denied",
  [21] = "Is a directory", [20] = "Not a directory",
}

--- argvalue.load(value, cli_name [, getenv]) -> string | nil (not a file
--- reference) | nil, err
-- value: the option's string, or its list of words (a list of one word counts
-- as that word). file:// reads UTF-8 text, fileb:// bytes.
function M.load(value, cli_name, getenv)
  if type(value) == "table" and #value == 1 then value = value[1] end
  if type(value) ~= "string" then return nil end
  local prefix
  if value:sub(1, 7) == "file://" then prefix = "file://"
  elseif value:sub(1, 8) == "fileb://" then prefix = "fileb://" end
  if not prefix then return nil end
  local path = expand_path(value:sub(#prefix + 1), getenv)
  local f, msg, errno = io.open(path, "rb")
  local data
  if f then
    data, msg = f:read("a")
    f:close()
    if not data then errno = 21 end
  end
  if not data then
    local text = ERRNO_TEXT[errno] or (msg and msg:gsub("^.-: ", "")) or "error"
    return nil, { code = "ParamError", rc = 252, message = string.format(
      "Error parsing parameter '%s': Unable to load paramfile %s: [Errno %d] %s: %s",
      cli_name, value, errno or 0, text, pyrepr(path)) }
  end
  if prefix == "file://" then
    if not utf8.len(data) then
      return nil, { code = "ParamError", rc = 252, message = string.format(
        "Error parsing parameter '%s': Unable to load paramfile (%s), text contents could "
        .. "not be decoded.  If this is a binary file, please use the "
        .. "fileb:// prefix instead of the file:// prefix.", cli_name, path) }
    end
    -- text mode: universal newlines
    data = data:gsub("\r\n?", "\n")
  end
  return data
end

---------------------------------------------------------------------------
-- argprocess.py
---------------------------------------------------------------------------

local function is_document(shape)
  return shape.document == true
end

local function is_document_container(shape, seen)
  seen = seen or {}
  if seen[shape] then return false end
  seen[shape] = true
  if is_document(shape) then return true end
  if shape.type == "list" then return is_document_container(shape.member, seen) end
  if shape.type == "map" then return is_document_container(shape.value, seen) end
  if shape.type == "structure" then
    for _, m in ipairs(shape.members) do
      if is_document_container(m.shape, seen) then return true end
    end
  end
  return false
end

local function supports_shorthand(shape)
  if is_document_container(shape) then return false end
  if not COMPLEX[shape.type] then return false end
  if shape.type == "list" and not COMPLEX[shape.member.type] then return false end
  return true
end

local function unpack_json(value, cli_name)
  local v, err = json.decode(value)
  if v == nil and err ~= nil then
    param_error(cli_name, "Invalid JSON: " .. tostring(type(err) == "table"
      and err.message or err) .. "\nJSON received: " .. value)
  end
  return v
end

local unpack_cli_arg

local function unpack_scalar(shape, value, cli_name)
  local t = shape.type
  if t == "integer" or t == "long" then return pyint(value) end
  if t == "float" or t == "double" then return pyfloatvalue(value) end
  if t == "blob" and shape.streaming then
    local path = expand_path(value)
    local f = io.open(path, "rb")
    if not f then param_error(cli_name, "Blob values must be a path to a file.") end
    local data = f:read("a")
    f:close()
    return data
  end
  if t == "boolean" then
    if type(value) == "string" and value:lower() == "false" then return false end
    if type(value) == "string" then return value ~= "" end
    return value ~= nil and value ~= null and value ~= false
  end
  return value
end

-- A Python str iterated: its characters.
local function chars(s)
  local out = {}
  for _, c in ipairs(shorthand.code_points(s)) do out[#out + 1] = utf8.char(c) end
  return out
end

local function unpack_complex(shape, value, cli_name)
  local t = shape.type
  if t == "structure" or t == "map" then
    if first_char(strip(value, true)) == "{" then
      return unpack_json(value, cli_name)
    end
    param_error(cli_name, "Invalid JSON:\n" .. value)
  end
  -- list
  local items
  if type(value) == "string" then
    if first_char(strip(value, true)) == "[" then
      return unpack_json(value, cli_name)
    end
    items = chars(value)
  else
    if #value == 1 then
      local single = strip(value[1])
      if single ~= "" and single:sub(1, 1) == "[" then
        return unpack_json(value[1], cli_name)
      end
    end
    items = value
  end
  local out = json.array({})
  for i, v in ipairs(items) do
    local ok, r = pcall(unpack_cli_arg, shape.member, v, cli_name)
    if not ok then
      if getmetatable(r) == PyError and (r.code == "ValueError" or r.code == "TypeError") then
        param_error(cli_name, items[1])
      end
      error(r, 0)
    end
    out[i] = r
  end
  return out
end

unpack_cli_arg = function(shape, value, cli_name)
  if (shape.jsonvalue and shape.location == "header") or is_document(shape) then
    return unpack_json(value, cli_name)
  elseif SCALAR[shape.type] then
    return unpack_scalar(shape, value, cli_name)
  elseif COMPLEX[shape.type] then
    return unpack_complex(shape, value, cli_name)
  end
  return value
end

-- BackCompatVisitor: shorthand strings converted by the shape.
local visit

local function visit_scalar(shape, value, set)
  if value == nil then return end
  local t = shape.type
  if t == "integer" or t == "long" then
    set(pyint(value))
  elseif t == "double" or t == "float" then
    set(pyfloatvalue(value))
  elseif t == "boolean" then
    if type(value) ~= "string" then
      raise("AttributeError", "'" .. pytype(value) .. "' object has no attribute 'lower'")
    end
    local low = value:lower()
    if low == "true" then set(true) elseif low == "false" then set(false) end
  end
end

visit = function(shape, value, set, top)
  local t = shape.type
  if t == "structure" then
    if value ~= nil and is_document(shape) then
      raise("DocumentTypesNotSupportedError", "")
    end
    if not is_object(value) then return end
    for _, m in ipairs(shape.members) do
      local ok, err = pcall(visit, m.shape, value[m.name], function(v)
        json.set(value, m.name, v)
      end)
      if not ok then
        if getmetatable(err) == PyError and err.code == "DocumentTypesNotSupportedError" then
          raise("ShorthandParseError", "Shorthand syntax does not support document types. "
            .. "Use JSON input for top-level argument to specify nested parameter: " .. m.name)
        end
        error(err, 0)
      end
    end
  elseif t == "list" then
    if not is_array(value) then
      if value ~= nil and not top then set(json.array({ value })) end
      return
    end
    for i = 1, #value do
      visit(shape.member, value[i], function(v) value[i] = v end)
    end
  elseif t == "map" then
    if not is_object(value) then return end
    for _, k in ipairs(json.keys(value)) do
      visit(shape.value, value[k], function(v) json.set(value, k, v) end)
    end
  else
    visit_scalar(shape, value, set)
  end
end

local function parse_shorthand(text)
  local v, err = shorthand.parse(text)
  if not v then raise("ShorthandParseError", err.message) end
  return v
end

local function should_parse_as_shorthand(shape, value)
  local check = value
  if type(value) == "table" and #value > 0 then check = value[1] end
  if type(check) == "string" then
    local s = strip(check)
    local c = s:sub(1, 1)
    if c == "[" or c == "{" then return false end
  end
  return supports_shorthand(shape)
end

local function unpack(shape, value, cli_name)
  if should_parse_as_shorthand(shape, value) then
    local ok, r = pcall(function()
      if shape.type == "structure" and #shape.members == 1
        and shape.members[1].name == "Value" and shape.members[1].shape.type == "string"
        and type(value) == "string" and not value:find("=", 1, true) then
        local o = json.object()
        json.set(o, "Value", value)
        return o
      end
      local parsed
      if type(value) == "table" then
        parsed = json.array({})
        for i, v in ipairs(value) do parsed[i] = parse_shorthand(v) end
      else
        parsed = parse_shorthand(value)
      end
      visit(shape, parsed, function() end, true)
      return parsed
    end)
    if ok then return r end
    if getmetatable(r) == PyError and r.code == "ShorthandParseError" then
      param_error(cli_name, r.message)
    end
    error(r, 0)
  end
  return unpack_cli_arg(shape, value, cli_name)
end

--- argvalue.unpack(shape, value, cli_name) -> value | nil, err
function M.unpack(shape, value, cli_name)
  if type(shape) ~= "table" or type(shape.type) ~= "string" then
    error("bad argument #1 to 'unpack' (shape expected)", 2)
  end
  local ok, r = pcall(unpack, shape, value, cli_name or "--" .. "value")
  if ok then return r end
  if getmetatable(r) == PyError then
    return nil, { code = r.code, message = r.message, rc = r.rc }
  end
  error(r, 0)
end

--- argvalue.resolve(shapes, name) -> shape
-- shapes: service-2.json's "shapes" (members in document order when it is an
-- ordered gameliftstreams.json object, sorted otherwise). Recursive shapes
-- give cyclic tables.
function M.resolve(shapes, name, cache)
  cache = cache or {}
  if cache[name] then return cache[name] end
  local def = shapes[name]
  if def == nil then error("unknown shape '" .. tostring(name) .. "'", 2) end
  local s = { type = def.type, name = name, streaming = def.streaming == true,
              document = def.document == true, jsonvalue = def.jsonvalue == true,
              location = def.location }
  cache[name] = s
  if def.type == "structure" then
    s.members = {}
    local names = json.is_object(def.members) and json.keys(def.members) or {}
    for _, mname in ipairs(names) do
      local m = def.members[mname]
      local ms = M.resolve(shapes, m.shape, cache)
      if m.jsonvalue or m.location then
        local copy = {}
        for k, v in pairs(ms) do copy[k] = v end
        copy.jsonvalue = m.jsonvalue == true or ms.jsonvalue
        copy.location = m.location or ms.location
        ms = copy
      end
      s.members[#s.members + 1] = { name = mname, shape = ms }
    end
  elseif def.type == "list" then
    s.member = M.resolve(shapes, def.member.shape, cache)
  elseif def.type == "map" then
    s.key = M.resolve(shapes, def.key.shape, cache)
    s.value = M.resolve(shapes, def.value.shape, cache)
  end
  return s
end

return M
