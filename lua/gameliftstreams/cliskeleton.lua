-- gameliftstreams.cliskeleton: `--generate-cli-skeleton [input|yaml-input|output]`
-- and `--cli-input-json` / `--cli-input-yaml`, as the AWS CLI v2 has them
-- (awscli/customizations/generatecliskeleton.py, cliinput.py, and botocore's
-- utils.ArgumentGenerator).
--
--   local sk = require "gameliftstreams.cliskeleton"
--   sk.input_json(cm, op)        -> text   (cm = climodel, op = cm.by_cli[name])
--   sk.input_yaml(cm, op)        -> text
--   sk.output_sample(cm, op)     -> value  (ordered JSON value, member names as strings)
--   sk.load_input(kind, value)   -> table | nil, message   (kind "json" | "yaml")
--   sk.merge(params, loaded)     -> params (command-line values win)
--
-- The texts are byte for byte what the AWS CLI prints (stdout, with the final
-- newline). load_input's messages are whole usage-error texts as the AWS CLI
-- prints them to stderr (exit code 252).
local json = require "gameliftstreams.json"
local overview = require("gameliftstreams.clioverview").members

local M = {}

-------------------------------------------------------------------- the tree
-- A skeleton is a tree of nodes: scalars are Lua values; a structure or map is
-- { kind = "map", keys = {...}, vals = {...}, notes = {...} | nil }; a list is
-- { kind = "list", items = {...} }; a timestamp is { kind = "time" }; a blob
-- is { kind = "blob" }.

local function count(stack, name)
  local n = 0
  for i = 1, #stack do
    if stack[i] == name then n = n + 1 end
  end
  return n
end

local generate

