-- gameliftstreams.shorthand: the AWS CLI v2's shorthand syntax
-- (awscli/shorthand.py of 2.9.19), with the same values and the same errors.
--
--   local shorthand = require "gameliftstreams.shorthand"
--   local v, err = shorthand.parse("Key=Value,List=a,b,Nested={K=[x,y]}")
--   -- v: an ordered object (gameliftstreams.json values): strings, lists of
--   --    strings, nested objects; err: {code = "ShorthandParseError",
--   --    message = M} with M exactly str() of awscli's exception, e.g.
--   --    "Expected: '=', received: 'EOF' for input:\na\n ^"
--
-- The grammar, as awscli 2.9.19 has it (no "@=" in this version):
--   parameter  = keyval *("," keyval)       a key may not repeat
--   keyval     = key "=" [values]           key: [a-zA-Z0-9-_.#/:]*
--   values     = csv-list / explicit-list / hash-literal
--   csv-list   = first-value *("," second-value)   one value: a string
--   explicit-list = "[" [value *("," value)] "]"
--   hash-literal  = "{" *(key "=" value ",") "}"
--   value      = '...' / "..." (\\ and \' or \" escapes) / a bare word where
--                "\," is a comma; trailing whitespace is dropped
-- Positions in error messages count characters (code points), as Python's do.
local pyunicode = require "gameliftstreams.pyunicode"
local json = require "gameliftstreams.json"

local M = { _NAME = "gameliftstreams.shorthand" }

local concat = table.concat
local utf8_char = utf8.char
local is_space = pyunicode.is_space

local BS, COMMA, EQ = 92, 44, 61
local LBRACK, RBRACK, LBRACE, RBRACE = 91, 93, 123, 125
local SQ, DQ = 39, 34

-- string.whitespace
local ASCII_SPACE = { [32] = true, [9] = true, [10] = true, [13] = true,
                      [11] = true, [12] = true }

local function in_start_word(c)
  return c == 0x21 or (c >= 0x23 and c <= 0x26) or (c >= 0x28 and c <= 0x2B)
    or (c >= 0x2D and c <= 0x3C) or (c >= 0x3E and c <= 0x5A)
    or (c >= 0x5C and c <= 0x7A) or (c >= 0x7C and c <= 0xFFFF)
end

local function in_first_follow(c)
  return is_space(c) or c == 0x21 or (c >= 0x23 and c <= 0x26)
    or (c >= 0x28 and c <= 0x2B) or (c >= 0x2D and c <= 0x5C)
    or (c >= 0x5E and c <= 0x7C) or (c >= 0x7E and c <= 0xFFFF)
end

local function in_second_follow(c)
  return is_space(c) or c == 0x21 or (c >= 0x23 and c <= 0x26)
    or (c >= 0x28 and c <= 0x2B) or (c >= 0x2D and c <= 0x3C)
    or (c >= 0x3E and c <= 0xFFFF)
end

local function is_key_char(c)
  return (c >= 0x61 and c <= 0x7A) or (c >= 0x41 and c <= 0x5A)
    or (c >= 0x30 and c <= 0x39) or c == 0x2D or c == 0x5F or c == 0x2E
    or c == 0x23 or c == 0x2F or c == 0x3A
end

-- The code points of s; bytes that are not UTF-8 count as Latin-1 characters.
local function code_points(s)
  local cps = {}
  local ok = pcall(function()
    for _, c in utf8.codes(s) do cps[#cps + 1] = c end
  end)
  if not ok then
    cps = {}
    for i = 1, #s do cps[i] = s:byte(i) end
  end
  return cps
end
M.code_points = code_points

-- Characters [i, j) (0-based) of cps as UTF-8.
local function slice(cps, i, j)
  local out = {}
  for k = i + 1, j do out[#out + 1] = utf8_char(cps[k]) end
  return concat(out)
end

local function rstrip(s)
  local cps = code_points(s)
  local n = #cps
  while n > 0 and is_space(cps[n]) do n = n - 1 end
  if n == #cps then return s end
  return slice(cps, 0, n)
end

-- ShorthandParseError._error_location
local function error_location(cps, index)
  local n = #cps
  local consumed, remaining, num_spaces = slice(cps, 0, n), "", index
  for k = index, 1, -1 do
    if cps[k] == 10 then
      num_spaces = index - (k - 1) - 1
      break
    end
  end
  for k = index + 1, n do
    if cps[k] == 10 then
      consumed = slice(cps, 0, k - 1)
      remaining = slice(cps, k - 1, n)
      break
    end
  end
  return consumed .. "\n" .. string.rep(" ", num_spaces) .. "^" .. remaining
end

local function syntax_error(p, expected, actual, index)
  error({ syntax = true, message = string.format(
    "Expected: '%s', received: '%s' for input:\n%s",
    expected, actual, error_location(p.cps, index)) }, 0)
end

local Parser = {}
Parser.__index = Parser

function Parser:current()
  return self.cps[self.i + 1]   -- nil at EOF
end

function Parser:at_eof()
  return self.i >= self.n
end

function Parser:consume_whitespace()
  while self.i < self.n and ASCII_SPACE[self.cps[self.i + 1]] do
    self.i = self.i + 1
  end
end

function Parser:expect(char, consume_ws)
  if consume_ws then self:consume_whitespace() end
  if self.i >= self.n then
    syntax_error(self, utf8_char(char), "EOF", self.i)
  end
  local actual = self.cps[self.i + 1]
  if actual ~= char then
    syntax_error(self, utf8_char(char), utf8_char(actual), self.i)
  end
  self.i = self.i + 1
  if consume_ws then self:consume_whitespace() end
end

-- (\\,|[start])(\\,|[follow])* at the current position: its end, or nil.
function Parser:scan_word(follow)
  local cps, i, n = self.cps, self.i, self.n
  local first = true
  while i < n do
    local c = cps[i + 1]
    if c == BS and cps[i + 2] == COMMA then
      i = i + 2
    elseif (first and in_start_word(c)) or (not first and follow(c)) then
      i = i + 1
    else
      break
    end
    first = false
  end
  if first then return nil end
  return i
end

local function unescape_commas(s)
  return (s:gsub("\\,", ","))
end

function Parser:value()
  local e = self:scan_word(in_first_follow)
  if e == nil then return "" end
  local v = slice(self.cps, self.i, e)
  self.i = e
  return rstrip(unescape_commas(v))
end

function Parser:second_value()
  local c = self:current()
  if c == SQ or c == DQ then return self:quoted(c) end
  local e = self:scan_word(in_second_follow)
  if e == nil then
    syntax_error(self, "<second>", "<none>", self.i)
  end
  local v = slice(self.cps, self.i, e)
  self.i = e
  return rstrip(unescape_commas(v))
end

-- '(?:\\\\|\\'|[^'])*' (or with ") matched as Python's backtracking re
-- does: the first match in its order of trials (memoised: linear time).
function Parser:quoted(q)
  local cps, n, start = self.cps, self.n, self.i
  local memo = {}
  local function m(i)
    local r = memo[i]
    if r ~= nil then return r end
    local c = cps[i + 1]
    if i < n then
      if c == BS and cps[i + 2] == BS then r = m(i + 2) end
      if not r and c == BS and cps[i + 2] == q then r = m(i + 2) end
      if not r and c ~= q then r = m(i + 1) end
      if not r and c == q then r = i + 1 end
    end
    memo[i] = r or false
    return r
  end
  local e = (cps[start + 1] == q) and m(start + 1) or nil
  if not e then
    syntax_error(self, q == SQ and "<singled quoted>" or "<double quoted>",
                 "<none>", start)
  end
  self.i = e
  local v = slice(cps, start + 1, e - 1)
  local qc = utf8_char(q)
  v = v:gsub("\\" .. qc, qc)
  v = v:gsub("\\\\", "\\")
  return v
end

function Parser:first_value()
  local c = self:current()
  if c == SQ or c == DQ then return self:quoted(c) end
  return self:value()
end

function Parser:key()
  local start = self.i
  while self.i < self.n and is_key_char(self.cps[self.i + 1]) do
    self.i = self.i + 1
  end
  return slice(self.cps, start, self.i)
end

function Parser:explicit_values()
  local c = self:current()
  if c == LBRACK then return self:explicit_list() end
  if c == LBRACE then return self:hash_literal() end
  return self:first_value()
end

function Parser:explicit_list()
  self:expect(LBRACK, true)
  local values = json.array({})
  while self:current() ~= RBRACK do
    values[#values + 1] = self:explicit_values()
    self:consume_whitespace()
    if self:current() ~= RBRACK then
      self:expect(COMMA)
      self:consume_whitespace()
    end
  end
  self:expect(RBRACK)
  return values
end

function Parser:hash_literal()
  self:expect(LBRACE, true)
  local keyvals = json.object()
  while self:current() ~= RBRACE do
    local key = self:key()
    self:expect(EQ, true)
    local v = self:explicit_values()
    self:consume_whitespace()
    if self:current() ~= RBRACE then
      self:expect(COMMA)
      self:consume_whitespace()
    end
    json.set(keyvals, key, v)
  end
  self:expect(RBRACE)
  return keyvals
end

function Parser:backtrack_to(char)
  while self.i >= 0 and self.cps[self.i + 1] ~= char do
    self.i = self.i - 1
  end
end

function Parser:csv_value()
  local first_value = self:first_value()
  self:consume_whitespace()
  if self:at_eof() or self.cps[self.i + 1] ~= COMMA then
    return first_value
  end
  self:expect(COMMA, true)
  local list = json.array({ first_value })
  while true do
    local ok, err = pcall(function()
      local current = self:second_value()
      self:consume_whitespace()
      if self:at_eof() then
        list[#list + 1] = current
        return "break"
      end
      self:expect(COMMA, true)
      list[#list + 1] = current
    end)
    if ok then
      if err == "break" then break end
    else
      if type(err) ~= "table" or not err.syntax or self:at_eof() then
        error(err, 0)
      end
      self:backtrack_to(COMMA)
      break
    end
  end
  if #list == 1 then return first_value end
  return list
end

function Parser:values()
  if self:at_eof() then return "" end
  local c = self:current()
  if c == LBRACK then return self:explicit_list() end
  if c == LBRACE then return self:hash_literal() end
  return self:csv_value()
end

function Parser:keyval()
  local key = self:key()
  self:expect(EQ, true)
  return key, self:values()
end

function Parser:parameter()
  local params = json.object()
  local seen = {}
  local key, val = self:keyval()
  json.set(params, key, val)
  seen[key] = true
  local last_index = self.i
  while self.i < self.n do
    self:expect(COMMA, true)
    key, val = self:keyval()
    if seen[key] then
      error({ message = string.format(
        "Second instance of key \"%s\" encountered for input:\n%s\n"
        .. "This is often because there is a preceding \",\" instead of a space.",
        key, error_location(self.cps, last_index + 1)) }, 0)
    end
    json.set(params, key, val)
    seen[key] = true
    last_index = self.i
  end
  return params
end

--- shorthand.parse(text) -> object | nil, {code = "ShorthandParseError", message}
function M.parse(text)
  if type(text) ~= "string" then
    error("bad argument #1 to 'parse' (string expected, got " .. type(text) .. ")", 2)
  end
  local cps = code_points(text)
  local p = setmetatable({ cps = cps, n = #cps, i = 0 }, Parser)
  local ok, res = pcall(p.parameter, p)
  if ok then return res end
  if type(res) == "table" and res.message then
    return nil, { code = "ShorthandParseError", message = res.message }
  end
  error(res, 0)
end

return M
