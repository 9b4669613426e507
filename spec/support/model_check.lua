-- Checks Lua values against the shapes of the GameLift Streams model
-- (shared/reference/gameliftstreams/service-2.json): structure members known,
-- required members present, enums valid, types, lengths, ranges and the
-- patterns of the shapes the emulator answers with.
--
--   local model = require "spec.support.model_check"
--   local problems = model.check_output("GetStreamSession", out)   -- {} when valid
--   model.operation("StartStreamSession").http.responseCode          -- 201
local cjson = require "cjson"
local helper = require "spec.helper"

local M = {}

local doc = cjson.decode(helper.read_file(helper.shared .. "/reference/gameliftstreams/service-2.json"))
M.doc = doc
local shapes = doc.shapes

local D12 = ("%d"):rep(12)

-- The model's patterns (Java/ECMA regexes) as Lua predicates, matched against
-- the whole string: emulator output must match in full, not just contain a match.
local PATTERNS = {
  ["(^[a-zA-Z0-9-]+$)|(^arn:aws:gameliftstreams:([^: ]*):([0-9]{12}):([^: ]*)$)"] = function(s)
    return s:find("^[%w-]+$") ~= nil or s:find("^arn:aws:gameliftstreams:[^: ]*:" .. D12 .. ":[^: ]*$") ~= nil
  end,
  ["arn:aws:gameliftstreams:([^: ]*):([0-9]{12}):([^: ]*)"] = function(s)
    return s:find("^arn:aws:gameliftstreams:[^: ]*:" .. D12 .. ":[^: ]*$") ~= nil
  end,
  ["[a-zA-Z0-9-]+"] = function(s) return s:find("^[%w-]+$") ~= nil end,
  ["[a-zA-Z0-9-_.!+@/][a-zA-Z0-9-_.!+@/ ]*"] = function(s)
    return s:find("^[%w%-_%.!%+@/][%w%-_%.!%+@/ ]*$") ~= nil
  end,
  ["$|^s3://([a-zA-Z0-9][a-zA-Z0-9._-]{1,61}[a-zA-Z0-9])(/[a-zA-Z0-9._-]+)*/?"] = function(s)
    if s == "" then return true end
    local bucket, rest = s:match("^s3://([%w][%w%._%-]+[%w])(.*)$")
    if not bucket or #bucket > 63 then return false end
    return rest:gsub("/[%w%._%-]+", "") == "" or rest:gsub("/[%w%._%-]+", "") == "/"
  end,
  ["[-_a-zA-Z0-9/=+]*"] = function(s) return s:find("^[%-_%w/=%+]*$") ~= nil end,
  ["arn:aws[a-zA-Z-]*:iam::\\d{12}:role/.+"] = function(s)
    return s:find("^arn:aws[%a%-]*:iam::" .. D12 .. ":role/.+$") ~= nil
  end,
  ["s3://.*(/|\\.zip|\\.ZIP)"] = function(s)
    return s:find("^s3://") ~= nil and (s:find("/$") or s:find("%.zip$") or s:find("%.ZIP$")) ~= nil
  end,
  ["[\\x21-\\x7E]+"] = function(s) return s:find("^[\33-\126]+$") ~= nil end,
  ["[_a-zA-Z][_a-zA-Z0-9]*"] = function(s) return s:find("^[_%a][_%w]*$") ~= nil end,
  ["(([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])\\.){3}([0-9]|[1-9][0-9]|1[0-9]{2}|2[0-4][0-9]|25[0-5])"
    .. "/([0-9]|[1-2][0-9]|3[0-2])"] = function(s)
    local a, b, c, d, n = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)/(%d+)$")
    if not a then return false end
    for _, x in ipairs({ a, b, c, d }) do
      if tonumber(x) > 255 or (#x > 1 and x:sub(1, 1) == "0") then return false end
    end
    return tonumber(n) <= 32 and not (#n > 1 and n:sub(1, 1) == "0")
  end,
}

local function is_sequence(t)
  local n = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  return n == #t
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

local function check(shape_name, v, path, problems)
  local s = shapes[shape_name]
  local function bad(fmt, ...) problems[#problems + 1] = path .. ": " .. fmt:format(...) end
  local t = s.type
  if t == "structure" then
    if type(v) ~= "table" then return bad("structure expected, got %s", type(v)) end
    for k, x in pairs(v) do
      local m = type(k) == "string" and s.members[k]
      if not m then
        bad("unknown member %s", tostring(k))
      else
        check(m.shape, x, path .. "." .. k, problems)
      end
    end
    for _, r in ipairs(s.required or {}) do
      if v[r] == nil then bad("required member %s missing", r) end
    end
  elseif t == "list" then
    if type(v) ~= "table" or not is_sequence(v) then return bad("list expected") end
    if s.min and #v < s.min then bad("%d items, fewer than %d", #v, s.min) end
    if s.max and #v > s.max then bad("%d items, more than %d", #v, s.max) end
    for i, x in ipairs(v) do check(s.member.shape, x, ("%s[%d]"):format(path, i), problems) end
  elseif t == "map" then
    if type(v) ~= "table" then return bad("map expected, got %s", type(v)) end
    local n = count(v)
    if s.min and n < s.min then bad("%d entries, fewer than %d", n, s.min) end
    if s.max and n > s.max then bad("%d entries, more than %d", n, s.max) end
    for k, x in pairs(v) do
      if type(k) ~= "string" then
        bad("map key %s is not a string", tostring(k))
      else
        check(s.key.shape, k, path .. "{key}", problems)
        check(s.value.shape, x, path .. "{" .. k .. "}", problems)
      end
    end
  elseif t == "string" then
    if type(v) ~= "string" then return bad("string expected, got %s", type(v)) end
    if s.enum then
      local ok = false
      for _, e in ipairs(s.enum) do ok = ok or e == v end
      if not ok then bad("'%s' is not one of %s", v, table.concat(s.enum, ", ")) end
    end
    if s.min and utf8.len(v) < s.min then bad("length %d < %d", utf8.len(v), s.min) end
    if s.max and utf8.len(v) > s.max then bad("length %d > %d", utf8.len(v), s.max) end
    if s.pattern then
      local p = PATTERNS[s.pattern]
      if not p then
        bad("no checker for pattern %s", s.pattern)
      elseif not p(v) then
        bad("'%s' does not match %s", v, s.pattern)
      end
    end
  elseif t == "integer" or t == "long" then
    if math.type(v) ~= "integer" then return bad("integer expected, got %s", tostring(v)) end
    if s.min and v < s.min then bad("%d < %d", v, s.min) end
    if s.max and v > s.max then bad("%d > %d", v, s.max) end
  elseif t == "boolean" then
    if type(v) ~= "boolean" then bad("boolean expected, got %s", type(v)) end
  elseif t == "timestamp" or t == "double" or t == "float" then
    if type(v) ~= "number" then bad("number expected, got %s", type(v)) end
  else
    bad("unchecked shape type %s", t)
  end
end

function M.operation(name) return doc.operations[name] end

--- Problems of out as op's output ({} when valid); nil output for ops without an output shape.
function M.check_output(op_name, out)
  local op = assert(doc.operations[op_name], op_name)
  local problems = {}
  if not op.output then
    if out ~= nil then problems[1] = op_name .. ": no output shape, but an output was given" end
    return problems
  end
  if type(out) ~= "table" then
    problems[1] = op_name .. ": output table expected"
    return problems
  end
  check(op.output.shape, out, op_name, problems)
  return problems
end

--- Problems of an input table against op's input shape.
function M.check_input(op_name, input)
  local problems = {}
  check(doc.operations[op_name].input.shape, input, op_name, problems)
  return problems
end

--- The status the model gives op's success.
function M.success_status(op_name)
  return doc.operations[op_name].http.responseCode or 200
end

--- Input members the model marks required; members carrying an idempotency token.
function M.required_inputs(op_name)
  local shape = shapes[doc.operations[op_name].input.shape]
  return shape.required or {}
end

function M.idempotency_member(op_name)
  local shape = shapes[doc.operations[op_name].input.shape]
  for name, m in pairs(shape.members) do
    if m.idempotencyToken then return name end
  end
  return nil
end

--- The HTTP status of a modelled error code, or nil.
function M.error_status(code)
  local s = shapes[code]
  return s and s.exception and s.error and s.error.httpStatusCode or nil
end

function M.operation_names()
  local names = {}
  for name in pairs(doc.operations) do names[#names + 1] = name end
  table.sort(names)
  return names
end

return M