local function note(member, shape)
  local parts = {}
  if member.required then parts[#parts + 1] = "[REQUIRED]" end
  parts[#parts + 1] = member.overview or ""
  if shape.enum then
    parts[#parts + 1] = "Valid values are: " .. table.concat(shape.enum, ", ") .. "."
  end
  local text = table.concat(parts, " ")
  if text:match("^%s*$") then return nil end
  return "# " .. text
end

-- ArgumentGenerator._generate_skeleton: opts.names = use_member_names,
-- opts.notes = the YAML generator (comments, blobs as !!binary).
function generate(cm, name, stack, opts, member_name)
  local shape = assert(cm.shapes[name], name)
  stack[#stack + 1] = name
  local t, out = shape.type, nil
  if t == "structure" then
    out = { kind = "map", keys = {}, vals = {}, notes = opts.notes and {} or nil }
    if count(stack, name) <= 1 then
      local ov = overview[name] or {}
      for _, m in ipairs(shape.members or {}) do
        out.keys[#out.keys + 1] = m.name
        out.vals[#out.keys] = generate(cm, m.shape, stack, opts, m.name)
        if opts.notes then
          out.notes[#out.keys] = note({ required = m.required, overview = ov[m.name] }, cm.shapes[m.shape])
        end
      end
    end
  elseif t == "list" then
    out = { kind = "list", items = { generate(cm, shape.member, stack, opts, opts.names and shape.member or "") } }
  elseif t == "map" then
    out = { kind = "map", keys = { "KeyName" }, vals = { generate(cm, shape.value, stack, opts, "") } }
  elseif t == "string" then
    if opts.names then
      out = member_name or ""
    elseif shape.enum then
      out = shape.enum[1]
    else
      out = ""
    end
  elseif t == "integer" or t == "long" then
    out = 0
  elseif t == "float" or t == "double" then
    out = 0.0
  elseif t == "boolean" then
    out = true
  elseif t == "timestamp" then
    out = { kind = "time" }
  elseif t == "blob" then
    out = opts.notes and { kind = "blob" } or nil
  end
  stack[#stack] = nil
  return out
end

local function tree(cm, op, opts)
  local shape_name = op.input
  if opts.output then shape_name = op.output end
  if not shape_name then return { kind = "map", keys = {}, vals = {} } end
  return generate(cm, shape_name, {}, opts)
end

-------------------------------------------------------------------- YAML
-- ruamel.yaml's round-trip dump of the YAMLArgumentGenerator skeleton:
-- block style, maps indented by 2, list dashes at their key's indentation,
-- one end-of-line comment per structure member. ruamel places a comment at
-- the column of an earlier commented key (column 0, so one space after the
-- value); when it finds none (_yaml_get_column), the comment gets one more
-- space in front.

-- YAML 1.1/1.2 words and forms a plain scalar must not look like.
local RESERVED = {}
for w in ("null Null NULL true True TRUE false False FALSE yes Yes YES no No NO on On ON off Off OFF y Y n N ~")
    :gmatch("%S+") do
  RESERVED[w] = true
end

local function yaml_scalar(v)
  local tv = type(v)
  if tv == "boolean" then return tostring(v) end
  if tv == "number" then return math.type(v) == "float" and ("%.1f"):format(v) or tostring(v) end
  if v == "" then return "''" end
  if RESERVED[v] or v:match("^[%d+.-]") or not v:match("^[%w_][%w_./ -]*$") or v:match(" $")
      or v:match("^%d") then
    return "'" .. v:gsub("'", "''") .. "'"
  end
  return v
end

local function is_collection(v)
  return type(v) == "table" and (v.kind == "map" or v.kind == "list") and
    ((v.kind == "map" and #v.keys > 0) or (v.kind == "list" and #v.items > 0))
end

local function leaf(v)
  if type(v) ~= "table" then return yaml_scalar(v) end
  if v.kind == "time" then return "1970-01-01 00:00:00" end
  if v.kind == "blob" then return "!!binary ''" end
  if v.kind == "map" then return "{}" end
  return "[]"
end

-- The column ruamel finds for key i of map m (nil or 0): the previous key's
-- comment, else the last commented key before the first key >= this one.
local function has_column(m, i)
  if i > 1 and m.notes[i - 1] then return true end
  local key, found = m.keys[i], false
  for j = 1, i do
    if m.keys[j] >= key then break end
    if m.notes[j] then found = true end
  end
  return found
end

local yaml_node

-- Writes map m's entries; first_prefix replaces the indentation of the first
-- line (a list item's "- ").
local function yaml_map(m, ind, out, first_prefix)
  for i, k in ipairs(m.keys) do
    local v = m.vals[i]
    local line = (i == 1 and first_prefix or ind) .. k .. ":"
    local comment = m.notes and m.notes[i]
    if comment and not has_column(m, i) then comment = " " .. comment end
    if is_collection(v) then
      out[#out + 1] = line .. (comment and (" " .. comment) or "") .. "\n"
      yaml_node(v, v.kind == "map" and ind .. "  " or ind, out)
    else
      out[#out + 1] = line .. " " .. leaf(v) .. (comment and (" " .. comment) or "") .. "\n"
    end
  end
end

local function yaml_list(l, ind, out)
  for _, v in ipairs(l.items) do
    if is_collection(v) and v.kind == "map" then
      yaml_map(v, ind .. "  ", out, ind .. "- ")
    elseif is_collection(v) then
      out[#out + 1] = ind .. "-\n" -- lists of lists: not in this model
      yaml_list(v, ind .. "  ", out)
    else
      out[#out + 1] = ind .. "- " .. leaf(v) .. "\n"
    end
  end
end

function yaml_node(v, ind, out)
  if v.kind == "map" then yaml_map(v, ind, out) else yaml_list(v, ind, out) end
end

--- The yaml-input skeleton as YAML text.
function M.input_yaml(cm, op)
  local t = tree(cm, op, { notes = true })
  if not is_collection(t) then return "{}\n" end
  local out = {}
  yaml_node(t, "", out)
  return table.concat(out)
end

-------------------------------------------------------------------- output
-- ArgumentGenerator(use_member_names=True) over the output shape: what
-- `--generate-cli-skeleton output` formats as the response. A tree as
-- gameliftstreams.json values: timestamps as the isoformat() the AWS CLI's
-- JSON encoder writes, blobs as null.

local function to_value(v)
  if type(v) ~= "table" then return v end
  if v.kind == "time" then return "1970-01-01T00:00:00" end
  if v.kind == "blob" then return json.null end
  if v.kind == "list" then
    local l = {}
    for i, x in ipairs(v.items) do l[i] = to_value(x) end
    return json.array(l)
  end
  local o = json.object()
  for i, k in ipairs(v.keys) do json.set(o, k, to_value(v.vals[i])) end
  return o
end

--- The sample response as gameliftstreams.json values (ordered objects).
function M.output_sample(cm, op)
  return to_value(tree(cm, op, { names = true, output = true }))
end

--- The input skeleton as JSON text (with its final newline). Python's
-- json.dump escapes non-ASCII here, but a skeleton holds ASCII only.
function M.input_json(cm, op)
  return json.encode(to_value(tree(cm, op, {})), { indent = 4 }) .. "\n"
end

-------------------------------------------------------------------- cli-input

-- YAML 1.2 core schema, as ruamel's safe loader resolves plain scalars
-- (lyaml's default resolver is YAML 1.1, where yes/on/off are booleans).
local function core_scalar(s)
  if s == "" or s == "~" or s == "null" or s == "Null" or s == "NULL" then return json.null end
  if s == "true" or s == "True" or s == "TRUE" then return true end
  if s == "false" or s == "False" or s == "FALSE" then return false end
  if s:match("^[-+]?%d+$") then return math.tointeger(tonumber(s)) or tonumber(s) end
  if s:match("^0o[0-7]+$") then return tonumber(s:sub(3), 8) end
  if s:match("^0x%x+$") then return tonumber(s:sub(3), 16) end
  if s:match("^[-+]?%.%d+$") or s:match("^[-+]?%d+%.%d*$") or s:match("^[-+]?%.?%d+%.?%d*[eE][-+]?%d+$") then
    return tonumber(s) + 0.0
  end
  if s:match("^[-+]?%.[iI]nf$") or s:match("^[-+]?%.INF$") then
    return s:sub(1, 1) == "-" and -math.huge or math.huge
  end
  if s == ".nan" or s == ".NaN" or s == ".NAN" then return 0 / 0 end
  return s
end

local EXPLICIT = {
  ["tag:yaml.org,2002:str"] = function(v) return v end,
  ["tag:yaml.org,2002:int"] = function(v) return math.tointeger(tonumber(v)) end,
  ["tag:yaml.org,2002:float"] = function(v) return tonumber(v) and tonumber(v) + 0.0 end,
  ["tag:yaml.org,2002:bool"] = function(v) local b = core_scalar(v); if type(b) == "boolean" then return b end end,
  ["tag:yaml.org,2002:null"] = function() return json.null end,
}

-- The first document of text as gameliftstreams.json values (mappings as
-- ordered objects, sequences as arrays), read from libyaml's events
-- (lyaml's C parser); raises on a YAML error.
local function yaml_load(text)
  local next_event = require("yaml").parser(text)
  local anchors = {}
  local node
  function node(ev)
    local t, v = ev.type, nil
    if t == "SCALAR" then
      if ev.tag and EXPLICIT[ev.tag] then
        v = EXPLICIT[ev.tag](ev.value)
        if v == nil then error("bad " .. ev.tag .. " value") end
      elseif ev.style == "PLAIN" and not ev.tag then
        v = core_scalar(ev.value)
      else
        v = ev.value
      end
    elseif t == "ALIAS" then
      v = anchors[ev.anchor]
      if v == nil then error("unknown alias " .. tostring(ev.anchor)) end
      return v
    elseif t == "SEQUENCE_START" then
      v = json.array({})
      for e in next_event do
        if e.type == "SEQUENCE_END" then break end
        v[#v + 1] = node(e)
      end
    elseif t == "MAPPING_START" then
      v = json.object()
      for e in next_event do
        if e.type == "MAPPING_END" then break end
        local k = node(e)
        local val = node(next_event())
        if type(k) ~= "string" then k = tostring(k) end
        json.set(v, k, val)
      end
    else
      error("unexpected YAML event " .. tostring(t))
    end
    if ev.anchor then anchors[ev.anchor] = v end
    return v
  end
  for e in next_event do
    if e.type == "DOCUMENT_START" then
      local first = next_event()
      if first.type == "DOCUMENT_END" then return json.null end
      return node(first)
    elseif e.type == "STREAM_END" then
      return json.null
    end
  end
  return json.null
end

-- Python's type name of a loaded value, for "received <class '...'>".
local function py_type(v)
  local tv = type(v)
  if tv == "boolean" then return "bool" end
  if tv == "number" then return math.type(v) == "integer" and "int" or "float" end
  if tv == "string" then return "str" end
  if v == json.null then return "NoneType" end
  if json.is_array(v) then return "list" end
  return "dict"
end

local function param_error(name, msg)
  return ("\nError parsing parameter '%s': %s\n"):format(name, msg)
end

--- Reads a `file://` or `fileb://` value (awscli.paramfile, LOCAL_PREFIX_MAP);
-- returns the contents, or nil when value is not a file reference, or
-- false, message.
function M.paramfile(value)
  local prefix, path = value:match("^(fileb?://)(.*)$")
  if not prefix then return nil end
  local f, err, errno = io.open((path:gsub("^~", os.getenv("HOME") or "~")), "rb")
  if not f then
    local reason = errno == 2 and "No such file or directory" or tostring(err):match(": (.*)$") or tostring(err)
    return false, ("Unable to load paramfile %s: [Errno %d] %s: '%s'"):format(value, errno or 0, reason, path)
  end
  local data = f:read("a")
  f:close()
  return data
end

--- Parses the value of `--cli-input-json` (kind "json") or `--cli-input-yaml`
-- ("yaml"). Returns the parameters (a table), or nil and the AWS CLI's error
-- text for stderr (exit code 252).
function M.load_input(kind, value)
  local cli_name = "--cli-input-" .. kind
  local data, ferr = M.paramfile(value)
  if data == false then return nil, param_error(cli_name, ferr) end
  data = data or value
  local ok, loaded
  if kind == "json" then
    ok, loaded = pcall(json.decode, data)
    if ok and loaded == nil then ok = false end
    if not ok then return nil, param_error("cli-input-json", "Invalid JSON received.") end
  else
    ok, loaded = pcall(yaml_load, data)
    if not ok then return nil, param_error("cli-input-yaml", "Invalid YAML received.") end
  end
  local t = py_type(loaded)
  if t ~= "dict" then
    return nil, param_error(cli_name, ("Invalid type: expecting map, received <class '%s'>"):format(t))
  end
  return loaded
end

--- The message when both --cli-input-json and --cli-input-yaml are given.
M.ONLY_ONE = "\nOnly one --cli-input- parameter may be specified.\n"

--- Adds to params (a table of input members) every top-level key of
-- loaded (load_input's object) that params lacks, in loaded's order.
function M.merge(params, loaded)
  for k, v in pairs(loaded) do
    if params[k] == nil then params[k] = v end
  end
  return params
end

return M
