--- gameliftstreams.jmespath: JMESPath (jmespath.org) as Python's jmespath
-- package evaluates it (the AWS CLI's --query).
--
--     local jmespath = require "gameliftstreams.jmespath"
--     local result, err = jmespath.search(expression, value)
--     local text, err = jmespath.search_json(expression, json_text)
--
-- Values are those of gameliftstreams.json (json.null for null, marked
-- arrays, ordered objects; plain Lua tables are read too); results are in
-- the same form, null as json.null, multi-select hashes ordered as written.
-- search_json writes its result as Python's json.dumps(result) does.
-- A syntax error or a runtime error returns nil, err, err.code one of
-- "syntax", "invalid-type", "invalid-value", "invalid-arity",
-- "unknown-function"; a non-string expression raises. Where Python's
-- jmespath follows Python rather than the specification, so does this
-- module: true == 1 inside arrays and objects, ordering strings against
-- numbers is an invalid-type error, functions are checked when called.
-- Two differences remain: merge() checks all its arguments (Python only the
-- first), and integers stop at 64 bits (ceil(`1e20`) is a float here).
--
-- The parser is a Pratt parser, token for token the one of Python's
-- jmespath (the same binding powers, so the same trees and the same
-- syntax errors). Compiled expressions are cached (the 512 most recent).
local json = require "gameliftstreams.json"

local M = {}

local NULL = json.null
local array_mt, object_mt = json.array_mt, json.object_mt
local new_array, new_object, json_set, json_keys = json.array, json.object, json.set, json.keys

---------------------------------------------------------------- errors

local Error = {}
Error.__index = Error
Error.__tostring = function(e) return e.code .. ": " .. e.message end

local function raise(code, message, ...)
  error(setmetatable({ code = code, message = message:format(...) }, Error), 0)
end

---------------------------------------------------------------- values

local Expref = { __name = "jmespath.expref" }

--- The JMESPath type of v: "null", "boolean", "number", "string", "array",
-- "object" or "expref".
local function kind(v)
  local t = type(v)
  if v == nil or v == NULL then return "null" end
  if t == "table" then
    local mt = getmetatable(v)
    if mt == array_mt then return "array" end
    if mt == object_mt then return "object" end
    if mt == Expref then return "expref" end
    return json.is_array(v) and "array" or "object"
  end
  if t == "boolean" or t == "number" or t == "string" then return t end
  raise("invalid-type", "a Lua %s is no JSON value", t)
end
M.type = kind

-- Python's == on JSON values: deep, 1 == 1.0, and (Python) true == 1.
local function py_eq(a, b)
  local ka, kb = kind(a), kind(b)
  if ka == "boolean" and kb == "number" then return (a and 1 or 0) == b end
  if kb == "boolean" and ka == "number" then return (b and 1 or 0) == a end
  if ka ~= kb then return false end
  if ka == "array" then
    if #a ~= #b then return false end
    for i = 1, #a do
      if not py_eq(a[i], b[i]) then return false end
    end
    return true
  elseif ka == "object" then
    local keys = json_keys(a)
    if #keys ~= #json_keys(b) then return false end
    for _, k in ipairs(keys) do
      if b[k] == nil or not py_eq(a[k], b[k]) then return false end
    end
    return true
  elseif ka == "null" then
    return true
  end
  return a == b
end

-- JMESPath's false: null, false, "", [], {}.
local function is_false(v)
  if v == nil or v == NULL or v == false or v == "" then return true end
  if type(v) == "table" and getmetatable(v) ~= Expref then return next(v) == nil end
  return false
end

local function get(v) if v == nil then return NULL end return v end

---------------------------------------------------------------- lexer

local simple = { ["."] = "dot", ["*"] = "star", ["]"] = "rbracket", [","] = "comma",
                 [":"] = "colon", ["@"] = "current", ["("] = "lparen", [")"] = "rparen",
                 ["{"] = "lbrace", ["}"] = "rbrace" }
-- c, then what follows it: the token type with and without the second char
local pairs2 = { ["|"] = { "|", "or", "pipe" }, ["&"] = { "&", "and", "expref" },
                 ["<"] = { "=", "lte", "lt" }, [">"] = { "=", "gte", "gt" },
                 ["!"] = { "=", "ne", "not" } }

local function lex_error(pos, fmt, ...)
  raise("syntax", "%s at position %d", fmt:format(...), pos - 1)
end

-- Text from s[i] (the opening delimiter) up to the closing one; a backslash
-- keeps the next character (and itself). Returns the text and the position
-- after the closing delimiter.
local function until_delim(s, i, delim)
  local buf, j = {}, i + 1
  while true do
    local c = s:sub(j, j)
    if c == delim then break end
    if c == "\\" then
      buf[#buf + 1] = c
      j = j + 1
      c = s:sub(j, j)
    end
    if c == "" then lex_error(i, "unclosed %s delimiter", delim) end
    buf[#buf + 1] = c
    j = j + 1
  end
  return table.concat(buf), j + 1
end

local function tokenize(s)
  if s == "" then raise("syntax", "empty expression") end
  local toks, i, n = {}, 1, #s
  local function push(type_, value, start) toks[#toks + 1] = { type = type_, value = value, start = start } end
  while i <= n do
    local c = s:sub(i, i)
    if simple[c] then
      push(simple[c], c, i)
      i = i + 1
    elseif c:find("^[%a_]") then
      local word = s:match("^[%w_]+", i)
      push("unquoted_identifier", word, i)
      i = i + #word
    elseif c == " " or c == "\t" or c == "\n" or c == "\r" then
      i = i + 1
    elseif c == "[" then
      local nx = s:sub(i + 1, i + 1)
      if nx == "]" then push("flatten", "[]", i); i = i + 2
      elseif nx == "?" then push("filter", "[?", i); i = i + 2
      else push("lbracket", "[", i); i = i + 1 end
    elseif c == "'" then
      local text, j = until_delim(s, i, "'")
      push("literal", (text:gsub("\\'", "'")), i)
      i = j
    elseif pairs2[c] then
      local p = pairs2[c]
      if s:sub(i + 1, i + 1) == p[1] then push(p[2], c .. p[1], i); i = i + 2
      else push(p[3], c, i); i = i + 1 end
    elseif c == "`" then
      local text, j = until_delim(s, i, "`")
      text = text:gsub("\\`", "`")
      local v, err = json.decode(text)
      if err then
        v, err = json.decode('"' .. text:gsub("^[ \t\n\r]+", "") .. '"')
        if err then lex_error(i, "bad JSON literal `%s`", text) end
      end
      push("literal", v, i)
      i = j
    elseif c:find("^[%d-]") then
      local digits = s:match("^-?%d*", i)
      if digits == "-" then lex_error(i, "unknown token '-'") end
      push("number", math.tointeger(tonumber(digits)) or (digits:sub(1, 1) == "-" and math.mininteger
        or math.maxinteger), i)
      i = i + #digits
    elseif c == '"' then
      local text, j = until_delim(s, i, '"')
      local v, err = json.decode('"' .. text .. '"')
      if err or type(v) ~= "string" then lex_error(i, "bad quoted identifier \"%s\"", text) end
      push("quoted_identifier", v, i)
      i = j
    elseif c == "=" then
      if s:sub(i + 1, i + 1) ~= "=" then lex_error(i, "unknown token '='") end
      push("eq", "==", i)
      i = i + 2
    else
      lex_error(i, "unknown token %s", s:match("^[%z\1-\127\194-\244][\128-\191]*", i))
    end
  end
  push("eof", "", n + 1)
  return toks
end

---------------------------------------------------------------- parser

local bp = {
  eof = 0, unquoted_identifier = 0, quoted_identifier = 0, literal = 0, rbracket = 0,
  rparen = 0, comma = 0, rbrace = 0, number = 0, current = 0, expref = 0, colon = 0,
  pipe = 1, ["or"] = 2, ["and"] = 3, eq = 5, gt = 5, lt = 5, gte = 5, lte = 5, ne = 5,
  flatten = 9, star = 20, filter = 21, dot = 40, ["not"] = 45, lbrace = 50,
  lbracket = 55, lparen = 60,
}
local PROJECTION_STOP = 10
local IDENTITY = { type = "identity" }

local Parser = {}
Parser.__index = Parser

function Parser.fail(_, tok, reason)
  if tok.type == "eof" then
    raise("syntax", "incomplete expression: unexpected end of expression")
  end
  raise("syntax", "%s: unexpected %s '%s' at position %d", reason, tok.type,
    tostring(tok.value), tok.start - 1)
end

function Parser:peek(k) return self.toks[self.i + (k or 0)] end
function Parser:cur() return self.toks[self.i].type end
function Parser:advance() self.i = self.i + 1 end

function Parser:match(type_)
  if self:cur() ~= type_ then self:fail(self:peek(), "expected " .. type_) end
  self:advance()
end

local nud, led = {}, {}

function Parser:expression(rbp)
  rbp = rbp or 0
  local tok = self:peek()
  self:advance()
  local f = nud[tok.type]
  if not f then self:fail(tok, "invalid token") end
  local left = f(self, tok)
  local cur = self:cur()
  while rbp < bp[cur] do
    local g = led[cur]
    if not g then self:fail(self:peek(), "invalid token") end
    self:advance()
    left = g(self, left)
    cur = self:cur()
  end
  return left
end

function Parser:projection_rhs(rbp)
  local cur = self:cur()
  if bp[cur] < PROJECTION_STOP then return IDENTITY end
  if cur == "lbracket" or cur == "filter" then return self:expression(rbp) end
  if cur == "dot" then
    self:match("dot")
    return self:dot_rhs(rbp)
  end
  self:fail(self:peek(), "syntax error")
end

function Parser:dot_rhs(rbp)
  local cur = self:cur()
  if cur == "quoted_identifier" or cur == "unquoted_identifier" or cur == "star" then
    return self:expression(rbp)
  elseif cur == "lbracket" then
    self:match("lbracket")
    return self:multi_select_list()
  elseif cur == "lbrace" then
    self:match("lbrace")
    return self:multi_select_hash()
  end
  self:fail(self:peek(), "expected an identifier, '[' or '{' after '.'")
end

function Parser:multi_select_list()
  local list = {}
  while true do
    list[#list + 1] = self:expression()
    if self:cur() == "rbracket" then break end
    self:match("comma")
  end
  self:match("rbracket")
  return { type = "multi_select_list", children = list }
end

function Parser:multi_select_hash()
  local keys, nodes = {}, {}
  while true do
    local tok = self:peek()
    if tok.type ~= "quoted_identifier" and tok.type ~= "unquoted_identifier" then
      self:fail(tok, "expected an identifier")
    end
    self:advance()
    self:match("colon")
    keys[#keys + 1], nodes[#nodes + 1] = tok.value, self:expression(0)
    if self:cur() == "comma" then
      self:match("comma")
    elseif self:cur() == "rbrace" then
      self:match("rbrace")
      break
    end
  end
  return { type = "multi_select_hash", keys = keys, children = nodes }
end

function Parser:index_expression()
  if self:peek().type == "colon" or self:peek(1).type == "colon" then
    local parts, idx = {}, 1
    local cur = self:cur()
    while cur ~= "rbracket" and idx <= 3 do
      if cur == "colon" then
        idx = idx + 1
        if idx == 4 then self:fail(self:peek(), "syntax error") end
        self:advance()
      elseif cur == "number" then
        parts[idx] = self:peek().value
        self:advance()
      else
        self:fail(self:peek(), "syntax error")
      end
      cur = self:cur()
    end
    self:match("rbracket")
    return { type = "slice", start = parts[1], stop = parts[2], step = parts[3] }
  end
  local node = { type = "index", value = self:peek().value }
  self:advance()
  self:match("rbracket")
  return node
end

function Parser:project_if_slice(left, right)
  local ix = { type = "index_expression", children = { left, right } }
  if right.type == "slice" then
    return { type = "projection", ix, self:projection_rhs(bp.star) }
  end
  return ix
end

nud.literal = function(_, tok) return { type = "literal", value = tok.value } end
nud.unquoted_identifier = function(_, tok) return { type = "field", value = tok.value } end
nud.quoted_identifier = function(self, tok)
  if self:cur() == "lparen" then
    self:fail(self:peek(), "quoted identifier not allowed for function names")
  end
  return { type = "field", value = tok.value }
end
nud.star = function(self)
  local right = IDENTITY
  if self:cur() ~= "rbracket" then right = self:projection_rhs(bp.star) end
  return { type = "value_projection", IDENTITY, right }
end
nud.filter = function(self) return led.filter(self, IDENTITY) end
nud.lbrace = function(self) return self:multi_select_hash() end
nud.lparen = function(self)
  local e = self:expression()
  self:match("rparen")
  return e
end
nud.flatten = function(self)
  return { type = "projection", { type = "flatten", IDENTITY }, self:projection_rhs(bp.flatten) }
end
nud["not"] = function(self) return { type = "not", self:expression(bp["not"]) } end
nud.lbracket = function(self)
  local cur = self:cur()
  if cur == "number" or cur == "colon" then
    return self:project_if_slice(IDENTITY, self:index_expression())
  elseif cur == "star" and self:peek(1).type == "rbracket" then
    self:advance()
    self:advance()
    return { type = "projection", IDENTITY, self:projection_rhs(bp.star) }
  end
  return self:multi_select_list()
end
nud.current = function() return { type = "current" } end
nud.expref = function(self) return { type = "expref", self:expression(bp.expref) } end

led.dot = function(self, left)
  if self:cur() ~= "star" then
    local right = self:dot_rhs(bp.dot)
    if left.type == "subexpression" then
      left.children[#left.children + 1] = right
      return left
    end
    return { type = "subexpression", children = { left, right } }
  end
  self:advance()
  return { type = "value_projection", left, self:projection_rhs(bp.dot) }
end
led.pipe = function(self, left) return { type = "pipe", left, self:expression(bp.pipe) } end
led["or"] = function(self, left) return { type = "or", left, self:expression(bp["or"]) } end
led["and"] = function(self, left) return { type = "and", left, self:expression(bp["and"]) } end
led.lparen = function(self, left)
  if left.type ~= "field" then
    self:fail(self:peek(-2) or self:peek(-1), "invalid function name")
  end
  local args = {}
  while self:cur() ~= "rparen" do
    local e = self:expression()
    if self:cur() == "comma" then self:match("comma") end
    args[#args + 1] = e
  end
  self:match("rparen")
  return { type = "function", name = left.value, children = args }
end
led.filter = function(self, left)
  local cond = self:expression(0)
  self:match("rbracket")
  local right = IDENTITY
  if self:cur() ~= "flatten" then right = self:projection_rhs(bp.filter) end
  return { type = "filter_projection", left, right, cond }
end
for _, op in ipairs { "eq", "ne", "gt", "gte", "lt", "lte" } do
  led[op] = function(self, left)
    return { type = "comparator", op = op, left, self:expression(bp[op]) }
  end
end
led.flatten = function(self, left)
  return { type = "projection", { type = "flatten", left }, self:projection_rhs(bp.flatten) }
end
led.lbracket = function(self, left)
  local t = self:cur()
  if t == "number" or t == "colon" then
    local right = self:index_expression()
    if left.type == "index_expression" then
      left.children[#left.children + 1] = right
      return left
    end
    return self:project_if_slice(left, right)
  end
  self:match("star")
  self:match("rbracket")
  return { type = "projection", left, self:projection_rhs(bp.star) }
end

local function parse(expression)
  local p = setmetatable({ toks = tokenize(expression), i = 1 }, Parser)
  local tree = p:expression(0)
  if p:cur() ~= "eof" then p:fail(p:peek(), "unexpected token") end
  return tree
end

---------------------------------------------------------------- interpreter

local visit
local V = {}
local functions = {}

V.identity = function(_, v) return v end
V.current = V.identity
V.literal = function(n) return n.value end
V.field = function(n, v)
  if kind(v) ~= "object" then return NULL end
  return get(v[n.value])
end
V.subexpression = function(n, v)
  for _, c in ipairs(n.children) do v = visit(c, v) end
  return v
end
V.index_expression = V.subexpression
V.pipe = function(n, v) return visit(n[2], visit(n[1], v)) end
V.index = function(n, v)
  if kind(v) ~= "array" then return NULL end
  local i = n.value
  if i < 0 then i = #v + i end
  if i < 0 or i >= #v then return NULL end
  return get(v[i + 1])
end

-- Python's slice.indices() and range(): the 1-based positions of v[start:stop:step].
V.slice = function(n, v)
  if kind(v) ~= "array" then return NULL end
  local len, step = #v, n.step or 1
  if step == 0 then raise("invalid-value", "slice step cannot be 0") end
  local lower, upper = 0, len
  if step < 0 then lower, upper = -1, len - 1 end
  local function clamp(x, default)
    if x == nil then return default end
    if x < 0 then
      x = x + len
      if x < lower then x = lower end
    elseif x > upper then
      x = upper
    end
    return x
  end
  local start = clamp(n.start, step < 0 and upper or lower)
  local stop = clamp(n.stop, step < 0 and lower or upper)
  local out, k = new_array(), 0
  local i = start
  while (step > 0 and i < stop) or (step < 0 and i > stop) do
    k = k + 1
    out[k] = v[i + 1]
    i = i + step
  end
  return out
end

-- right applied to each element of base (those where cond holds, if
-- given), nulls left out: the body of every projection.
local function collect(base, right, cond)
  local out, k = new_array(), 0
  for i = 1, #base do
    if not cond or not is_false(visit(cond, base[i])) then
      local r = visit(right, base[i])
      if r ~= NULL then k = k + 1; out[k] = r end
    end
  end
  return out
end

V.projection = function(n, v)
  local base = visit(n[1], v)
  if kind(base) ~= "array" then return NULL end
  return collect(base, n[2])
end
V.value_projection = function(n, v)
  local base = visit(n[1], v)
  if kind(base) ~= "object" then return NULL end
  local values = {}
  for i, k in ipairs(json_keys(base)) do values[i] = base[k] end
  return collect(values, n[2])
end
V.filter_projection = function(n, v)
  local base = visit(n[1], v)
  if kind(base) ~= "array" then return NULL end
  return collect(base, n[2], n[3])
end
V.flatten = function(n, v)
  local base = visit(n[1], v)
  if kind(base) ~= "array" then return NULL end
  local out, k = new_array(), 0
  for i = 1, #base do
    local e = base[i]
    if kind(e) == "array" then
      for j = 1, #e do k = k + 1; out[k] = e[j] end
    else
      k = k + 1
      out[k] = e
    end
  end
  return out
end
V.multi_select_list = function(n, v)
  if v == NULL then return NULL end
  local out = new_array()
  for i, c in ipairs(n.children) do out[i] = visit(c, v) end
  return out
end
V.multi_select_hash = function(n, v)
  if v == NULL then return NULL end
  local out = new_object()
  for i, c in ipairs(n.children) do json_set(out, n.keys[i], visit(c, v)) end
  return out
end
V["or"] = function(n, v)
  local left = visit(n[1], v)
  if is_false(left) then return visit(n[2], v) end
  return left
end
V["and"] = function(n, v)
  local left = visit(n[1], v)
  if is_false(left) then return left end
  return visit(n[2], v)
end
V["not"] = function(n, v) return is_false(visit(n[1], v)) end
V.expref = function(n) return setmetatable({ node = n[1] }, Expref) end

local order_ops = {
  lt = function(a, b) return a < b end, lte = function(a, b) return a <= b end,
  gt = function(a, b) return a > b end, gte = function(a, b) return a >= b end,
}
V.comparator = function(n, v)
  local a, b = visit(n[1], v), visit(n[2], v)
  local ka, kb = kind(a), kind(b)
  if n.op == "eq" or n.op == "ne" then
    local eq = not (ka == "boolean" and kb == "number" or ka == "number" and kb == "boolean")
      and py_eq(a, b)
    if n.op == "eq" then return eq end
    return not eq
  end
  local ca, cb = ka == "number" or ka == "string", kb == "number" or kb == "string"
  if not (ca and cb) then return NULL end
  if ka ~= kb then raise("invalid-type", "cannot order a %s against a %s", ka, kb) end
  return order_ops[n.op](a, b)
end

V["function"] = function(n, v)
  local args = {}
  for i, c in ipairs(n.children) do args[i] = visit(c, v) end
  local f = functions[n.name]
  if not f then raise("unknown-function", "unknown function: %s()", n.name) end
  local nsig, nargs = #f.sig, #args
  if f.variadic and nargs < nsig or not f.variadic and nargs ~= nsig then
    raise("invalid-arity", "%s() takes %s%d argument%s, got %d", n.name,
      f.variadic and "at least " or "", nsig, nsig == 1 and "" or "s", nargs)
  end
  -- Python's jmespath checks only the first nsig arguments, and then fails
  -- inside merge() on a later non-object; here each of them is checked.
  for i = 1, nargs do
    local types = f.sig[math.min(i, nsig)]
    if types ~= "any" then f.check(n.name, args[i], types) end
  end
  return f.fn(table.unpack(args, 1, nargs))
end

visit = function(n, v) return V[n.type](n, v) end

---------------------------------------------------------------- functions

-- types: a list such as {"array-number", "array-string"}: the argument's
-- type must be one of them; with element types, every element must have
-- the same one, chosen by the first element (Python's rule).
local function check(name, v, types)
  local k, subtypes, ok = kind(v), {}, false
  for _, t in ipairs(types) do
    local top, sub = t:match("^(%a+)%-?(%a*)$")
    if top == k then ok = true end
    if sub ~= "" and top == k then subtypes[#subtypes + 1] = sub end
  end
  local function bad(x)
    raise("invalid-type", "in function %s(), invalid type for value: %s, expected one of: %s, received: %s",
      name, kind(x) == "expref" and "expref" or json.encode(x), table.concat(types, ", "), kind(x))
  end
  if not ok then bad(v) end
  if #subtypes > 0 and #v > 0 then
    local want
    for _, s in ipairs(subtypes) do
      if kind(v[1]) == s then want = s end
    end
    if not want then bad(v[1]) end
    for i = 1, #v do
      if kind(v[i]) ~= want then bad(v[i]) end
    end
  end
end

local function def(name, sig, fn, variadic)
  functions[name] = { sig = sig, fn = fn, variadic = variadic, check = check }
end

local function stable_sort(list, keys)
  local idx = {}
  for i = 1, #list do idx[i] = i end
  table.sort(idx, function(a, b)
    local ka, kb = keys[a], keys[b]
    if ka ~= kb then return ka < kb end
    return a < b
  end)
  local out = new_array()
  for i, j in ipairs(idx) do out[i] = list[j] end
  return out
end

local function apply(expref, v) return visit(expref.node, v) end

-- Keys of an *_by function, each a number or a string (all the same kind
-- for sort_by, as Python compares them).
local function by_keys(name, array, expref, allowed)
  local keys, first = {}, nil
  for i = 1, #array do
    local key = apply(expref, array[i])
    local k = kind(key)
    if not allowed[k] then
      raise("invalid-type", "in function %s(), invalid type for value: %s, expected one of: %s, received: %s",
        name, k == "expref" and "expref" or json.encode(key), "number, string", k)
    end
    first = first or k
    if k ~= first then raise("invalid-type", "in function %s(), cannot compare a %s with a %s", name, first, k) end
    keys[i] = key
  end
  return keys
end

local num_or_str = { number = true, string = true }

local function extreme(name, better)
  return function(array, expref)
    if #array == 0 then return NULL end
    local keys = by_keys(name, array, expref, num_or_str)
    local best = 1
    for i = 2, #array do
      if better(keys[i], keys[best]) then best = i end
    end
    return array[best]
  end
end

local function pick(better)
  return function(array)
    if #array == 0 then return NULL end
    local best = array[1]
    for i = 2, #array do
      if better(array[i], best) then best = array[i] end
    end
    return best
  end
end

local function utf8_chars(s)
  local chars = {}
  if utf8.len(s) then
    for _, c in utf8.codes(s) do chars[#chars + 1] = utf8.char(c) end
  else
    for i = 1, #s do chars[i] = s:sub(i, i) end
  end
  return chars
end

-- Python's int(s), then float(s), on a string; nil when neither reads it.
local function to_number(s)
  s = s:match("^[ \t\n\r\f\v]*(.-)[ \t\n\r\f\v]*$")
  if s:find("_", 1, true) then
    if s:find("[^%d]_") or s:find("_[^%d]") or s:find("^_") or s:find("_$") then return nil end
    s = s:gsub("_", "")
  end
  if s:find("^[+-]?%d+$") then
    return math.tointeger(tonumber(s)) or tonumber(s .. ".0")
  end
  if s:find("^[+-]?%d+%.?%d*[eE][+-]?%d+$") or s:find("^[+-]?%.%d+[eE][+-]?%d+$")
      or s:find("^[+-]?%d+%.%d*$") or s:find("^[+-]?%.%d+$") then
    return tonumber(s) + 0.0
  end
  local sign, word = s:lower():match("^([+-]?)(%a+)$")
  if word == "inf" or word == "infinity" then return sign == "-" and -math.huge or math.huge end
  if word == "nan" then return 0 / 0 end
  return nil
end

local ANY = "any"
def("abs", { { "number" } }, math.abs)
def("avg", { { "array-number" } }, function(a)
  if #a == 0 then return NULL end
  local s = 0
  for i = 1, #a do s = s + a[i] end
  return s / #a
end)
def("ceil", { { "number" } }, function(x) return math.tointeger(math.ceil(x)) or math.ceil(x) end)
def("floor", { { "number" } }, function(x) return math.tointeger(math.floor(x)) or math.floor(x) end)
def("contains", { { "array", "string" }, ANY }, function(subject, search)
  if type(subject) == "string" then
    if type(search) ~= "string" then
      raise("invalid-type", "contains() on a string needs a string to search, got a %s", kind(search))
    end
    return subject:find(search, 1, true) ~= nil
  end
  for i = 1, #subject do
    if py_eq(subject[i], search) then return true end
  end
  return false
end)
def("ends_with", { { "string" }, { "string" } }, function(s, suffix)
  return suffix == "" or s:sub(-#suffix) == suffix
end)
def("starts_with", { { "string" }, { "string" } }, function(s, prefix)
  return s:sub(1, #prefix) == prefix
end)
def("join", { { "string" }, { "array-string" } }, function(sep, a)
  return table.concat(a, sep)
end)
def("keys", { { "object" } }, function(o) return new_array(json_keys(o)) end)
def("values", { { "object" } }, function(o)
  local out = new_array()
  for i, k in ipairs(json_keys(o)) do out[i] = o[k] end
  return out
end)
def("length", { { "string", "array", "object" } }, function(v)
  if type(v) == "string" then return utf8.len(v) or #v end
  if kind(v) == "array" then return #v end
  return #json_keys(v)
end)
def("map", { { "expref" }, { "array" } }, function(expref, a)
  local out = new_array()
  for i = 1, #a do out[i] = apply(expref, a[i]) end
  return out
end)
def("max", { { "array-number", "array-string" } }, pick(function(a, b) return a > b end))
def("min", { { "array-number", "array-string" } }, pick(function(a, b) return a < b end))
def("max_by", { { "array" }, { "expref" } }, extreme("max_by", function(a, b) return a > b end))
def("min_by", { { "array" }, { "expref" } }, extreme("min_by", function(a, b) return a < b end))
def("merge", { { "object" } }, function(...)
  local out = new_object()
  for i = 1, select("#", ...) do
    local o = select(i, ...)
    for _, k in ipairs(json_keys(o)) do json_set(out, k, o[k]) end
  end
  return out
end, true)
def("not_null", { ANY }, function(...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v ~= NULL then return v end
  end
  return NULL
end, true)
def("reverse", { { "array", "string" } }, function(v)
  local src = type(v) == "string" and utf8_chars(v) or v
  local out = new_array()
  for i = #src, 1, -1 do out[#out + 1] = src[i] end
  if type(v) == "string" then return table.concat(out) end
  return out
end)
def("sort", { { "array-string", "array-number" } }, function(a) return stable_sort(a, a) end)
def("sort_by", { { "array" }, { "expref" } }, function(a, expref)
  if #a == 0 then return a end
  return stable_sort(a, by_keys("sort_by", a, expref, num_or_str))
end)
def("sum", { { "array-number" } }, function(a)
  local s = 0
  for i = 1, #a do s = s + a[i] end
  return s
end)
def("to_array", { ANY }, function(v)
  if kind(v) == "array" then return v end
  return new_array({ v })
end)
def("to_string", { ANY }, function(v)
  if type(v) == "string" then return v end
  if kind(v) == "expref" then raise("invalid-type", "to_string() cannot write an expression reference") end
  return json.encode(v, { separators = { ",", ":" }, ensure_ascii = true })
end)
def("to_number", { ANY }, function(v)
  if type(v) == "number" then return v end
  if type(v) == "string" then return get(to_number(v)) end
  return NULL
end)
def("type", { ANY }, function(v)
  local k = kind(v)
  if k == "expref" then return NULL end
  return k
end)

---------------------------------------------------------------- entry points

local cache, cache_order, cache_first, cache_next = {}, {}, 1, 1
local CACHE_MAX = 512

local function compile(expression)
  local tree = cache[expression]
  if tree then return tree end
  tree = parse(expression)
  if cache_next - cache_first >= CACHE_MAX then
    cache[cache_order[cache_first]] = nil
    cache_order[cache_first] = nil
    cache_first = cache_first + 1
  end
  cache[expression], cache_order[cache_next] = tree, expression
  cache_next = cache_next + 1
  return tree
end

local function protected(f, ...)
  local ok, res = pcall(f, ...)
  if ok then return res end
  if getmetatable(res) == Error then return nil, res end
  if type(res) == "string" and res:find("stack overflow", 1, true) then
    return nil, setmetatable({ code = "invalid-value",
      message = "expression or value nested too deeply (" .. res .. ")" }, Error)
  end
  error(res, 0)
end

local function run(expression, value)
  return get(visit(compile(expression), get(value)))
end

--- The result of expression on value (json.null when nothing matched), or
-- nil, err on a syntax or runtime error.
function M.search(expression, value)
  if type(expression) ~= "string" then
    error("bad argument #1 to 'search' (string expected, got " .. type(expression) .. ")", 2)
  end
  return protected(run, expression, value)
end

-- v with every expression reference in it made null: a reference has no
-- JSON form (Python's json.dumps raises TypeError on one), and search_json
-- gives a value or nil, err, never a raise. v itself when it holds none
-- (fuzz/regressions/jmespath: "[&foo]" raised from json.encode).
local function json_form(v)
  local k = kind(v)
  if k == "expref" then return NULL, true end
  if k == "array" then
    local out, changed = nil, false
    for i = 1, #v do
      local x, c = json_form(v[i])
      if c and not changed then
        changed, out = true, {}
        for j = 1, i - 1 do out[j] = v[j] end
      end
      if changed then out[i] = x end
    end
    if changed then return new_array(out), true end
  elseif k == "object" then
    local keys = json_keys(v)
    local fixed = {}
    for i, key in ipairs(keys) do
      local x, c = json_form(v[key])
      if c then fixed[i] = x end
    end
    if next(fixed) then
      local out = new_object()
      for i, key in ipairs(keys) do json_set(out, key, fixed[i] or v[key]) end
      return out, true
    end
  end
  return v, false
end

--- search on the JSON text json_text; the result as JSON text, written as
-- Python's json.dumps(result) does.
function M.search_json(expression, json_text)
  if type(expression) ~= "string" then
    error("bad argument #1 to 'search_json' (string expected, got " .. type(expression) .. ")", 2)
  end
  if type(json_text) ~= "string" then
    error("bad argument #2 to 'search_json' (string expected, got " .. type(json_text) .. ")", 2)
  end
  local tree, err = protected(compile, expression)
  if not tree then return nil, err end
  local value, jerr = json.decode(json_text)
  if jerr then return nil, setmetatable({ code = "invalid-value", message = jerr.message }, Error) end
  local result
  result, err = protected(run, expression, value)
  if err then return nil, err end
  return protected(json.encode, (json_form(result)))
end

--- How many compiled expressions the cache holds (at most 512).
function M.cache_size() return cache_next - cache_first end

--- Parses expression: true, or nil, err (code "syntax").
function M.compile(expression)
  if type(expression) ~= "string" then
    error("bad argument #1 to 'compile' (string expected, got " .. type(expression) .. ")", 2)
  end
  local tree, err = protected(compile, expression)
  if not tree then return nil, err end
  return true
end

return M
