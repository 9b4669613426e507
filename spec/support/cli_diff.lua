-- Differential testing of glsrun's CLI output and argument reading against
-- the AWS CLI v2's own Python modules (spec/support/awscli_output.py run by
-- /usr/bin/python3, the interpreter of /usr/bin/aws), plus seeded generators
-- of JSON documents, GameLift Streams responses and shorthand texts.
local json = require "gameliftstreams.json"
local cjson = require "cjson"

local M = {}

M.PYTHON = "/usr/bin/python3"
M.HARNESS = "spec/support/awscli_output.py"

local function sh_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- Can /usr/bin/python3 import awscli's formatter and shorthand? -> ok, why
function M.available()
  local f = io.open(M.PYTHON, "r")
  if not f then return false, M.PYTHON .. " is absent" end
  f:close()
  local ok = os.execute(M.PYTHON .. " -c 'import awscli.formatter, awscli.shorthand, "
    .. "awscli.argprocess, jmespath' >/dev/null 2>&1")
  if not ok then
    return false, M.PYTHON .. " cannot import awscli (apt-get install awscli)"
  end
  return true
end

--- Runs requests (Lua tables, encoded with json.encode) through the harness
-- in one process; returns the answers in order (decoded with cjson).
function M.run(requests)
  local inp = os.tmpname()
  local outp = os.tmpname()
  local f = assert(io.open(inp, "wb"))
  for _, r in ipairs(requests) do
    f:write(json.encode(r), "\n")
  end
  f:close()
  local ok = os.execute("nice -n 10 " .. M.PYTHON .. " " .. sh_quote(M.HARNESS) .. " < "
    .. sh_quote(inp) .. " > " .. sh_quote(outp))
  os.remove(inp)
  assert(ok, "the awscli harness failed")
  local answers = {}
  for line in io.lines(outp) do answers[#answers + 1] = cjson.decode(line) end
  os.remove(outp)
  assert(#answers == #requests, "the harness answered " .. #answers .. " of "
    .. #requests .. " requests")
  return answers
end

local function obj(pairs_list)
  local o = json.object()
  for i = 1, #pairs_list, 2 do json.set(o, pairs_list[i], pairs_list[i + 1]) end
  return o
end
M.obj = obj

---------------------------------------------------------------------------
-- Generators (one math.random stream, seeded by the spec)
---------------------------------------------------------------------------

local R = math.random

local function pick(list) return list[R(#list)] end

local WORDS = { "sg-1AB2C3De4", "a-9ZYX8WvU7", "ACTIVE", "ERROR", "us-west-2",
  "ap-northeast-1", "hello world", "a", "x", "Windows", "gen5n_win2022",
  "arn:aws:gameliftstreams:us-west-2:123456789012:streamgroup/sg-1AB2C3De4",
  "C:\\Game\\game.exe", "s3://bucket/prefix/", "2025-01-02T03:04:05.123000+00:00",
  "Value with  two spaces" }

local SPECIAL = { "", " ", "true", "false", "True", "null", "Null", "~", "123", "-1.5",
  "1e3", "0x1F", "0o17", "1_000", ".inf", ".nan", "2024-01-02", "2024-01-02 03:04:05",
  "2024-1-2T3:04:05.5Z", "yes", "no", "on", "off", "- x", "-", "? x", "?", "a: b",
  "a:b", "#x", "x #y", "'q'", "\"dq\"", "[x]", "{y}", "@z", "`t`", "%p", "!t", "&a",
  "*b", "|", ">", " lead", "trail ", "tab\there", "line\nbreak", "two\n\nlines",
  "end\n", "back\\slash", "ümlaut", "日本語テキスト", "Привет мир", "ελληνικά",
  "emoji😀", "±°×", "\u{a0}nbsp", "zero\u{200b}width", "ß", "del\127", "bell\7",
  "\u{2028}sep", "\u{feff}bom", "𝄞clef", "ｆｕｌｌ", "한국어", "mixed 日本 text",
  "<<", "=", "- ", ": ", "x: ", "a,b", "c=d", "{\"k\": 1}", "'", "\"", "'\"",
  "~/path", "*.txt", "12:30", "1:20:30", "+1", "-0", "0.", ".5", "1.2.3" }

local LONG_PARTS = { "stream", "group", "日本語", "session", "connection", "Ωmega",
  "x", "0123456789", "ﾊﾝｶｸ", "wide：colon" }

local KEYS = { "Arn", "arn", "ARN", "Id", "StreamGroupId", "streamGroupId", "stream_group_id",
  "Status", "status", "STATUS", "x", "y", "Key1", "key2", "a.b", "with space",
  "日本", "clé", "ключ", "Ωmega", "ß", "_under", "9lives", "Description",
  "CreatedAt", "LastUpdatedAt", "Items", "NextToken", "Tags", "Name", "Value",
  "ResponseMetadata2", "DefaultApplication", "LocationStates", "Capacity" }

local INTS = { 0, 1, -1, 2, 7, 42, 100, 65535, 1000000, 2147483647, -2147483648,
  9007199254740993, -9007199254740992 }
local FLOATS = { 0.0, -0.0, 0.5, 1.5, 0.1, 1e16, 1e15, 1e-7, 1e-4, 123.0, 3.14159,
  2.5e-5, 1e300, -2.75, 100.0, 1e22, 12345678.9 }

function M.gen_string()
  local r = R(100)
  if r <= 35 then return pick(WORDS) end
  if r <= 70 then return pick(SPECIAL) end
  if r <= 85 then
    local parts = {}
    for i = 1, R(4, 30) do parts[i] = pick(LONG_PARTS) end
    return table.concat(parts, R(2) == 1 and " " or "-")
  end
  local cs = {}
  for i = 1, R(1, 12) do
    local c = R(100)
    if c <= 70 then cs[i] = string.char(R(33, 126))
    elseif c <= 80 then cs[i] = " "
    elseif c <= 90 then cs[i] = utf8.char(R(0xa1, 0x24f))
    else cs[i] = utf8.char(R(0x4e00, 0x4fff)) end
  end
  return table.concat(cs)
end

function M.gen_key()
  if R(3) == 1 then
    local cs = {}
    for i = 1, R(1, 10) do
      local c = R(3)
      if c == 1 then cs[i] = string.char(R(65, 90))
      elseif c == 2 then cs[i] = string.char(R(97, 122))
      else cs[i] = string.char(R(48, 57)) end
    end
    return table.concat(cs)
  end
  return pick(KEYS)
end

function M.gen_scalar()
  local r = R(100)
  if r <= 50 then return M.gen_string() end
  if r <= 65 then return pick(INTS) end
  if r <= 72 then return R(-100000, 100000) end
  if r <= 82 then return pick(FLOATS) end
  if r <= 86 then return (R() - 0.5) * 10 ^ R(-8, 20) end
  if r <= 94 then return R(2) == 1 end
  return json.null
end

local gen_value

local function gen_object(depth, keys)
  local o = json.object()
  keys = keys or {}
  local n = R(0, 6)
  for _ = 1, n do
    local k = (#keys > 0 and R(3) > 1) and pick(keys) or M.gen_key()
    if o[k] == nil then json.set(o, k, gen_value(depth + 1)) end
  end
  return o
end

gen_value = function(depth)
  depth = depth or 0
  local r = R(100)
  if depth >= 4 or r <= 45 then return M.gen_scalar() end
  if r <= 70 then
    -- a list: of objects sharing keys, of scalars, of lists, or mixed
    local kind = R(10)
    local t = json.array({})
    local n = R(0, 4)
    if kind <= 5 then
      local keys = {}
      for i = 1, R(1, 5) do keys[i] = M.gen_key() end
      for i = 1, n do t[i] = gen_object(depth + 1, keys) end
    elseif kind <= 8 then
      for i = 1, n do t[i] = M.gen_scalar() end
    elseif kind == 9 then
      for i = 1, n do
        local inner = json.array({})
        for j = 1, R(0, 3) do inner[j] = M.gen_string() end
        t[i] = inner
      end
    else
      -- mixed: nested lists start with a string (a list starting with an
      -- integer inside a list of objects is a documented mismatch)
      for i = 1, n do
        local c = R(3)
        if c == 1 then t[i] = gen_object(depth + 1)
        elseif c == 2 then t[i] = json.array({ "s", M.gen_scalar() })
        else t[i] = M.gen_scalar() end
      end
    end
    return t
  end
  return gen_object(depth)
end
M.gen_value = gen_value

--- A top-level document: mostly an object (a response), sometimes any value
-- (what a --query can give).
function M.gen_document()
  if R(4) == 1 then return gen_value(1) end
  return gen_object(0)
end

---------------------------------------------------------------------------
-- GameLift Streams responses, from the model's output shapes
---------------------------------------------------------------------------

function M.load_model(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  return assert(json.decode(text))
end

local function realistic_string(name, def)
  if def.enum then return pick(def.enum) end
  local n = name:lower()
  if n:find("arn") then
    return "arn:aws:gameliftstreams:us-west-2:123456789012:" .. pick({ "streamgroup/sg-1AB2C3De4",
      "application/a-9ZYX8WvU7", "streamsession/sg-1AB2C3De4/ABC123def4567" })
  end
  if n:find("id") then return pick({ "sg-1AB2C3De4", "a-9ZYX8WvU7", "ABC123def4567" }) end
  if n:find("location") then return pick({ "us-west-2", "us-east-1", "ap-northeast-1" }) end
  if n:find("signal") then return "offer-" .. ("v=0 o=- 4611731400430051336 2 IN IP4 "):rep(R(1, 4)) end
  if n:find("description") or n:find("reason") then return M.gen_string() end
  if n:find("uri") or n:find("path") then return "s3://game-bucket/builds/" .. R(1000) .. "/" end
  if n:find("token") then return "eyJ" .. string.rep("QUJD", R(2, 20)) end
  return pick(WORDS)
end

local function realistic(shapes, name, member_name, depth)
  local def = shapes[name]
  local t = def.type
  if t == "structure" then
    local o = json.object()
    for _, m in ipairs(json.keys(def.members)) do
      if depth < 5 and R(5) > 1 then
        json.set(o, m, realistic(shapes, def.members[m].shape, m, depth + 1))
      end
    end
    return o
  elseif t == "list" then
    local a = json.array({})
    if depth < 5 then
      for i = 1, R(0, 3) do a[i] = realistic(shapes, def.member.shape, member_name, depth + 1) end
    end
    return a
  elseif t == "map" then
    local o = json.object()
    for _ = 1, R(0, 3) do
      json.set(o, pick({ "team", "env", "Owner", "cost-center", "GAME_MODE", "LOG_LEVEL" }),
        realistic(shapes, def.value.shape, member_name, depth + 1))
    end
    return o
  elseif t == "timestamp" then
    return string.format("2025-%02d-%02dT%02d:%02d:%02d.%06d+00:00", R(12), R(28), R(0, 23),
      R(0, 59), R(0, 59), R(0, 999) * 1000)
  elseif t == "integer" or t == "long" then
    return R(0, def.max or 100)
  elseif t == "boolean" then
    return R(2) == 1
  elseif t == "double" or t == "float" then
    return R() * 100
  end
  return realistic_string(member_name or name, def)
end

--- {op, value} for each operation with an output, n values each.
function M.gen_responses(model, n)
  local out = {}
  local ops = json.keys(model.operations)
  for _, op in ipairs(ops) do
    local o = model.operations[op]
    if o.output then
      for _ = 1, n do
        out[#out + 1] = { op = op, value = realistic(model.shapes, o.output.shape, nil, 0) }
      end
    end
  end
  return out
end

function M.realistic(model, shape_name)
  return realistic(model.shapes, shape_name, nil, 0)
end

---------------------------------------------------------------------------
-- Shorthand texts
---------------------------------------------------------------------------

local SH_KEYS = { "a", "Key", "Name", "x.y", "k-1", "#h", "p/q", "s:t", "_", "", "Ключ", "a b" }
local SH_WORDS = { "b", "value", "1", "true", "x y", "  padded  ", "trail ", "é日本", "😀",
  "a\\,b", "a\\\\,b", "=", "x=y", "[", "]", "{", "}", "]x", "}x", "~", "|", "\t", "a\tb",
  "\u{3000}", "\u{a0}", "!", "-", "*", "a\nb", "'", "\"", "\\", "" }

local function sh_quoted()
  local q = R(2) == 1 and "'" or '"'
  local parts = {}
  for i = 1, R(0, 4) do
    parts[i] = pick({ "a", " ", "\\\\", "\\" .. q, q == "'" and '"' or "'", ",", "=",
      "é", "[", "}", "\\", "\n" })
  end
  local s = q .. table.concat(parts) .. q
  if R(10) == 1 then s = s:sub(1, -2) end   -- unterminated
  return s
end

local sh_value

local function sh_list(depth)
  local parts = {}
  for i = 1, R(0, 4) do parts[i] = sh_value(depth + 1) end
  local sep = pick({ ",", ", ", " ,", "," })
  local s = "[" .. table.concat(parts, sep) .. "]"
  if R(12) == 1 then s = s:sub(1, -2) end
  return s
end

local function sh_hash(depth)
  local parts = {}
  for i = 1, R(0, 3) do parts[i] = pick(SH_KEYS) .. pick({ "=", " = ", "=" }) .. sh_value(depth + 1) end
  local s = "{" .. table.concat(parts, pick({ ",", ", " })) .. "}"
  if R(12) == 1 then s = s:sub(1, -2) end
  return s
end

sh_value = function(depth)
  local r = R(100)
  if depth < 3 and r <= 15 then return sh_list(depth) end
  if depth < 3 and r <= 28 then return sh_hash(depth) end
  if r <= 40 then return sh_quoted() end
  return pick(SH_WORDS)
end

--- A shorthand text, valid or not.
function M.gen_shorthand()
  local parts = {}
  for i = 1, R(1, 4) do
    local v
    if R(4) == 1 then
      local items = {}
      for j = 1, R(2, 4) do items[j] = R(3) == 1 and sh_quoted() or pick(SH_WORDS) end
      v = table.concat(items, pick({ ",", ", " }))
    else
      v = sh_value(0)
    end
    parts[i] = pick(SH_KEYS) .. pick({ "=", "=", " =", "= " }) .. v
  end
  local s = table.concat(parts, pick({ ",", ",", ", ", " ,", ",\n" }))
  local r = R(30)
  if r == 1 then s = s .. "," elseif r == 2 then s = s .. ",,x" elseif r == 3 then
    s = s .. "," .. parts[1] end
  return s
end

return M
