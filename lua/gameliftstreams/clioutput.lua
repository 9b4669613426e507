-- gameliftstreams.clioutput: the AWS CLI v2's output formats, byte for byte.
--
-- `glsrun OPERATION ... --output FORMAT` answers as `aws gameliftstreams ...`
-- does; this module is awscli's formatter.py, table.py and text.py (2.9.19)
-- over the values of gameliftstreams.json (ordered objects, json.null, arrays
-- with json.array_mt).
--
--   local clioutput = require "gameliftstreams.clioutput"
--   -- one response (not paginated, or --no-paginate):
--   local text, err = clioutput.format("table", response, opts)
--   -- a paginated call, page by page:
--   local w = clioutput.new("text", opts)
--   local chunk, err = w:page(page)          -- write chunk to stdout now
--   local chunk, err = w:finish(resume_token) -- then this one
--
-- opts (all optional):
--   title    the operation's name ("ListStreamGroups"): the table's title
--   color    true when awscli would colour the table (--color on, or
--            --color auto with stdout a tty); text, json and yaml are never
--            coloured
--   tty      true when stdout is a terminal (colorama's exit reset, below)
--   pager    true when awscli would pipe stdout through its pager (stdout a
--            tty and a pager configured): colorama then does not reset after
--            each write (see below)
--   columns  the terminal's width for table: awscli asks stdout's tty
--            (TIOCGWINSZ) and uses 80 when it cannot (stdout not a tty)
--   query    function(value) -> value | nil, err: --query, applied where
--            awscli applies it (per page for text, on the full result for
--            json/yaml/table, per page for yaml-stream)
--   result_keys         paginated only: the paginator's result keys
--                       (default {"Items"}, as every GameLift Streams paginator)
--   non_aggregate_keys  paginated only: the paginator's non_aggregate_keys
--
-- How pages are formatted is awscli's: json, yaml and table build the full
-- result first (botocore's build_full_result: result keys concatenated,
-- non-aggregate keys, then "NextToken" = resume token when --max-items cut the
-- listing), so page() returns "" and finish() returns everything; text formats
-- each page as {result keys of that page} (the first page also carries the
-- non-aggregate keys) and, after the last, {"NextToken": {"NextToken": tok}}
-- when there is a resume token; yaml-stream writes each page (ResponseMetadata
-- removed, query applied) as a one-item YAML list. Pages are handed over as
-- botocore's PageIterator yields them (with --max-items, already cut).
--
-- Width: awscli never wraps a cell. When the table is wider than columns,
-- every section of one row turns vertical (a row per column) and the table
-- is as wide as it then needs, whatever columns says.
--
-- Errors: nil, err with err = {code = "FormatError", message = M, output = O}:
-- awscli raised an exception with str() M while formatting; its main() then
-- writes clioutput.error_text(M, format, opts) to stderr and exits 255. O is
-- what reached stdout before (text: the lines before the failing one; a
-- coloured table on a tty: colorama's final reset ESC[0m).
-- A query's own error table is returned as it is.
--
-- Colour: with --color on awscli starts colorama with autoreset, which wraps
-- sys.stdout so that every write() is followed by ESC[0m, and registers an
-- atexit hook that writes one more ESC[0m when the process ends (even when
-- nothing was written) if stdout is a tty (elsewhere colorama strips it).
-- The table's output here contains both, in the same places. colorama wraps
-- sys.stderr the same way: an error message written after a coloured table
-- formatter was made gets ESC[0m after each of the three writes ("\n",
-- message, "\n") in awscli.
local json = require "gameliftstreams.json"
local pyunicode = require "gameliftstreams.pyunicode"

local M = { _NAME = "gameliftstreams.clioutput" }

local null = json.null
local is_array, is_object = json.is_array, json.is_object
local concat, sort, insert = table.concat, table.sort, table.insert
local fmt, rep = string.format, string.rep
local utf8_char = utf8.char

-- The code points of s as Python's str holds them: arguments and files are
-- bytes that Python decodes with surrogateescape, so a byte that is not
-- part of valid UTF-8 is U+DC80..U+DCFF (fuzz/regressions/cli: utf8.codes
-- raised on one, and glsrun failed with an internal error). Same shape as
-- utf8.codes: position, code point.
local function utf8_codes(s)
  s = tostring(s)                -- numbers too, as utf8.codes takes them
  local i, n = 1, #s
  return function()
    if i > n then return nil end
    local at, b = i, s:byte(i)
    local len = b < 0x80 and 1 or (b >= 0xC2 and b <= 0xDF) and 2 or (b >= 0xE0 and b <= 0xEF) and 3
      or (b >= 0xF0 and b <= 0xF4) and 4 or 0
    if len == 1 then
      i = i + 1
      return at, b
    end
    if len > 0 and i + len - 1 <= n and utf8.len(s, i, i + len - 1) == 1 then
      i = i + len
      return at, utf8.codepoint(s, at)
    end
    i = i + 1
    return at, 0xDC00 + b
  end
end
M.py_codes = utf8_codes

local RESET = "\27[0m"
local ROW_STYLE = "\27[1m\27[34m"      -- colorama Style.BRIGHT + Fore.BLUE
local INDENT_STYLE = "\27[2m\27[33m"   -- colorama Style.DIM + Fore.YELLOW

local function is_container(v)
  return is_array(v) or is_object(v)
end

-- The keys of object o in insertion order (a fresh list).
local function keys_of(o)
  local ks = json.keys(o)
  local out = {}
  for i = 1, #ks do out[i] = ks[i] end
  return out
end

local function sorted_keys(o)
  local ks = keys_of(o)
  sort(ks)
  return ks
end

local function fail(message)
  return { code = "FormatError", message = message }
end

---------------------------------------------------------------------------
-- Python's str() and repr() of JSON values.
---------------------------------------------------------------------------

-- float.__repr__ (json.float_repr), with str()'s nan and inf.
local function pyfloat(x)
  if x ~= x then return "nan" end
  if x == math.huge then return "inf" end
  if x == -math.huge then return "-inf" end
  return json.float_repr(x)
end
M.pyfloat = pyfloat

-- repr() of a str.
local function pyrepr_string(s)
  local quote = "'"
  if s:find("'", 1, true) and not s:find('"', 1, true) then quote = '"' end
  local out = { quote }
  for _, cp in utf8_codes(s) do
    local ch
    if cp == 92 then ch = "\\\\"
    elseif cp == 9 then ch = "\\t"
    elseif cp == 10 then ch = "\\n"
    elseif cp == 13 then ch = "\\r"
    elseif cp < 32 or cp == 127 then ch = fmt("\\x%02x", cp)
    elseif cp < 127 then
      ch = utf8_char(cp)
      if ch == quote then ch = "\\" .. ch end
    elseif pyunicode.is_printable(cp) then ch = utf8_char(cp)
    elseif cp <= 0xff then ch = fmt("\\x%02x", cp)
    elseif cp <= 0xffff then ch = fmt("\\u%04x", cp)
    else ch = fmt("\\U%08x", cp) end
    out[#out + 1] = ch
  end
  out[#out + 1] = quote
  return concat(out)
end

local pyrepr

-- str() of a value: strings as they are, containers as repr().
local function pystr(v)
  local t = type(v)
  if t == "string" then return v end
  if v == null or v == nil then return "None" end
  if t == "boolean" then return v and "True" or "False" end
  if t == "number" then
    if math.type(v) == "integer" then return fmt("%d", v) end
    return pyfloat(v)
  end
  return pyrepr(v)
end
M.pystr = pystr

pyrepr = function(v)
  if type(v) == "string" then return pyrepr_string(v) end
  if is_array(v) then
    local parts = {}
    for i = 1, #v do parts[i] = pyrepr(v[i]) end
    return "[" .. concat(parts, ", ") .. "]"
  end
  if is_object(v) then
    local parts = {}
    for _, k in ipairs(json.keys(v)) do
      parts[#parts + 1] = pyrepr_string(k) .. ": " .. pyrepr(v[k])
    end
    return "{" .. concat(parts, ", ") .. "}"
  end
  return pystr(v)
end
M.pyrepr = pyrepr

-- Python's type(v).__name__, for the exception texts awscli shows.
local function pytype(v)
  if type(v) == "string" then return "str" end
  if v == null or v == nil then return "NoneType" end
  if type(v) == "boolean" then return "bool" end
  if type(v) == "number" then
    return math.type(v) == "integer" and "int" or "float"
  end
  if is_array(v) then return "list" end
  return "dict"
end
M.pytype = pytype

-- Python's truth value.
local function truthy(v)
  if v == nil or v == null or v == false or v == 0 or v == "" then
    return false
  end
  if is_array(v) then return #v > 0 end
  if is_object(v) then return #json.keys(v) > 0 end
  return true
end

local function is_empty_object(v)
  return is_object(v) and #json.keys(v) == 0
end

-- str.upper() for the scripts keys are written in: ASCII, Latin-1, Greek and
-- Cyrillic (other letters are left as they are).
local function pyupper(s)
  if not s:find("[\128-\255]") then return s:upper() end
  local out = {}
  for _, cp in utf8_codes(s) do
    if cp >= 97 and cp <= 122 then cp = cp - 32
    elseif cp == 0xdf then out[#out + 1] = "SS"; cp = nil
    elseif cp == 0xb5 then cp = 0x39c
    elseif cp == 0xff then cp = 0x178
    elseif cp >= 0xe0 and cp <= 0xfe and cp ~= 0xf7 then cp = cp - 32
    elseif cp == 0x3c2 then cp = 0x3a3
    elseif cp >= 0x3b1 and cp <= 0x3cb then cp = cp - 32
    elseif cp >= 0x430 and cp <= 0x44f then cp = cp - 32
    elseif cp >= 0x450 and cp <= 0x45f then cp = cp - 80
    elseif cp >= 0xdc80 and cp <= 0xdcff then out[#out + 1] = string.char(cp - 0xdc00); cp = nil end
    if cp then out[#out + 1] = utf8_char(cp) end
  end
  return concat(out)
end

-- table.py get_text_length: east-asian W, F and A characters count 2.
local function text_length(s)
  local n = 0
  for _, cp in utf8_codes(s) do
    if cp >= 0xa1 and pyunicode.is_wide(cp) then n = n + 2 else n = n + 1 end
  end
  return n
end
M.text_length = text_length

---------------------------------------------------------------------------
-- text (awscli/text.py)
---------------------------------------------------------------------------

local format_text

local function format_scalar_list(elements, identifier, out)
  if identifier ~= nil then
    local id = pyupper(identifier)
    for _, item in ipairs(elements) do
      out[#out + 1] = id .. "\t" .. pystr(item) .. "\n"
    end
  else
    local parts = {}
    for i, item in ipairs(elements) do parts[i] = pystr(item) end
    out[#out + 1] = concat(parts, "\t") .. "\n"
  end
end

local function all_scalar_keys(list)
  local seen, keys = {}, {}
  for _, item in ipairs(list) do
    if not is_object(item) then
      return nil, fmt("'%s' object has no attribute 'items'", pytype(item))
    end
    for _, k in ipairs(json.keys(item)) do
      if not is_container(item[k]) and not seen[k] then
        seen[k] = true
        keys[#keys + 1] = k
      end
    end
  end
  sort(keys)
  return keys
end

local function format_dict(scalar_keys, item, identifier, out)
  local scalars, non_scalars = {}, {}
  if scalar_keys == nil then
    for _, k in ipairs(sorted_keys(item)) do
      local v = item[k]
      if is_container(v) then
        non_scalars[#non_scalars + 1] = k
      else
        scalars[#scalars + 1] = pystr(v)
      end
    end
  else
    local in_scalar = {}
    for _, k in ipairs(scalar_keys) do
      in_scalar[k] = true
      local v = item[k]
      scalars[#scalars + 1] = v == nil and "" or pystr(v)
    end
    for _, k in ipairs(sorted_keys(item)) do
      if not in_scalar[k] then non_scalars[#non_scalars + 1] = k end
    end
  end
  if #scalars > 0 then
    if identifier ~= nil then insert(scalars, 1, pyupper(identifier)) end
    out[#out + 1] = concat(scalars, "\t") .. "\n"
  end
  for _, k in ipairs(non_scalars) do
    local ok, err = format_text(item[k], out, k)
    if not ok then return nil, err end
  end
  return true
end

local function format_list(item, identifier, out)
  if #item == 0 then return true end
  local any_dict, any_list = false, false
  for _, el in ipairs(item) do
    if is_object(el) then any_dict = true elseif is_array(el) then any_list = true end
  end
  if any_dict then
    local all_keys, err = all_scalar_keys(item)
    if not all_keys then return nil, err end
    for _, el in ipairs(item) do
      local ok, err2 = format_text(el, out, identifier, all_keys)
      if not ok then return nil, err2 end
    end
  elseif any_list then
    local scalars, non_scalars = {}, {}
    for _, el in ipairs(item) do
      if is_container(el) then non_scalars[#non_scalars + 1] = el
      else scalars[#scalars + 1] = el end
    end
    if #scalars > 0 then format_scalar_list(scalars, identifier, out) end
    for _, el in ipairs(non_scalars) do
      local ok, err = format_text(el, out, identifier)
      if not ok then return nil, err end
    end
  else
    format_scalar_list(item, identifier, out)
  end
  return true
end

format_text = function(item, out, identifier, scalar_keys)
  if is_object(item) then
    return format_dict(scalar_keys, item, identifier, out)
  elseif is_array(item) then
    return format_list(item, identifier, out)
  end
  out[#out + 1] = pystr(item) .. "\n"
  return true
end

--- text.format_text(value) -> string | nil, message, what was written before
function M.text(value)
  local out = {}
  local ok, err = format_text(value, out)
  if not ok then return nil, err, concat(out) end
  return concat(out)
end

---------------------------------------------------------------------------
-- table (awscli/table.py and formatter.py's TableFormatter)
---------------------------------------------------------------------------

-- Python's round() of a float: halves go to the even neighbour.
local function pyround(x)
  local f = math.floor(x)
  local d = x - f
  if d > 0.5 or (d == 0.5 and f % 2 == 1) then f = f + 1 end
  return math.tointeger(f) or f
end

local Section = {}
Section.__index = Section

local function new_section()
  return setmetatable({ title = "", headers = {}, rows = {}, indent_level = 0,
                        num_cols = nil, max_widths = {} }, Section)
end

function Section:update_max_widths(row)
  if #self.max_widths == 0 then
    local w = {}
    for i, el in ipairs(row) do w[i] = text_length(el) end
    self.max_widths = w
    return true
  end
  for i, el in ipairs(row) do
    if self.max_widths[i] == nil then return nil, "list index out of range" end
    self.max_widths[i] = math.max(text_length(el), self.max_widths[i])
  end
  return true
end

function Section:add_header(headers)
  local ok, err = self:update_max_widths(headers)
  if not ok then return nil, err end
  if self.num_cols == nil then self.num_cols = #headers end
  self.headers = headers
  return true
end

-- row: Lua list of values; they are turned into str() here.
function Section:add_row(row)
  if self.num_cols == nil then self.num_cols = #row end
  if #row ~= self.num_cols then
    return nil, fmt("Row should have %d elements, instead it has %d",
                    self.num_cols, #row)
  end
  local strs = {}
  for i, v in ipairs(row) do strs[i] = pystr(v) end
  self.rows[#self.rows + 1] = strs
  return self:update_max_widths(strs)
end

function Section:column_widths(padding, max_width)
  local unscaled = {}
  for i, w in ipairs(self.max_widths) do unscaled[i] = w + (padding or 0) end
  if max_width == nil or #unscaled == 0 then return unscaled end
  local sum = 0
  for _, w in ipairs(unscaled) do sum = sum + w end
  local scale = max_width / (sum + 0.0)
  local scaled = {}
  for i, w in ipairs(unscaled) do scaled[i] = pyround(scale * w) end
  local total = 0
  for _, w in ipairs(scaled) do total = total + w end
  local off_by = total - max_width
  local n = #scaled
  while off_by ~= 0 do
    local first, last, step = 1, n, 1
    if off_by < 0 then first, last, step = n, 1, -1 end
    for i = first, last, step do
      if off_by > 0 then
        scaled[i] = scaled[i] - 1
        off_by = off_by - 1
      else
        scaled[i] = scaled[i] + 1
        off_by = off_by + 1
      end
      if off_by == 0 then break end
    end
  end
  return scaled
end

function Section:total_width(padding, with_border, outer_padding)
  local total = 0
  for _, w in ipairs(self:column_widths()) do total = total + w + padding end
  if with_border then total = total + 2 end
  total = total + 2 * outer_padding
  return math.max(text_length(self.title) + 2 + 2 * outer_padding, total)
end

local function center_text(text, length, left_edge, right_edge, tlen)
  local char_start = (length // 2) - (tlen // 2) - 1
  local so_far = #left_edge + char_start + tlen
  local right_spaces = length - #right_edge - so_far
  return left_edge .. rep(" ", char_start) .. text .. rep(" ", right_spaces)
    .. right_edge
end

local function align_left(text, length, left_edge, right_edge, tlen)
  local computed = tlen + 2 + #left_edge + #right_edge
  local padding = (length - computed >= 0) and 2 or 0
  local so_far = #left_edge + padding + tlen
  return left_edge .. rep(" ", padding) .. text
    .. rep(" ", length - so_far - #right_edge) .. right_edge
end

local function line_break(widths)
  local parts = {}
  for i, w in ipairs(widths) do
    if i == 1 then parts[i] = "+" .. rep("-", w - 2) .. "+"
    else parts[i] = rep("-", w - 1) .. "+" end
  end
  return concat(parts) .. "\n"
end

-- The table being built: sections plus the writer state.
local Table = {}
Table.__index = Table

local function new_table()
  return setmetatable({ sections = {}, current = nil }, Table)
end

function Table:new_section(title, indent_level)
  local s = new_section()
  s.title = title
  s.indent_level = indent_level or 0
  self.sections[#self.sections + 1] = s
  self.current = s
end

local function no_section()
  return nil, "'NoneType' object has no attribute 'add_row'"
end

function Table:add_row(row)
  if not self.current then return no_section() end
  return self.current:add_row(row)
end

function Table:add_row_header(headers)
  if not self.current then
    return nil, "'NoneType' object has no attribute 'add_header'"
  end
  return self.current:add_header(headers)
end

local function group_scalar_keys(current)
  local headers, more = {}, {}
  for _, k in ipairs(json.keys(current)) do
    if is_container(current[k]) then more[#more + 1] = k
    else headers[#headers + 1] = k end
  end
  sort(headers)
  sort(more)
  return headers, more
end

-- _group_scalar_keys on a list element that is not a dict: Python iterates
-- it and indexes it with its own elements. Returns the keys it finds (list
-- indices, for a list of integers) or nil, the exception's text.
local function group_non_dict(item)
  local t = pytype(item)
  if t == "str" then
    if item == "" then return {}, {} end
    return nil, "string indices must be integers, not 'str'"
  elseif t ~= "list" then
    return nil, fmt("'%s' object is not iterable", t)
  end
  local headers, more = {}, {}
  local n = #item
  for _, e in ipairs(item) do
    local et = pytype(e)
    if et ~= "int" and et ~= "bool" then
      return nil, "list indices must be integers or slices, not " .. et
    end
    local idx = et == "bool" and (e and 1 or 0) or e
    if idx < -n or idx >= n then return nil, "list index out of range" end
    local v = item[idx < 0 and n + idx + 1 or idx + 1]
    if is_container(v) then more[#more + 1] = idx else headers[#headers + 1] = idx end
  end
  return headers, more
end

-- sorted(set(keys)): Python cannot order integers (list indices) among
-- strings; which operand it names depends on the set's hash order.
local function sorted_set(keys)
  local seen, out, nums, strs = {}, {}, false, false
  for _, k in ipairs(keys) do
    if not seen[k] then
      seen[k] = true
      out[#out + 1] = k
      if type(k) == "number" then nums = true else strs = true end
    end
  end
  if nums and strs then
    return nil, "'<' not supported between instances of 'int' and 'str'"
  end
  sort(out)
  return out
end

local build_table

local function build_sub_table_from_list(tbl, current, indent_level, title)
  local all_headers, all_more = {}, {}
  for _, item in ipairs(current) do
    local h, m
    if is_object(item) then
      h, m = group_scalar_keys(item)
    else
      h, m = group_non_dict(item)
      if not h then return nil, m end
    end
    table.move(h, 1, #h, #all_headers + 1, all_headers)
    table.move(m, 1, #m, #all_more + 1, all_more)
  end
  local headers, herr = sorted_set(all_headers)
  if not headers then return nil, herr end
  local more, merr = sorted_set(all_more)
  if not more then return nil, merr end
  local ok, err = tbl:add_row_header(headers)
  if not ok then return nil, err end
  for i, element in ipairs(current) do
    if i > 1 and #more > 0 then
      tbl:new_section(title, indent_level)
      ok, err = tbl:add_row_header(headers)
      if not ok then return nil, err end
    end
    if not is_object(element) then
      return nil, fmt("'%s' object has no attribute 'get'", pytype(element))
    end
    local row = {}
    for j, h in ipairs(headers) do
      local v = element[h]
      if v == nil then v = "" end
      row[j] = v
    end
    ok, err = tbl:add_row(row)
    if not ok then return nil, err end
    for _, k in ipairs(more) do
      if element[k] ~= nil then
        ok, err = build_table(tbl, k, element[k], indent_level + 1)
        if ok == nil then return nil, err end
      end
    end
  end
  return true
end

local function build_sub_table_from_dict(tbl, current, indent_level)
  local headers, more = group_scalar_keys(current)
  local ok, err
  if #headers == 1 then
    ok, err = tbl:add_row({ headers[1], current[headers[1]] })
    if not ok then return nil, err end
  elseif #headers > 0 then
    ok, err = tbl:add_row_header(headers)
    if not ok then return nil, err end
    local row = {}
    for i, k in ipairs(headers) do row[i] = current[k] end
    ok, err = tbl:add_row(row)
    if not ok then return nil, err end
  end
  for _, k in ipairs(more) do
    ok, err = build_table(tbl, k, current[k], indent_level + 1)
    if ok == nil then return nil, err end
  end
  return true
end

-- Returns true (something to render), false (nothing), or nil, message.
build_table = function(tbl, title, current, indent_level)
  indent_level = indent_level or 0
  if not truthy(current) then return false end
  if title ~= nil then tbl:new_section(title, indent_level) end
  local ok, err
  if is_array(current) then
    if is_object(current[1]) then
      ok, err = build_sub_table_from_list(tbl, current, indent_level, title)
      if not ok then return nil, err end
    else
      for _, item in ipairs(current) do
        if not is_container(item) then
          ok, err = tbl:add_row({ item })
        else
          local all_scalar = true
          local elements
          if is_object(item) then
            elements = keys_of(item)
          else
            elements = {}
            for i = 1, #item do
              elements[i] = item[i]
              if is_container(item[i]) then all_scalar = false end
            end
          end
          if all_scalar then
            ok, err = tbl:add_row(elements)
          else
            ok, err = build_table(tbl, nil, item)
          end
        end
        if ok == nil then return nil, err end
      end
    end
  end
  if is_object(current) then
    ok, err = build_sub_table_from_dict(tbl, current, indent_level)
    if not ok then return nil, err end
  end
  return true
end

local function convert_to_vertical(sections)
  for i, s in ipairs(sections) do
    if #s.rows == 1 and #s.headers > 0 then
      local n = new_section()
      n.title = s.title
      n.indent_level = s.indent_level
      local row = s.rows[1]
      for j = 1, math.min(#s.headers, #row) do
        n:add_row({ s.headers[j], row[j] })
      end
      sections[i] = n
    end
  end
end

local function max_width_of(sections)
  local m
  for _, s in ipairs(sections) do
    local w = s:total_width(4, true, s.indent_level)
    if m == nil or w > m then m = w end
  end
  return m
end

-- Renders the table as the list of write() calls awscli makes.
function Table:render(writes, columns, color)
  local row_style = function(t) return t end
  local indent_char = "|"
  if color then
    row_style = function(t) return ROW_STYLE .. t .. RESET end
    indent_char = INDENT_STYLE .. "|" .. RESET
  end
  local max_width = max_width_of(self.sections)
  if max_width == nil then return nil, "max() arg is an empty sequence" end
  if max_width > columns then
    convert_to_vertical(self.sections)
    max_width = max_width_of(self.sections)
  end
  writes[#writes + 1] = rep("-", max_width) .. "\n"
  for _, s in ipairs(self.sections) do
    local level = s.indent_level
    local edge = rep(indent_char, level)
    local function write(text)
      writes[#writes + 1] = edge
      if text:sub(-1) == "\n" then
        writes[#writes + 1] = text:sub(1, -2)
        writes[#writes + 1] = edge
        writes[#writes + 1] = "\n"
      else
        writes[#writes + 1] = text
      end
    end
    local width = max_width - level * 2
    if s.title ~= "" then
      write(center_text(s.title, width, "|", "|", text_length(s.title)) .. "\n")
      if #s.headers == 0 and #s.rows == 0 then
        write("+" .. rep("-", width - 2) .. "+\n")
      end
    end
    if #s.headers > 0 then
      local widths = s:column_widths(4, width)
      local cur = {}
      for i = 1, math.min(#widths, #s.headers) do
        local h = s.headers[i]
        cur[i] = center_text(h, widths[i], i == 1 and "|" or "", "|", text_length(h))
      end
      write(line_break(widths))
      write(concat(cur) .. "\n")
    end
    if #s.rows > 0 then
      local widths = s:column_widths(4, width)
      if #widths > 0 then
        write(line_break(widths))
        for _, row in ipairs(s.rows) do
          local cur = {}
          for i = 1, math.min(#widths, #row) do
            cur[i] = align_left(row_style(row[i]), widths[i], i == 1 and "|" or "",
                                "|", text_length(row[i]))
          end
          write(concat(cur) .. "\n")
        end
        write(line_break(widths))
      end
    end
  end
  return true
end

--- The table of value as awscli prints it (TableFormatter._format_response).
local function format_table(value, opts)
  local tbl = new_table()
  local writes = {}
  local function failed(message)
    local e = fail(message)
    -- colorama's atexit reset_all()
    e.output = (opts.color and opts.tty) and RESET or ""
    return nil, e
  end
  local built, err = build_table(tbl, opts.title, value)
  if built == nil then return failed(err) end
  if built then
    local ok, rerr = tbl:render(writes, opts.columns or 80, opts.color)
    if not ok then return failed(rerr) end
  end
  if opts.color then
    if not opts.pager then
      for i = 1, #writes do writes[i] = writes[i] .. RESET end
    end
    if opts.tty then writes[#writes + 1] = RESET end   -- colorama's atexit reset_all()
  end
  return concat(writes)
end

---------------------------------------------------------------------------
-- yaml (ruamel.yaml's safe dumper, through libyaml's emitter via lyaml)
---------------------------------------------------------------------------

-- ruamel.yaml's YAML 1.2 implicit resolvers: does plain scalar s read back
-- as something other than a string (so that it must be quoted)?
local function resolves_non_string(s)
  if s == "" then return true end
  -- Python's `$` also matches before a final newline.
  local v = s
  if v:sub(-1) == "\n" then v = v:sub(1, -2) end
  local c = s:sub(1, 1)
  if c:find("[tTfF]") then
    if v == "true" or v == "True" or v == "TRUE" or v == "false"
      or v == "False" or v == "FALSE" then return true end
  end
  if c:find("[-+0-9.]") then
    -- float
    if v:find("^[-+]?[0-9][0-9_]*%.[0-9_]*$")
      or v:find("^[-+]?[0-9][0-9_]*%.[0-9_]*[eE][-+]?[0-9]+$")
      or v:find("^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$")
      or v:find("^[-+]?%.[0-9_]+$")
      or v:find("^[-+]?%.[0-9_]+[eE][-+][0-9]+$")
      or v:find("^[-+]?%.inf$") or v:find("^[-+]?%.Inf$") or v:find("^[-+]?%.INF$")
      or v == ".nan" or v == ".NaN" or v == ".NAN" then return true end
  end
  if c:find("[-+0-9]") then
    -- int
    if v:find("^[-+]?0b[01_]+$") or v:find("^[-+]?0o?[0-7_]+$")
      or v:find("^[-+]?[0-9_]+$") or v:find("^[-+]?0x[0-9a-fA-F_]+$") then
      return true
    end
  end
  if v == "<<" or v == "=" or v == "!" or v == "&" or v == "*" then return true end
  if v == "~" or v == "null" or v == "Null" or v == "NULL" then return true end
  if c:find("[0-9]") then
    if v:find("^%d%d%d%d%-%d%d%-%d%d$") then return true end
    local rest = v:match("^%d%d%d%d%-%d%d?%-%d%d?(.*)$")
    if rest then
      local t = rest:match("^[Tt](.*)$") or rest:match("^[ \t]+(.*)$")
      if t then
        t = t:match("^%d%d?:%d%d:%d%d(.*)$")
        if t then
          t = t:match("^%.%d*(.*)$") or t
          if t == "" then return true end
          t = t:match("^[ \t]*(.*)$")
          if t == "Z" or t:find("^[-+]%d%d?$") or t:find("^[-+]%d%d?:%d%d$") then
            return true
          end
        end
      end
    end
  end
  return false
end
M.yaml_resolves_non_string = resolves_non_string

local function yaml_scalar_text(v)
  if type(v) == "string" then return v, not resolves_non_string(v) end
  if v == null then return "null", true end
  if type(v) == "boolean" then return v and "true" or "false", true end
  if math.type(v) == "integer" then return fmt("%d", v), true end
  if v ~= v then return ".nan", true end
  if v == math.huge then return ".inf", true end
  if v == -math.huge then return "-.inf", true end
  return pyfloat(v):lower(), true
end

local function yaml_node(emit, v)
  if is_object(v) then
    emit { type = "MAPPING_START", style = "BLOCK", implicit = true }
    for _, k in ipairs(sorted_keys(v)) do
      yaml_node(emit, k)
      yaml_node(emit, v[k])
    end
    emit { type = "MAPPING_END" }
  elseif is_array(v) then
    emit { type = "SEQUENCE_START", style = "BLOCK", implicit = true }
    for i = 1, #v do yaml_node(emit, v[i]) end
    emit { type = "SEQUENCE_END" }
  else
    local text, plain = yaml_scalar_text(v)
    emit { type = "SCALAR", value = text, plain_implicit = plain,
           quoted_implicit = true }
  end
end

local function yaml_dump(value)
  if not is_container(value) then
    return json.encode(value) .. "\n"
  end
  -- lyaml's C half (Debian lua-yaml), loaded only when YAML is asked for
  local emitter = require("yaml").emitter()
  local result
  local function emit(ev)
    local ok, r = emitter.emit(ev)
    if not ok then error(r, 0) end
    result = r
  end
  emit { type = "STREAM_START", encoding = "UTF8" }
  emit { type = "DOCUMENT_START", implicit = true }
  yaml_node(emit, value)
  emit { type = "DOCUMENT_END", implicit = true }
  emit { type = "STREAM_END" }
  return result
end
M.yaml_dump = yaml_dump

---------------------------------------------------------------------------
-- formatters
---------------------------------------------------------------------------

-- _remove_request_id: ResponseMetadata goes unless the response has Errors.
local function remove_request_id(response)
  if is_object(response) and response.Errors == nil
    and response.ResponseMetadata ~= nil then
    local copy = json.object()
    for _, k in ipairs(json.keys(response)) do
      if k ~= "ResponseMetadata" then json.set(copy, k, response[k]) end
    end
    return copy
  end
  return response
end

local function transformed(response, opts)
  response = remove_request_id(response)
  if opts.query then
    local r, err = opts.query(response)
    if err ~= nil then return nil, err end
    if r == nil then r = null end
    response = r
  end
  return response
end

local function array_of(v)
  return json.array({ v })
end

-- A fully formatted (non-paginated, or full result) response.
local function format_buffered(format, response, opts)
  local value, err = transformed(response, opts)
  if err ~= nil then return nil, err end
  if format == "json" then
    if is_empty_object(value) then return "" end
    return json.encode(value, { indent = 4 }) .. "\n"
  elseif format == "yaml" then
    if is_empty_object(value) then return "" end
    return yaml_dump(value)
  elseif format == "table" then
    return format_table(value, opts)
  end
  error("format_buffered: " .. tostring(format))
end

--- clioutput.error_text(message, format, opts) -> what awscli writes to
-- stderr for an error with str() message (its "\n" .. message .. "\n"),
-- raised after the output formatter was made: for a coloured table colorama
-- then wraps stderr too, and each of the three writes gets ESC[0m after it.
-- Errors of a paginated call's requests are such (awscli's paginator sends
-- them while the formatter runs); a single call's error comes before.
function M.error_text(message, format, opts)
  if format == "table" and opts and opts.color then
    return "\n" .. RESET .. message .. RESET .. "\n" .. RESET
  end
  return "\n" .. message .. "\n"
end

local FORMATS = { json = true, text = true, table = true, yaml = true,
                  ["yaml-stream"] = true }

local function check_format(format)
  if not FORMATS[format] then
    error("unknown output format '" .. tostring(format) .. "'", 3)
  end
end

--- clioutput.format(format, response, opts) -> string | nil, err
-- One response that is not paginated. format is json, text, table, yaml or
-- yaml-stream.
function M.format(format, response, opts)
  check_format(format)
  opts = opts or {}
  if format == "text" then
    local value, err = transformed(response, opts)
    if err ~= nil then return nil, err end
    local out, terr, partial = M.text(value)
    if not out then
      local e = fail(terr)
      e.output = partial
      return nil, e
    end
    return out
  elseif format == "yaml-stream" then
    local value, err = transformed(response, opts)
    if err ~= nil then return nil, err end
    if is_empty_object(value) then return "" end
    return yaml_dump(array_of(value))
  end
  return format_buffered(format, response, opts)
end

-- Paginated output -----------------------------------------------------

-- A dotted result key's value in v (botocore's result_key.search for the
-- plain dotted names paginators use), nil when absent.
local function search_path(v, path)
  for part in path:gmatch("[^.]+") do
    if not is_object(v) then return nil end
    v = v[part]
    if v == nil or v == null then return nil end
  end
  return v
end

local function set_path(obj, path, value)
  local parts = {}
  for part in path:gmatch("[^.]+") do parts[#parts + 1] = part end
  for i = 1, #parts - 1 do
    local nxt = obj[parts[i]]
    if nxt == nil then
      nxt = json.object()
      json.set(obj, parts[i], nxt)
    end
    obj = nxt
  end
  json.set(obj, parts[#parts], value)
end

local Writer = {}
Writer.__index = Writer

--- clioutput.new(format, opts) -> writer for a paginated call's pages.
function M.new(format, opts)
  check_format(format)
  opts = opts or {}
  return setmetatable({
    format = format, opts = opts, npages = 0,
    result_keys = opts.result_keys or { "Items" },
    non_aggregate_keys = opts.non_aggregate_keys or {},
    full = json.object(), non_aggregate = json.object(),
  }, Writer)
end

local function copy_object(o)
  local c = json.object()
  for _, k in ipairs(json.keys(o)) do json.set(c, k, o[k]) end
  return c
end

--- writer:page(page) -> string (to write now) | nil, err
function Writer:page(page)
  self.npages = self.npages + 1
  local first = self.npages == 1
  if first then
    for _, k in ipairs(self.non_aggregate_keys) do
      local v = search_path(page, k)
      set_path(self.non_aggregate, k, v == nil and null or v)
    end
  end
  local format = self.format
  if format == "text" then
    local current = first and copy_object(self.non_aggregate) or json.object()
    for _, k in ipairs(self.result_keys) do
      local v = search_path(page, k)
      set_path(current, k, v == nil and null or v)
    end
    return M.format("text", current, { query = self.opts.query })
  elseif format == "yaml-stream" then
    local value, err = transformed(page, self.opts)
    if err ~= nil then return nil, err end
    return yaml_dump(array_of(value))
  end
  -- json, yaml, table: build_full_result
  for _, k in ipairs(self.result_keys) do
    local v = search_path(page, k)
    if v ~= nil then
      local existing = search_path(self.full, k)
      if existing == nil then
        if is_array(v) then v = json.array({ table.unpack(v) }) end
        set_path(self.full, k, v)
      elseif is_array(v) and is_array(existing) then
        for i = 1, #v do existing[#existing + 1] = v[i] end
      elseif type(v) == "number" and type(existing) == "number" then
        set_path(self.full, k, existing + v)
      elseif type(v) == "string" and type(existing) == "string" then
        set_path(self.full, k, existing .. v)
      end
    end
  end
  return ""
end

--- writer:finish(resume_token) -> string (to write now) | nil, err
-- resume_token: the token awscli prints when --max-items stopped the
-- listing early, or nil.
function Writer:finish(resume_token)
  local format = self.format
  if format == "text" then
    if resume_token ~= nil and resume_token ~= "" then
      local inner = json.object()
      json.set(inner, "NextToken", resume_token)
      local outer = json.object()
      json.set(outer, "NextToken", inner)
      return M.format("text", outer, { query = self.opts.query })
    end
    return ""
  elseif format == "yaml-stream" then
    return ""
  end
  local full = self.full
  for _, k in ipairs(json.keys(self.non_aggregate)) do
    if full[k] == nil then json.set(full, k, self.non_aggregate[k]) end
  end
  if resume_token ~= nil then json.set(full, "NextToken", resume_token) end
  return format_buffered(format, full, self.opts)
end

return M
