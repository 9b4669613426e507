-- gameliftstreams.clihelp: `glsrun help`, `glsrun OPERATION help`, `glsrun wait
-- help`, `glsrun wait WAITER help`: the pages `aws gameliftstreams ... help`
-- shows (awscli/clidocs.py rendered through groff), as plain text: the same
-- sections (NAME, DESCRIPTION, SYNOPSIS, OPTIONS, GLOBAL OPTIONS, OUTPUT or
-- AVAILABLE COMMANDS), option lists, synopsis and syntax examples, laid out
-- as man(1) shows them on an 80-column terminal, without groff's
-- justification and hyphenation. Options also list their constraints
-- (length/value range, pattern), as later AWS CLI v2 releases print them.
--
--   local help = require "gameliftstreams.clihelp"
--   help.service(cm)               -> text
--   help.operation(cm, op)         -> text   (op = cm.by_cli[name])
--   help.waiters(cm)               -> text
--   help.waiter(cm, name)          -> text | nil (no such waiter)
local descriptions = require("gameliftstreams.clioverview").waiters

local M = {}

local WIDTH = 78

-- The AWS CLI v2's global options: name, type, help, choices.
M.GLOBAL_OPTIONS = {
  { "debug", "boolean", "Turn on debug logging." },
  { "endpoint-url", "string", "Override command's default URL with the given URL." },
  { "no-verify-ssl", "boolean", "By default, the AWS CLI uses SSL when communicating with AWS services. For each "
    .. "SSL connection, the AWS CLI will verify SSL certificates. This option overrides the default behavior of "
    .. "verifying SSL certificates." },
  { "no-paginate", "boolean", "Disable automatic pagination. If automatic pagination is disabled, the AWS CLI "
    .. "will only make one call, for the first page of results." },
  { "output", "string", "The formatting style for command output.",
    { "json", "text", "table", "yaml", "yaml-stream" } },
  { "query", "string", "A JMESPath query to use in filtering the response data." },
  { "profile", "string", "Use a specific profile from your credential file." },
  { "region", "string", "The region to use. Overrides config/env settings." },
  { "version", "string", "Display the version of this tool." },
  { "color", "string", "Turn on/off color output.", { "on", "off", "auto" } },
  { "no-sign-request", "boolean", "Do not sign requests. Credentials will not be loaded if this argument is "
    .. "provided." },
  { "ca-bundle", "string", "The CA certificate bundle to use when verifying SSL certificates. Overrides "
    .. "config/env settings." },
  { "cli-read-timeout", "int", "The maximum socket read time in seconds. If the value is set to 0, the socket "
    .. "read will be blocking and not timeout. The default value is 60 seconds." },
  { "cli-connect-timeout", "int", "The maximum socket connect time in seconds. If the value is set to 0, the "
    .. "socket connect will be blocking and not timeout. The default value is 60 seconds." },
  { "cli-binary-format", "string", "The formatting style to be used for binary blobs. The default format is "
    .. "base64. The base64 format expects binary blobs to be provided as a base64 encoded string. The "
    .. "raw-in-base64-out format preserves compatibility with AWS CLI V1 behavior and binary values must be "
    .. "passed literally. When providing contents from a file that map to a binary blob fileb:// will always be "
    .. "treated as binary and use the file contents directly regardless of the cli-binary-format setting. When "
    .. "using file:// the file contents will need to properly formatted for the configured cli-binary-format.",
    { "base64", "raw-in-base64-out" } },
  { "no-cli-pager", "boolean", "Disable cli pager for output." },
  { "cli-auto-prompt", "boolean", "Automatically prompt for CLI input parameters." },
  { "no-cli-auto-prompt", "boolean", "Disable automatically prompt for CLI input parameters." },
}

local CLI_INPUT = "--cli-input-json | --cli-input-yaml (string) Reads arguments from the JSON string provided. "
  .. "The JSON string follows the format provided by --generate-cli-skeleton. If other arguments are provided "
  .. "on the command line, those values will override the JSON-provided values. It is not possible to pass "
  .. "arbitrary binary values using a JSON-provided value as the string will be taken literally. This may not be "
  .. "specified along with --cli-input-yaml."
local SKELETON = "--generate-cli-skeleton (string) Prints a JSON skeleton to standard output without sending an "
  .. "API request. If provided with no value or the value input, prints a sample input JSON that can be used as "
  .. "an argument for --cli-input-json. Similarly, if provided yaml-input it will print a sample input YAML that "
  .. "can be used with --cli-input-yaml. If provided with the value output, it validates the command inputs and "
  .. "returns a sample output JSON for that command. The generated JSON skeleton is not stable between versions "
  .. "of the AWS CLI and there are no backwards compatibility guarantees in the JSON skeleton generated."

local PAGING = {
  { "starting-token", "string", "A token to specify where to start paginating. This is the NextToken from a "
    .. "previously truncated response." },
  { "page-size", "integer", "The size of each page to get in the AWS service call. This does not affect the "
    .. "number of items returned in the command's output. Setting a smaller page size results in more calls to "
    .. "the AWS service, retrieving fewer items in each call. This can help prevent the AWS service calls from "
    .. "timing out." },
  { "max-items", "integer", "The total number of items to return in the command's output. If the total number "
    .. "of items available is more than the value specified, a NextToken is provided in the command's output. To "
    .. "resume pagination, provide the NextToken value in the starting-token argument of a subsequent command. "
    .. "Do not use the NextToken response element directly outside of the AWS CLI." },
}
local PAGING_NOTE = "For usage examples, see Pagination in the AWS Command Line Interface User Guide ."

local SCALAR = { string = true, integer = true, long = true, boolean = true, double = true, float = true,
                 timestamp = true, blob = true }

-------------------------------------------------------------------- layout

-- Greedy fill of text at indent (first line at first or indent), WIDTH wide.
local function fill(out, text, indent, first)
  local line, lead = nil, first or indent
  for word in text:gmatch("%S+") do
    if line and #line + 1 + #word > WIDTH then
      out[#out + 1] = line
      line = nil
      lead = indent
    end
    line = line and (line .. " " .. word) or (lead .. word)
  end
  if line then out[#out + 1] = line end
end

-- A climodel doc (paragraphs split by blank lines, "* " items indented two
-- spaces per level) at indent: paragraphs filled, items as man shows them
-- ("o " with the text hanging two columns in).
local function doc(out, text, indent)
  local first = true
  for para in (text or ""):gsub("\r", ""):gmatch("[^\n]+") do
    if not para:match("^%s*$") then
      if not first then out[#out + 1] = "" end
      first = false
      local lead, item = para:match("^( *)%* (.*)$")
      if item then
        local ind = indent .. lead
        fill(out, item, ind .. "  ", ind .. "o ")
      else
        fill(out, para, indent)
      end
    end
  end
end

local function title(name)
  local t = name:upper() .. "()"
  return t .. (" "):rep(math.max(1, WIDTH - 2 * #t)) .. t
end

local function footer(name)
  local t = name:upper() .. "()"
  return (" "):rep(WIDTH - #t) .. t
end

local function page(name, sections)
  local out = { title(name), "", "", "" }
  for _, s in ipairs(sections) do
    out[#out + 1] = s[1]
    for _, l in ipairs(s[2]) do out[#out + 1] = l end
    out[#out + 1] = ""
  end
  out[#out + 1] = ""
  out[#out + 1] = ""
  out[#out + 1] = footer(name)
  return table.concat(out, "\n") .. "\n"
end

-------------------------------------------------------------------- shapes

local function shape_of(cm, name) return assert(cm.shapes[name], name) end

-- clidocs.py _json_example_value_name
local function example_name(shape, enums)
  if shape.type == "string" then
    if shape.enum and enums ~= false then
      local q = {}
      for i, e in ipairs(shape.enum) do q[i] = '"' .. e .. '"' end
      return table.concat(q, "|")
    end
    return '"string"'
  elseif shape.type == "boolean" then
    return "true|false"
  end
  return shape.type
end

-- clidocs.py _json_example: the JSON Syntax block, as lines.
local function json_example(cm, name, stack, buf)
  local shape = shape_of(cm, name)
  local depth = 0
  for _, s in ipairs(stack) do if s == name then depth = depth + 1 end end
  if depth > 1 then
    if shape.type == "structure" then buf.write("{ ... recursive ... }") end
    return
  end
  stack[#stack + 1] = name
  if shape.type == "list" then
    local member = shape_of(cm, shape.member)
    buf.write("[")
    if SCALAR[member.type] then
      buf.write(example_name(member) .. ", ...")
    else
      buf.indent(1); buf.nl()
      json_example(cm, shape.member, stack, buf)
      buf.nl(); buf.write("..."); buf.indent(-1); buf.nl()
    end
    buf.write("]")
  elseif shape.type == "map" then
    buf.write("{")
    buf.indent(1)
    buf.write(example_name(shape_of(cm, shape.key)) .. ": ")
    local value = shape_of(cm, shape.value)
    if SCALAR[value.type] then
      buf.write(example_name(value))
    else
      buf.indent(1); json_example(cm, shape.value, stack, buf); buf.indent(-1)
    end
    buf.nl(); buf.write("..."); buf.indent(-1); buf.write("}")
  elseif shape.type == "structure" then
    buf.write("{")
    buf.indent(1); buf.nl()
    local members = shape.members or {}
    for i, m in ipairs(members) do
      local ms = shape_of(cm, m.shape)
      if SCALAR[ms.type] then
        buf.write(('"%s": %s'):format(m.name, example_name(ms)))
      else
        buf.write(('"%s": '):format(m.name))
        json_example(cm, m.shape, stack, buf)
      end
      if i < #members then buf.write(","); buf.nl() end
    end
    buf.indent(-1); buf.nl(); buf.write("}")
  end
  stack[#stack] = nil
end

local function json_syntax(cm, name)
  local lines, cur, ind = {}, "", 0
  local buf = {}
  function buf.write(s) cur = cur .. s end
  function buf.nl() lines[#lines + 1] = cur; cur = ("  "):rep(ind) end
  function buf.indent(d) ind = ind + d end
  json_example(cm, name, {}, buf)
  lines[#lines + 1] = cur
  return lines
end

-- argprocess.py ParamShorthandDocGen; nil when too complex.
local function shorthand(cm, name, stack)
  if #stack > 3 then return nil end
  local shape = shape_of(cm, name)
  if shape.type == "structure" then
    local parts = {}
    for _, m in ipairs(shape.members or {}) do
      local v
      local seen = false
      for _, s in ipairs(stack) do if s == m.shape then seen = true end end
      if seen then
        parts[#parts + 1] = m.name .. "=( ... recursive ... )"
      else
        stack[#stack + 1] = m.shape
        v = shorthand(cm, m.shape, stack)
        stack[#stack] = nil
        if v == nil then return nil end
        parts[#parts + 1] = m.name .. "=" .. v
      end
    end
    local inner = table.concat(parts, ",")
    return #stack == 0 and inner or "{" .. inner .. "}"
  elseif shape.type == "list" then
    stack[#stack + 1] = shape.member
    local e = shorthand(cm, shape.member, stack)
    stack[#stack] = nil
    if e == nil then return nil end
    local mt = shape_of(cm, shape.member).type
    if mt == "structure" or mt == "list" or mt == "map" or #stack > 1 then
      return ("[%s,%s]"):format(e, e)
    end
    return ("%s,%s"):format(e, e)
  elseif shape.type == "map" then
    local v = shorthand(cm, shape.value, stack)
    if v == nil then return nil end
    local s = ("KeyName1=%s,KeyName2=%s"):format(v, v)
    return #stack > 0 and "{" .. s .. "}" or s
  end
  return shape.type
end

local function constraints(shape)
  local c = {}
  if shape.min then c[#c + 1] = "min: " .. tostring(shape.min) end
  if shape.max then c[#c + 1] = "max: " .. tostring(shape.max) end
  if shape.pattern then c[#c + 1] = "pattern: " .. shape.pattern end
  return c
end

-- A member and its nested members, as the OPTIONS and OUTPUT sections list
-- them ("Name -> (type)", documentation, then the members).
local function member_doc(cm, out, label, mdoc, shape_name, indent, stack)
  local shape = shape_of(cm, shape_name)
  out[#out + 1] = ("%s%s(%s)"):format(indent, label and (label .. " -> ") or "", shape.type)
  local inner = indent .. "   "
  local text = (mdoc and mdoc ~= "") and mdoc or shape.doc
  if text and text ~= "" then doc(out, text, inner) end
  if shape.enum then
    out[#out + 1] = ""
    out[#out + 1] = inner .. "Possible values:"
    for _, e in ipairs(shape.enum) do
      out[#out + 1] = ""
      out[#out + 1] = inner .. "o " .. e
    end
  end
  for _, s in ipairs(stack) do if s == shape_name then return end end
  stack[#stack + 1] = shape_name
  if shape.type == "structure" then
    for _, m in ipairs(shape.members or {}) do
      out[#out + 1] = ""
      member_doc(cm, out, m.name, m.doc, m.shape, inner, stack)
    end
  elseif shape.type == "list" then
    out[#out + 1] = ""
    member_doc(cm, out, nil, nil, shape.member, inner, stack)
  elseif shape.type == "map" then
    out[#out + 1] = ""
    member_doc(cm, out, "key", nil, shape.key, inner, stack)
    out[#out + 1] = ""
    member_doc(cm, out, "value", nil, shape.value, inner, stack)
  end
  stack[#stack] = nil
end

-------------------------------------------------------------------- sections

local function synopsis(name, members, paged)
  local out = { "            " .. name }
  for _, m in ipairs(members) do
    local s = "--" .. m.cli .. (m.boolean and "" or " <value>")
    out[#out + 1] = "          " .. (m.required and s or "[" .. s .. "]")
  end
  out[#out + 1] = "          [--cli-input-json | --cli-input-yaml]"
  if paged then
    for _, p in ipairs(PAGING) do out[#out + 1] = "          [--" .. p[1] .. " <value>]" end
  end
  out[#out + 1] = "          [--generate-cli-skeleton <value>]"
  for _, g in ipairs(M.GLOBAL_OPTIONS) do
    out[#out + 1] = "          [--" .. g[1] .. (g[2] == "boolean" and "" or " <value>") .. "]"
  end
  return out
end

local function global_options()
  local out = {}
  for i, g in ipairs(M.GLOBAL_OPTIONS) do
    if i > 1 then out[#out + 1] = "" end
    out[#out + 1] = ("       --%s (%s)"):format(g[1], g[2])
    out[#out + 1] = ""
    fill(out, g[3], "       ")
    for _, c in ipairs(g[4] or {}) do
      out[#out + 1] = ""
      out[#out + 1] = "       o " .. c
    end
  end
  return out
end

-- The operation's own options (members of its input, in model order; the
-- paginator's token and limit are replaced by the CLI's paging options).
local function input_members(cm, op)
  if not op.input then return {} end
  local list, p = {}, op.paginator
  for _, m in ipairs(shape_of(cm, op.input).members or {}) do
    if not (p and (m.name == p.input_token or m.name == p.limit_key)) then
      list[#list + 1] = { cli = m.cli, required = m.required, name = m.name, shape = m.shape, doc = m.doc }
    end
  end
  return list
end

local function options(cm, members, paged)
  local out = {}
  for i, m in ipairs(members) do
    if i > 1 then out[#out + 1] = "" end
    local shape = shape_of(cm, m.shape)
    out[#out + 1] = ("       --%s (%s)"):format(m.cli, shape.type)
    local text = (m.doc ~= "" and m.doc) or shape.doc
    if text and text ~= "" then doc(out, text, "          ") end
    if shape.enum then
      out[#out + 1] = ""
      out[#out + 1] = "          Possible values:"
      for _, e in ipairs(shape.enum) do
        out[#out + 1] = ""
        out[#out + 1] = "          o " .. e
      end
    end
    local c = constraints(shape)
    if #c > 0 then
      out[#out + 1] = ""
      out[#out + 1] = "          Constraints:"
      for _, l in ipairs(c) do out[#out + 1] = "            " .. l end
    end
    if not SCALAR[shape.type] then
      local stack = { m.shape }
      if shape.type == "structure" then
        for _, sm in ipairs(shape.members or {}) do
          out[#out + 1] = ""
          member_doc(cm, out, sm.name, sm.doc, sm.shape, "          ", stack)
        end
      elseif shape.type == "list" then
        out[#out + 1] = ""
        member_doc(cm, out, nil, nil, shape.member, "          ", stack)
      else
        out[#out + 1] = ""
        member_doc(cm, out, "key", nil, shape.key, "          ", stack)
        out[#out + 1] = ""
        member_doc(cm, out, "value", nil, shape.value, "          ", stack)
      end
      local member = shape.type == "list" and shape_of(cm, shape.member)
      if member and SCALAR[member.type] then
        local e = example_name(member, false)
        out[#out + 1] = ""
        out[#out + 1] = "       Syntax:"
        out[#out + 1] = ""
        out[#out + 1] = ("          %s %s ..."):format(e, e)
        if member.enum then
          out[#out + 1] = ""
          out[#out + 1] = "          Where valid values are:"
          for _, v in ipairs(member.enum) do out[#out + 1] = "             " .. v end
        end
      else
        local sh
        if shape.type == "list" then
          sh = shorthand(cm, shape.member, {})
          sh = sh and sh .. " ..."
        else
          sh = shorthand(cm, m.shape, {})
        end
        if sh and sh ~= "" then
          out[#out + 1] = ""
          out[#out + 1] = "       Shorthand Syntax:"
          out[#out + 1] = ""
          for l in sh:gmatch("[^\n]+") do out[#out + 1] = "          " .. l end
        end
        out[#out + 1] = ""
        out[#out + 1] = "       JSON Syntax:"
        out[#out + 1] = ""
        for _, l in ipairs(json_syntax(cm, m.shape)) do out[#out + 1] = "          " .. l end
      end
    end
  end
  if #members > 0 then out[#out + 1] = "" end
  fill(out, CLI_INPUT, "       ")
  out[#out + 1] = ""
  if paged then
    for _, p in ipairs(PAGING) do
      out[#out + 1] = ("       --%s (%s)"):format(p[1], p[2])
      fill(out, p[3], "          ")
      out[#out + 1] = ""
      fill(out, PAGING_NOTE, "          ")
      out[#out + 1] = ""
    end
  end
  fill(out, SKELETON, "       ")
  return out
end

local function output(cm, shape_name)
  local out = {}
  local shape = shape_name and cm.shapes[shape_name]
  if not shape or #(shape.members or {}) == 0 then
    return { "       None" }
  end
  for i, m in ipairs(shape.members) do
    if i > 1 then out[#out + 1] = "" end
    member_doc(cm, out, m.name, m.doc, m.shape, "       ", { shape_name })
  end
  return out
end

local function description(text, extra)
  local out = {}
  doc(out, text, "       ")
  for _, e in ipairs(extra or {}) do
    out[#out + 1] = ""
    fill(out, e, "       ")
  end
  return out
end

local function command_list(names)
  local out = {}
  for i, n in ipairs(names) do
    if i > 1 then out[#out + 1] = "" end
    out[#out + 1] = "       o " .. n
  end
  return out
end

-------------------------------------------------------------------- pages

--- `glsrun help`: the service's page.
function M.service(cm)
  local names = { "help", "wait" }
  for _, op in ipairs(cm.operations) do
    for cli, o in pairs(cm.by_cli) do
      if o.name == op then names[#names + 1] = cli end
    end
  end
  table.sort(names)
  return page("gameliftstreams", {
    { "NAME", { "       gameliftstreams -" } },
    { "DESCRIPTION", description(cm.doc) },
    { "AVAILABLE COMMANDS", command_list(names) },
  })
end

--- `glsrun OPERATION help`.
function M.operation(cm, op)
  return page(op.cli, {
    { "NAME", { "       " .. op.cli .. " -" } },
    { "DESCRIPTION", description(op.doc, { "See also: AWS API Documentation" }) },
    { "SYNOPSIS", synopsis(op.cli, input_members(cm, op), op.paginator ~= nil) },
    { "OPTIONS", options(cm, input_members(cm, op), op.paginator ~= nil) },
    { "GLOBAL OPTIONS", global_options() },
    { "OUTPUT", output(cm, op.output) },
  })
end

--- `glsrun wait help`.
function M.waiters(cm)
  local names = {}
  for n in pairs(cm.waiters) do names[#names + 1] = n end
  table.sort(names)
  return page("wait", {
    { "NAME", { "       wait -" } },
    { "DESCRIPTION", description("Wait until a particular condition is satisfied. Each subcommand polls an API "
      .. "until the listed requirement is met.") },
    { "AVAILABLE COMMANDS", command_list(names) },
  })
end

-- awscli/customizations/waiters.py WaiterStateDocBuilder.
local function waiter_description(cm, name, w)
  local d = descriptions[name]
  if not d or d == "" then
    d = "Wait until "
    for _, a in ipairs(w.acceptors) do
      if a.state == "success" then
        if a.matcher == "error" then
          d = d .. tostring(a.expected) .. " is thrown"
        elseif a.matcher == "status" then
          d = d .. tostring(a.expected) .. " response is received"
        else
          local how = ({ path = "", pathAny = "for any element ", pathAll = "for all elements " })[a.matcher] or ""
          d = d .. ("JMESPath query %s returns %s %s"):format(a.argument, tostring(a.expected), how)
        end
        break
      end
    end
    local op_cli
    for cli, o in pairs(cm.by_cli) do if o.name == w.operation then op_cli = cli end end
    d = d .. ("when polling with ``%s``."):format(op_cli or w.operation)
  end
  return d .. (" It will poll every %d seconds until a successful state has been reached. This will exit with "
    .. "a return code of 255 after %d failed checks."):format(w.delay, w.max_attempts)
end

--- `glsrun wait WAITER help`; nil when there is no such waiter.
function M.waiter(cm, name)
  local w = cm.waiters[name]
  if not w then return nil end
  local op
  for _, o in pairs(cm.by_cli) do if o.name == w.operation then op = o end end
  local members = input_members(cm, op)
  return page(name, {
    { "NAME", { "       " .. name .. " -" } },
    { "DESCRIPTION", description(waiter_description(cm, name, w), { "See also: AWS API Documentation" }) },
    { "SYNOPSIS", synopsis(name, members) },
    { "OPTIONS", options(cm, members) },
    { "GLOBAL OPTIONS", global_options() },
    { "OUTPUT", { "       None" } },
  })
end

return M
