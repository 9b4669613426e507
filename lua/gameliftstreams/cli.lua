--- gameliftstreams.cli: `glsrun OPERATION [OPTIONS]` and `glsrun wait WAITER
-- [OPTIONS]`, answering as `aws gameliftstreams ...` of the AWS CLI v2 does:
-- same options, same output, same messages, same exit codes.
--
--     local code = require("gameliftstreams.cli").main(argv, sys)
--
-- argv is the command line after `glsrun`; sys (tests) may replace stdout,
-- stderr, getenv and sleep. The reference is awscli 2.9 (clidriver.py,
-- argparser.py, arguments.py, argprocess.py, paramfile.py, errorhandler.py,
-- customizations/paginate.py and waiters.py); each awscli rule lives in one
-- function below, named after the place it copies.
--
-- The usage lines say `aws`, as v2 prints them, so that output is the same
-- byte for byte (a user who typed `glsrun` in place of `aws gameliftstreams`
-- still reads the usage of the command they know).
--
-- Flow: parse (global options, then the operation's, both from tables: the
-- operation's built from climodel) -> resolve settings (options, environment,
-- config file) -> build the parameters (paramfile, JSON/shorthand, scalars) ->
-- call (plain, paginated or waiter) -> output (query, formatter). Failures
-- raise a Failure {rc=, text=} caught once in main, as awscli's error handler
-- chain does.
local climodel = require "gameliftstreams.climodel"
local json = require "gameliftstreams.json"

local M = {}

-- awscli/constants.py
local RC_OK, RC_PARAM, RC_CONFIG, RC_CLIENT, RC_GENERAL = 0, 252, 253, 254, 255

local USAGE = "aws [options] <command> <subcommand> [<subcommand> ...] [parameters]\n"
  .. "To see help text, you can run:\n\n  aws help\n  aws <command> help\n"
  .. "  aws <command> <subcommand> help\n"
M.USAGE = USAGE

---------------------------------------------------------------- failures

local Failure = {}
Failure.__index = Failure
Failure.__tostring = function(f) return f.text end

--- Raises the failure awscli's handler chain turns into "\nTEXT\n" on stderr
-- and exit code rc.
local function fail(rc, text) error(setmetatable({ rc = rc, text = text }, Failure), 0) end
M.fail = fail

-- argparser.CLIArgParser.error: the usage, then "aws: error: MSG".
local function usage_error(msg)
  fail(RC_PARAM, "usage: " .. USAGE .. "\naws: error: " .. msg .. "\n")
end
M.usage_error = usage_error

-- ParamError (argprocess.py).
local function param_error(cli_name, msg)
  fail(RC_PARAM, ("Error parsing parameter '%s': %s"):format(cli_name, msg))
end
M.param_error = param_error

---------------------------------------------------------------- python-isms

-- Python's repr() and str() of JSON values, int() of a word (the cliout
-- branch's modules, shared with the formatters and argprocess).
local clioutput = require "gameliftstreams.clioutput"
local py_repr, py_str = clioutput.pyrepr, clioutput.pystr
M.py_repr = py_repr

--- int(s) as Python reads it, or nil.
local function py_int(s)
  local ok, n = pcall(require("gameliftstreams.argvalue").pyint, s)
  if ok and math.type(n) == "integer" then return n end
  return nil
end

local function int_or_fail(s)
  local n = py_int(s)
  if not n then fail(RC_GENERAL, ("invalid literal for int() with base 10: %s"):format(py_repr(s))) end
  return n
end

--- difflib.SequenceMatcher(None, a, b).ratio() (no junk: the strings here
-- are far shorter than autojunk's 200).
local function seq_ratio(a, b)
  local function matches(alo, ahi, blo, bhi)
    local besti, bestj, bestsize = alo, blo, 0
    local len = {}
    for i = alo, ahi - 1 do
      local newlen = {}
      for j = blo, bhi - 1 do
        if a:byte(i + 1) == b:byte(j + 1) then
          local k = (len[j - 1] or 0) + 1
          newlen[j] = k
          if k > bestsize then besti, bestj, bestsize = i - k + 1, j - k + 1, k end
        end
      end
      len = newlen
    end
    if bestsize == 0 then return 0 end
    return bestsize + matches(alo, besti, blo, bestj)
      + matches(besti + bestsize, ahi, bestj + bestsize, bhi)
  end
  local total = #a + #b
  if total == 0 then return 1 end
  return 2 * matches(0, #a, 0, #b) / total
end

--- difflib.get_close_matches(word, choices, n=3, cutoff=0.8).
local function close_matches(word, choices)
  local scored = {}
  for _, c in ipairs(choices) do
    local r = seq_ratio(c, word)
    if r >= 0.8 then scored[#scored + 1] = { r, c } end
  end
  table.sort(scored, function(x, y)
    if x[1] ~= y[1] then return x[1] > y[1] end
    return x[2] > y[2]
  end)
  local out = {}
  for i = 1, math.min(3, #scored) do out[i] = scored[i][2] end
  return out
end

-- CLIArgParser._check_value: the choices two to a line, and close matches.
local function choice_message(value, choices)
  local lines = { "Invalid choice, valid choices are:\n" }
  for i = 1, #choices, 2 do
    local cur = {}
    for j = i, math.min(i + 1, #choices) do cur[#cur + 1] = ("%-40s"):format(choices[j]) end
    lines[#lines + 1] = table.concat(cur, " | ")
  end
  local possible = close_matches(value, choices)
  if #possible > 0 then
    lines[#lines + 1] = ("\n\nInvalid choice: %s, maybe you meant:\n"):format(py_repr(value))
    for _, w in ipairs(possible) do lines[#lines + 1] = "  * " .. w end
  end
  return table.concat(lines, "\n")
end

local function invalid_choice(what, value, choices)
  usage_error(("argument %s: %s"):format(what, choice_message(value, choices)))
end
M.invalid_choice = invalid_choice

---------------------------------------------------------------- options

-- The global options (awscli/data/cli.json), in its order.
local GLOBALS = {
  { name = "debug", flag = true },
  { name = "endpoint-url" },
  { name = "no-verify-ssl", flag = true },
  { name = "no-paginate", flag = true },
  { name = "output", choices = { "json", "text", "table", "yaml", "yaml-stream" } },
  { name = "query" },
  { name = "profile" },
  { name = "region" },
  { name = "version", flag = true },
  { name = "color", choices = { "on", "off", "auto" } },
  { name = "no-sign-request", flag = true },
  { name = "ca-bundle" },
  { name = "cli-read-timeout", int = true },
  { name = "cli-connect-timeout", int = true },
  { name = "cli-binary-format", choices = { "base64", "raw-in-base64-out" } },
  { name = "no-cli-pager", flag = true },
  { name = "cli-auto-prompt", flag = true },
  { name = "no-cli-auto-prompt", flag = true },
}
M.GLOBALS = GLOBALS

local function shape_of(name) return climodel.shapes[name] end


--- The operation's argument table, in awscli's order: the input members
-- (model order), then the paging arguments (customizations/paginate.py),
-- then what M.extra_arguments adds (cli-input-json, generate-cli-skeleton:
-- the cliextra pieces register there). Each argument: { name = cli name
-- without "--", member = input member (or nil), shape = shape table, list =
-- nargs '*', flag = boolean, paging = "StartingToken"|"PageSize"|"MaxItems",
-- int = argparse int type, required = bool }.
M.extra_arguments = {}

local function argument_table(op)
  local args, by_name = {}, {}
  local function add(a)
    if by_name[a.name] then
      for i, b in ipairs(args) do if b == by_name[a.name] then table.remove(args, i) break end end
    end
    args[#args + 1] = a
    by_name[a.name] = a
  end
  local input = op.input and shape_of(op.input)
  for _, m in ipairs(input and input.members or {}) do
    local s = shape_of(m.shape)
    local a = { name = m.cli, member = m, shape = s, required = m.required,
                list = s.type == "list", flag = s.type == "boolean" }
    add(a)
    if a.flag then add({ name = "no-" .. m.cli, member = m, shape = s, flag = true, negative = true }) end
  end
  local p = op.paginator
  if p then
    add({ name = "starting-token", paging = "StartingToken" })
    if p.limit_key then add({ name = "page-size", paging = "PageSize", int = true }) end
    add({ name = "max-items", paging = "MaxItems", int = true })
  end
  for _, extra in ipairs(M.extra_arguments) do
    local more = extra(op)
    for _, a in ipairs(more or {}) do add(a) end
  end
  return args, by_name
end
M.argument_table = argument_table

-- argparse's classification of a word: an option ("O") or an argument ("A").
local function is_option_word(w)
  if w:sub(1, 1) ~= "-" or w == "-" then return false end
  if w:match("^%-%d+$") or w:match("^%-%d*%.%d+$") then return false end
  if w:find(" ", 1, true) then return false end
  return true
end

--- Finds the argument named by word ("--name" or "--name=value") in one
-- table: exact match, else a unique prefix (argparse's allow_abbrev).
-- Returns arg, explicit value | nil | false, "ambiguous" message.
local function lookup(list, word)
  local name, value = word:match("^%-%-([^=]*)=(.*)$")
  name = name or word:match("^%-%-(.*)$")
  if not name then return nil end
  for _, a in ipairs(list) do
    if a.name == name then return a, value end
  end
  local found = {}
  for _, a in ipairs(list) do
    if a.name:sub(1, #name) == name and #name > 0 then found[#found + 1] = a end
  end
  if #found == 1 then return found[1], value end
  if #found > 1 then
    local names = {}
    for i, a in ipairs(found) do names[i] = "--" .. a.name end
    return false, ("ambiguous option: --%s could match %s"):format(name, table.concat(names, ", "))
  end
  return nil
end

--- Parses argv as awscli's three parsers do in turn (main, service,
-- operation), collecting: globals (name -> value), the command words, the
-- operation's values (arg -> value) and the words nobody knew.
local function take_value(argv, i, word, explicit, a)
  if a.flag then
    if explicit then usage_error(("argument --%s: ignored explicit argument %s"):format(a.name, py_repr(explicit))) end
    return true, i
  end
  if a.list then
    local vals = {}
    if explicit then vals[1] = explicit end
    while argv[i + 1] and not is_option_word(argv[i + 1]) and argv[i + 1] ~= "--" do
      i = i + 1
      vals[#vals + 1] = argv[i]
    end
    return vals, i
  end
  local v = explicit
  if v == nil then
    v = argv[i + 1]
    -- nargs='?' with a const (--generate-cli-skeleton)
    if a.optional and (v == nil or is_option_word(v) or v == "--") then return a.optional, i end
    if v == nil or is_option_word(v) or v == "--" then
      usage_error(("argument %s: expected one argument"):format(word:match("^[^=]*")))
    end
    i = i + 1
  end
  -- PageArgument's argparse type=int
  if a.paging and a.int and not py_int(v) then
    usage_error(("argument --%s: invalid int value: %s"):format(a.name, py_repr(v)))
  end
  return v, i
end

local function check_global(a, v)
  if a.choices then
    local ok = false
    for _, c in ipairs(a.choices) do ok = ok or c == v end
    if not ok then invalid_choice("--" .. a.name, v, a.choices) end
  end
  return v
end

-- Words for the main parser: the global options, wherever they stand.
local function parse_globals(argv)
  local g, rest = {}, {}
  local i = 1
  while i <= #argv do
    local w = argv[i]
    if w == "--" then
      for j = i, #argv do rest[#rest + 1] = argv[j] end
      break
    end
    local a, explicit
    if is_option_word(w) then
      a, explicit = lookup(GLOBALS, w)
      if a == false then usage_error(explicit) end
    end
    if a then
      local v
      v, i = take_value(argv, i, "--" .. a.name, explicit, a)
      g[a.name] = check_global(a, v)
      if a.name == "version" then g.version_at = i end
    else
      rest[#rest + 1] = w
    end
    i = i + 1
  end
  return g, rest
end

-- The operation's parser over what the main parser left.
local function parse_operation(args, words)
  local values, extras, positionals = {}, {}, {}
  local i = 1
  while i <= #words do
    local w = words[i]
    local a, explicit
    if w ~= "--" and is_option_word(w) then
      a, explicit = lookup(args, w)
      if a == false then usage_error(explicit) end
    end
    if a then
      local v
      v, i = take_value(words, i, w, explicit, a)
      if a.negative then v = false end
      -- --x and --no-x share one destination (BooleanArgument): the last wins
      values[a.member and a.member.name or a.name] = { arg = a, value = v }
    elseif w:sub(1, 1) == "-" and w ~= "-" and is_option_word(w) then
      extras[#extras + 1] = w
    else
      positionals[#positionals + 1] = w
    end
    i = i + 1
  end
  return values, extras, positionals
end

---------------------------------------------------------------- settings

--- The profile's section of the shared config file (AWS_CONFIG_FILE or
-- ~/.aws/config) as key -> value: what the CLI itself reads there (output,
-- cli_pager, cli_binary_format, cli_auto_prompt, cli_timestamp_format...).
-- Credentials, region, endpoint, ca_bundle are the C core's to resolve.
local function config_section(getenv, profile)
  local path = getenv("AWS_CONFIG_FILE")
  if not path then
    local home = getenv("HOME")
    if not home then return {} end
    path = home .. "/.aws/config"
  end
  path = path:gsub("^~", getenv("HOME") or "~")
  local f = io.open(path)
  if not f then return {} end
  local want = profile == "default" and "default" or "profile " .. profile
  local out, cur = {}, nil
  for line in f:lines() do
    local sec = line:match("^%s*%[%s*(.-)%s*%]%s*$")
    if sec then
      sec = sec:gsub("%s+", " ")
      cur = (sec == want) or (profile == "default" and sec == "profile default")
    elseif cur and not line:match("^%s*[#;]") then
      local k, v = line:match("^([%w_%-]+)%s*=%s*(.-)%s*$")
      if k and out[k] == nil then out[k] = v end
    end
  end
  f:close()
  return out
end
M.config_section = config_section

local function resolve_settings(g, getenv)
  local profile = g.profile or getenv("AWS_PROFILE") or getenv("AWS_DEFAULT_PROFILE") or "default"
  local conf = config_section(getenv, profile)
  local s = { profile = g.profile, config = conf }
  s.output = g.output or getenv("AWS_DEFAULT_OUTPUT") or conf.output or "json"
  s.pager = getenv("AWS_PAGER") or conf.cli_pager or getenv("PAGER") or "less -R"
  if g["no-cli-pager"] then s.pager = "" end
  s.binary_format = g["cli-binary-format"] or conf.cli_binary_format or "base64"
  local ap = conf.cli_auto_prompt
  local env_ap = getenv("AWS_CLI_AUTO_PROMPT")
  s.auto_prompt = env_ap or ap or "off"
  if g["cli-auto-prompt"] then s.auto_prompt = "on" end
  if g["no-cli-auto-prompt"] then s.auto_prompt = "off" end
  s.timestamp_format = conf.cli_timestamp_format or "iso8601"
  -- botocore's "(reached max retries: N)" needs the attempts the core made
  -- against the ones allowed (the core reads the same two places)
  s.max_attempts = py_int(getenv("AWS_MAX_ATTEMPTS") or conf.max_attempts or "3") or 3
  s.color = g.color or "auto"
  s.paginate = not g["no-paginate"]
  s.debug = g.debug or false
  s.query = g.query
  return s
end

--- The gls client options for these globals.
local function client_options(g)
  -- param_validation: botocore's checks are done here (validate_input),
  -- with botocore's messages; the core's stricter ones (patterns, enums,
  -- max) are the service's to make, as for the AWS CLI.
  local o = { region = g.region, endpoint_url = g["endpoint-url"], profile = g.profile,
              ca_bundle = g["ca-bundle"], param_validation = false }
  if g["no-verify-ssl"] then o.verify_ssl = false end
  if g["no-sign-request"] then o.no_sign_request = true end
  if g["cli-read-timeout"] then o.read_timeout = int_or_fail(g["cli-read-timeout"]) end
  if g["cli-connect-timeout"] then o.connect_timeout = int_or_fail(g["cli-connect-timeout"]) end
  return o
end

---------------------------------------------------------------- parameters

-- The model's shapes as service-2.json writes them, for argvalue.resolve:
-- each made when resolve first asks for it (a call touches a handful of the
-- model's shapes; converting them all cost more than the rest of the call).
local function service_def(defs, sname)
  local s = climodel.shapes[sname]
  if s == nil then return nil end
  local def = { type = s.type }
  if s.type == "structure" then
    def.members = json.object()
    for _, m in ipairs(s.members) do json.set(def.members, m.name, { shape = m.shape, location = m.location }) end
  elseif s.type == "list" then
    def.member = { shape = s.member }
  elseif s.type == "map" then
    def.key, def.value = { shape = s.key }, { shape = s.value }
  end
  defs[sname] = def
  return def
end
local service_shapes = { cache = {}, defs = setmetatable({}, { __index = service_def }) }
local function argvalue_shape(name)
  local argvalue = require "gameliftstreams.argvalue"
  return argvalue.resolve(service_shapes.defs, name, service_shapes.cache)
end

-- Python json.loads's message for text, "" when it parses (a scanner that
-- finds the first error where Python's does).
local function python_json_error(text)
  local pos = 1
  local function lc(p)
    local line, col = 1, p
    for nl in text:sub(1, p - 1):gmatch("()\n") do line = line + 1; col = p - nl end
    return ("line %d column %d (char %d)"):format(line, col, utf8.len(text:sub(1, p - 1)) or p - 1)
  end
  local function err(msg, p) error({ msg = msg .. ": " .. lc(p) }, 0) end
  local function ws() pos = text:find("[^ \t\n\r]", pos) or #text + 1 end
  local value
  local function str()
    local start = pos
    pos = pos + 1
    while true do
      local c = text:sub(pos, pos)
      if c == "" then err("Unterminated string starting at", start) end
      if c == '"' then pos = pos + 1 return end
      if c == "\\" then
        local e = text:sub(pos + 1, pos + 1)
        if e == "u" then
          if not text:sub(pos + 2, pos + 5):match("^%x%x%x%x$") then err("Invalid \\uXXXX escape", pos + 1) end
          pos = pos + 6
        elseif e ~= "" and ('"\\/bfnrt'):find(e, 1, true) then
          pos = pos + 2
        else
          err("Invalid \\escape", pos)
        end
      elseif c:byte() < 32 then
        err("Invalid control character at", pos)
      else
        pos = pos + 1
      end
    end
  end
  function value()
    ws()
    local c = text:sub(pos, pos)
    if c == "{" then
      pos = pos + 1
      ws()
      if text:sub(pos, pos) == "}" then pos = pos + 1 return end
      while true do
        ws()
        if text:sub(pos, pos) ~= '"' then err("Expecting property name enclosed in double quotes", pos) end
        str()
        ws()
        if text:sub(pos, pos) ~= ":" then err("Expecting ':' delimiter", pos) end
        pos = pos + 1
        value()
        ws()
        local d = text:sub(pos, pos)
        pos = pos + 1
        if d == "}" then return end
        if d ~= "," then err("Expecting ',' delimiter", pos - 1) end
        ws()
        if text:sub(pos, pos) ~= '"' then err("Expecting property name enclosed in double quotes", pos) end
      end
    elseif c == "[" then
      pos = pos + 1
      ws()
      if text:sub(pos, pos) == "]" then pos = pos + 1 return end
      while true do
        value()
        ws()
        local d = text:sub(pos, pos)
        pos = pos + 1
        if d == "]" then return end
        if d ~= "," then err("Expecting ',' delimiter", pos - 1) end
      end
    elseif c == '"' then
      str()
    else
      for _, lit in ipairs { "null", "true", "false", "NaN", "Infinity", "-Infinity" } do
        if text:sub(pos, pos + #lit - 1) == lit then pos = pos + #lit return end
      end
      local num = text:match("^-?0", pos) and text:match("^-?0%.?%d*", pos)
        or text:match("^-?[1-9]%d*%.?%d*", pos)
      if not num then err("Expecting value", pos) end
      if num:sub(-1) == "." then num = num:sub(1, -2) end
      pos = pos + #num
      local ex = text:match("^[eE][-+]?%d+", pos)
      if ex then pos = pos + #ex end
    end
  end
  local ok, e = pcall(function()
    value()
    ws()
    if pos <= #text then err("Extra data", pos) end
  end)
  if ok then return "" end
  if type(e) == "table" then return e.msg end
  return tostring(e)
end
M.python_json_error = python_json_error

--- arguments.CLIArgument.add_to_params: paramfile.py's file:// and
-- fileb://, then argprocess.py's shorthand, JSON and scalar rules (all in
-- gameliftstreams.argvalue, from the cliout branch).
local function argument_value(self, a, raw)
  if a.flag then return raw end
  local argvalue = require "gameliftstreams.argvalue"
  local cli = "--" .. a.name
  local text, err = argvalue.load(raw, cli, self.getenv)
  if err then fail(err.rc or RC_PARAM, err.message) end
  local v
  v, err = argvalue.unpack(argvalue_shape(a.member.shape), text or raw, cli)
  if err then
    -- json.loads's own words for where the JSON breaks (argvalue's decoder
    -- words it its own way)
    local head, received = err.message:match(
      "^(Error parsing parameter '[^']*': Invalid JSON: ).-\nJSON received: (.*)$")
    if head then
      local why = python_json_error(received)
      if why ~= "" then fail(RC_PARAM, head .. why .. "\nJSON received: " .. received) end
    end
    fail(err.rc or RC_PARAM, err.message)
  end
  return v
end
M.argument_value = argument_value

--- The call's input (an ordered object) from the parsed values, in the
-- argument table's order, and the paging settings.
local function build_parameters(self, args, values)
  local params, paging = json.object(), {}
  for _, a in ipairs(args) do
    local key = a.member and a.member.name or a.name
    local got = not a.negative and values[key]
    if got then
      if a.paging then
        paging[a.paging] = a.int and py_int(got.value) or got.value
      elseif a.member then
        local v = got.value
        if not a.flag then v = argument_value(self, a, v) end
        json.set(params, a.member.name, v)
      elseif a.to_params then
        a.to_params(params, got.value)
      end
    end
  end
  return params, paging
end

---------------------------------------------------------------- validation

local function py_type(v)
  if v == nil or v == json.null then return "<class 'NoneType'>" end
  if type(v) == "boolean" then return "<class 'bool'>" end
  if type(v) == "string" then return "<class 'str'>" end
  if type(v) == "number" then return math.type(v) == "integer" and "<class 'int'>" or "<class 'float'>" end
  if json.is_array(v) or getmetatable(v) == json.array_mt then return "<class 'list'>" end
  return "<class 'dict'>"
end

local VALID_TYPES = {
  structure = "<class 'dict'>", map = "<class 'dict'>", list = "<class 'list'>, <class 'tuple'>",
  string = "<class 'str'>", integer = "<class 'int'>", long = "<class 'int'>",
  boolean = "<class 'bool'>", double = "<class 'float'>, <class 'decimal.Decimal'>, <class 'int'>",
  blob = "<class 'bytes'>, <class 'bytearray'>, file-like object",
  timestamp = "<class 'datetime.datetime'>, timestamp-string",
}
VALID_TYPES.float = VALID_TYPES.double

local function is_list(v) return type(v) == "table" and (getmetatable(v) == json.array_mt or json.is_array(v)) end
local function is_dict(v)
  return type(v) == "table" and v ~= json.null and getmetatable(v) ~= json.array_mt
    and json.is_object(v)
end

local TYPE_OK = {
  structure = is_dict, map = is_dict, list = is_list,
  string = function(v) return type(v) == "string" end,
  integer = function(v) return math.type(v) == "integer" or type(v) == "boolean" end,
  boolean = function(v) return type(v) == "boolean" end,
  double = function(v) return type(v) == "number" or type(v) == "boolean" end,
  blob = function(v) return type(v) == "string" end,
  timestamp = function(v) return type(v) == "number" or type(v) == "string" end,
}
TYPE_OK.long, TYPE_OK.float = TYPE_OK.integer, TYPE_OK.double

--- botocore.validate.ParamValidator: the same checks (required, unknown,
-- type, min), the same messages, all of them, in botocore's order.
local function validate(s, v, name, errors)
  local shown = name == "" and "input" or name:gsub("^%.", "")
  if not TYPE_OK[s.type](v) then
    errors[#errors + 1] = ("Invalid type for parameter %s, value: %s, type: %s, valid types: %s")
      :format(shown, py_str(v), py_type(v), VALID_TYPES[s.type])
    return
  end
  local function range(n, what)
    if s.min and n < s.min then
      errors[#errors + 1] = what == "length"
        and ("Invalid length for parameter %s, value: %s, valid min length: %s"):format(shown, n, s.min)
        or ("Invalid value for parameter %s, value: %s, valid min value: %s"):format(shown, py_str(n), s.min)
    end
  end
  if s.type == "structure" then
    local by = {}
    local names = {}
    for _, m in ipairs(s.members) do by[m.name] = m; names[#names + 1] = m.name end
    for _, m in ipairs(s.members) do
      if m.required and v[m.name] == nil then
        errors[#errors + 1] = ('Missing required parameter in %s: "%s"'):format(shown, m.name)
      end
    end
    local known = {}
    for _, k in ipairs(json.keys(v)) do
      if not by[k] then
        errors[#errors + 1] = ('Unknown parameter in %s: "%s", must be one of: %s')
          :format(shown, k, table.concat(names, ", "))
      else
        known[#known + 1] = k
      end
    end
    for _, k in ipairs(known) do validate(shape_of(by[k].shape), v[k], name .. "." .. k, errors) end
  elseif s.type == "list" then
    range(#v, "length")
    for i, x in ipairs(v) do validate(shape_of(s.member), x, ("%s[%d]"):format(name, i - 1), errors) end
  elseif s.type == "map" then
    for _, k in ipairs(json.keys(v)) do
      validate(shape_of(s.key), k, ("%s (key: %s)"):format(name, k), errors)
      validate(shape_of(s.value), v[k], name .. "." .. k, errors)
    end
  elseif s.type == "string" then
    range(utf8.len(v) or #v, "length")
  elseif s.type == "integer" or s.type == "long" or s.type == "double" or s.type == "float" then
    range(v == true and 1 or v == false and 0 or v, "value")
  end
end

local function validate_input(op, params)
  if not op.input then return end
  local errors = {}
  validate(shape_of(op.input), params, "", errors)
  if #errors > 0 then fail(RC_PARAM, "Parameter validation failed:\n" .. table.concat(errors, "\n")) end
end
M.validate_input = validate_input

---------------------------------------------------------------- output shaping

-- The local time zone's offset from UTC at epoch second t, as "+HH:MM".
local function utc_offset(t)
  local l = os.date("*t", t)
  local u = os.date("!*t", t)
  u.isdst = l.isdst
  local off = os.time(l) - os.time(u)
  local sign = off < 0 and "-" or "+"
  off = math.abs(off)
  return ("%s%02d:%02d"):format(sign, off // 3600, off % 3600 // 60)
end

--- timestampformat.iso_format: datetime.fromtimestamp(value, tzlocal()).isoformat().
local function iso_timestamp(v)
  if type(v) ~= "number" then
    local n = tonumber(v)
    if not n then return v end
    v = n
  end
  local secs = math.floor(v)
  local us = math.floor((v - secs) * 1e6 + 0.5)
  if us >= 1000000 then secs, us = secs + 1, us - 1000000 end
  local s = os.date("%Y-%m-%dT%H:%M:%S", secs)
  if us > 0 then s = s .. (".%06d"):format(us) end
  return s .. utc_offset(secs)
end
M.iso_timestamp = iso_timestamp

--- The wire value as botocore's rest-json parser gives it: structure
-- members in shape order (unknown and null ones dropped), timestamps as
-- the CLI prints them.
local function parse_shape(s, v, settings)
  if v == nil or v == json.null then return nil end
  local t = s.type
  if t == "structure" then
    local out = json.object()
    for _, m in ipairs(s.members) do
      if not m.location then
        local pv = parse_shape(shape_of(m.shape), v[m.location_name or m.name], settings)
        if pv ~= nil then json.set(out, m.name, pv) end
      end
    end
    return out
  elseif t == "list" then
    local out = json.array()
    local ms = shape_of(s.member)
    for i, x in ipairs(v) do out[i] = parse_shape(ms, x, settings) end
    return out
  elseif t == "map" then
    local out = json.object()
    local vs = shape_of(s.value)
    for _, k in ipairs(json.keys(v)) do json.set(out, k, parse_shape(vs, v[k], settings)) end
    return out
  elseif t == "timestamp" then
    if settings.timestamp_format == "wire" then return v end
    return iso_timestamp(v)
  elseif t == "double" or t == "float" then
    return v + 0.0
  end
  return v
end
M.parse_shape = parse_shape

---------------------------------------------------------------- redaction

--- A copy of v (shape s) with every sensitive member's value replaced by
-- "*** SENSITIVE ***" (for --debug).
local function redact(s, v)
  if v == nil or s == nil then return v end
  if s.sensitive then return "*** SENSITIVE ***" end
  if s.type == "structure" and type(v) == "table" then
    local out = json.object()
    local by = {}
    for _, m in ipairs(s.members) do by[m.location_name or m.name] = m; by[m.name] = m end
    for _, k in ipairs(json.keys(v)) do
      local m = by[k]
      json.set(out, k, m and redact(shape_of(m.shape), v[k]) or v[k])
    end
    return out
  elseif s.type == "list" and type(v) == "table" then
    local out = json.array()
    for i, x in ipairs(v) do out[i] = redact(shape_of(s.member), x) end
    return out
  elseif s.type == "map" and type(v) == "table" then
    local out = json.object()
    for _, k in ipairs(json.keys(v)) do json.set(out, k, redact(shape_of(s.value), v[k])) end
    return out
  end
  return v
end
M.redact = redact

local SECRET_HEADERS = { authorization = true, ["x-amz-security-token"] = true }

---------------------------------------------------------------- the call

local Run = {}
Run.__index = Run

function Run:debug(fmt, ...)
  if not self.settings.debug then return end
  local t = self.sys.clock and self.sys.clock() or os.time()
  self.stderr:write(("%s - MainThread - glsrun.cli - DEBUG - "):format(os.date("%Y-%m-%d %H:%M:%S", t)),
    fmt:format(...), "\n")
end

function Run:client()
  if not self._client then
    local gls = require "gameliftstreams"
    local ok, c = pcall(gls.client, self.client_opts)
    if not ok then fail(RC_GENERAL, (tostring(c):gsub("^[^:]*:%d+: ", ""))) end
    self._client = c
  end
  return self._client
end

-- The signed request a call would send (dry run), for --debug and for the
-- URL in connection errors.
function Run:dry_request(op, text)
  local opts = {}
  for k, v in pairs(self.client_opts) do opts[k] = v end
  opts.dry_run = true
  local gls = require "gameliftstreams"
  local ok, c = pcall(gls.client, opts)
  if not ok then return nil end
  local out = c._c:call(op.name, text)
  c:close()
  return out and json.decode(out)
end

-- botocore's messages for the core's failures (errorhandler.py's chain).
function Run:raise_call_error(op, info, text)
  local code, msg = info.code, info.message or ""
  if info.kind == "service error" or (info.status and info.status >= 300 and code ~= "ConnectionError") then
    local retry = ""
    if info.retryable and (info.attempts or 1) > 1 and info.attempts >= (self.settings.max_attempts or 3) then
      retry = (" (reached max retries: %d)"):format(info.attempts - 1)
    end
    fail(RC_CLIENT, ("An error occurred (%s) when calling the %s operation%s: %s")
      :format(code, op.name, retry, msg ~= "" and msg or "Unknown"))
  end
  if code == "ParamValidation" then fail(RC_PARAM, msg) end
  if code == "NoCredentials" then
    fail(RC_CONFIG, 'Unable to locate credentials. You can configure credentials by running "aws configure".')
  end
  if code == "NoRegion" then
    fail(RC_CONFIG, 'You must specify a region. You can also configure your region by running "aws configure".')
  end
  if code == "ConnectionError" or code == "Timeout" then
    local req = self:dry_request(op, text)
    local url = req and req.url or msg:match('"([^"]*)"') or ""
    if code == "Timeout" then
      fail(RC_GENERAL, ('%s timeout on endpoint URL: "%s"'):format(msg:match("^(%a+)") or "Read", url))
    end
    fail(RC_GENERAL, ('Could not connect to the endpoint URL: "%s"'):format(url))
  end
  fail(RC_GENERAL, msg)
end

--- One call: (op, params) -> parsed output | raises. With raw = true,
-- returns nil, info on failure instead (waiters).
function Run:call(op, params, raw)
  local text = json.encode(params)
  if self.settings.debug then
    local input = op.input and shape_of(op.input)
    self:debug("Calling %s with params: %s", op.name, json.encode(redact(input, params)))
    local req = self:dry_request(op, text)
    if req then
      local hs = {}
      for _, h in ipairs(req.headers or {}) do
        local v = SECRET_HEADERS[h[1]:lower()] and "*** REDACTED ***" or h[2]
        hs[#hs + 1] = ("%s: %s"):format(h[1], v)
      end
      local body = req.body ~= "" and json.decode(req.body) or nil
      self:debug("Sending http request: %s %s, headers: {%s}, body: %s", req.method, req.url,
        table.concat(hs, ", "), body and json.encode(redact(input, body)) or "b''")
    end
  end
  local out, info = self:client()._c:call(op.name, text)
  local output = op.output and shape_of(op.output)
  if self.settings.debug then
    if out then
      local body = json.decode(out)
      self:debug("Response: status %s, request id %s, body: %s", tostring(info and info.status or op.http.code),
        tostring(info and info.request_id), body and json.encode(redact(output, body)) or "")
    else
      self:debug("Response: status %s, request id %s, error %s: %s", tostring(info.status),
        tostring(info.request_id), tostring(info.code), tostring(info.message))
    end
  end
  if not out then
    if raw then return nil, info end
    self:raise_call_error(op, info, text)
  end
  local body = out ~= "" and json.decode(out) or json.object()
  if output then return parse_shape(output, body, self.settings) or json.object() end
  return json.object()
end

---------------------------------------------------------------- pagination

local function b64encode(s)
  local A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return (s:gsub("..?.?", function(c)
    local n = (c:byte(1) << 16) | ((c:byte(2) or 0) << 8) | (c:byte(3) or 0)
    local o = {}
    for i = 1, 4 do
      local k = (n >> (6 * (4 - i))) & 63
      o[i] = A:sub(k + 1, k + 1)
    end
    if #c < 3 then o[4] = "=" end
    if #c < 2 then o[3] = "=" end
    return table.concat(o)
  end))
end

-- base64.b64decode's lenient reading: characters outside the alphabet are
-- dropped; bad padding fails.
local function b64decode(s)
  local A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  local clean = s:gsub("[^%w%+/=]", "")
  local data = clean:gsub("=+$", "")
  if data:find("=", 1, true) or #clean % 4 ~= 0 then return nil end
  local out = {}
  for i = 1, #data, 4 do
    local chunk = data:sub(i, i + 3)
    local n, bits = 0, 0
    for j = 1, #chunk do
      n = (n << 6) | (A:find(chunk:sub(j, j), 1, true) - 1)
      bits = bits + 6
    end
    n = n >> (bits % 8)
    local bytes = bits // 8
    for j = bytes, 1, -1 do out[#out + 1] = string.char((n >> (8 * (j - 1))) & 255) end
  end
  return table.concat(out)
end

-- botocore.paginate.TokenEncoder.encode.
local function encode_token(t)
  return b64encode(json.encode(t))
end

-- PageIterator._parse_starting_token: (next token table, truncation index).
local function parse_starting_token(p, token)
  local decoded = b64decode(token)
  local t = decoded and utf8.len(decoded) and json.decode(decoded)
  if t and json.is_object(t) then
    local index = t.boto_truncate_amount or 0
    local nt = json.object()
    for _, k in ipairs(json.keys(t)) do
      if k ~= "boto_truncate_amount" then json.set(nt, k, t[k]) end
    end
    return nt, index
  end
  -- _parse_starting_token_deprecated: "TOKEN___INDEX" or an opaque token.
  local parts, index = {}, 0
  for part in (token .. "___"):gmatch("(.-)___") do parts[#parts + 1] = part end
  if #parts == 2 then
    local n = py_int(parts[2])
    if n then index = n; parts[2] = nil else parts = { token } end
  end
  if #parts > 1 then fail(RC_GENERAL, "Bad starting token: " .. token) end
  local nt = json.object()
  if parts[1] ~= "None" then json.set(nt, p.input_token, parts[1]) end
  return nt, index
end

--- botocore.paginate.PageIterator, as the CLI drives it: each page (cut
-- by --starting-token's index and --max-items) goes to on_page as botocore
-- yields it; returns the resume token (the NextToken the CLI prints) or nil.
function Run:paginate(op, params, paging, on_page)
  local p = op.paginator
  local kwargs = params
  local starting_truncation = 0
  if paging.StartingToken then
    local nt, index = parse_starting_token(p, paging.StartingToken)
    starting_truncation = index
    for _, k in ipairs(json.keys(nt)) do
      local v = nt[k]
      if v ~= nil and v ~= json.null and v ~= "None" then json.set(kwargs, k, v) end
    end
  end
  if paging.PageSize then json.set(kwargs, p.limit_key, paging.PageSize) end
  local max_items = paging.MaxItems
  local total, first, previous = 0, true, nil
  local function slice(list, from, to)
    local out = json.array()
    for i = from, to do out[#out + 1] = list[i] end
    return out
  end
  while true do
    local page = self:call(op, kwargs)
    if first then
      local all = page[p.result_key]
      if paging.StartingToken and type(all) == "table" then
        json.set(page, p.result_key, slice(all, starting_truncation + 1, #all))
      end
      first = false
    else
      starting_truncation = 0
    end
    local items = page[p.result_key] or {}
    local n = #items
    if max_items and total + n > max_items then
      -- _truncate_response: resume inside this page
      local keep = max_items - total
      json.set(page, p.result_key, slice(items, 1, keep))
      local resume = json.object()
      local cur = kwargs[p.input_token]
      json.set(resume, p.input_token, cur == nil and json.null or cur)
      json.set(resume, "boto_truncate_amount", keep + starting_truncation)
      on_page(page)
      return encode_token(resume)
    end
    on_page(page)
    total = total + n
    local next_token = page[p.output_token]
    if next_token == "" or next_token == json.null then next_token = nil end
    if next_token == nil then return nil end
    if max_items and total == max_items then
      local resume = json.object()
      json.set(resume, p.input_token, next_token)
      return encode_token(resume)
    end
    if previous ~= nil and previous == next_token then
      fail(RC_GENERAL, ("The same next token was received twice: {'%s': '%s'}"):format(p.input_token, next_token))
    end
    json.set(kwargs, p.input_token, next_token)
    previous = next_token
  end
end

---------------------------------------------------------------- waiters

local function waiter_explanation(a)
  if a.matcher == "path" then
    return ('For expression "%s" we matched expected path: "%s"'):format(a.argument, tostring(a.expected))
  elseif a.matcher == "pathAll" then
    return ('For expression "%s" all members matched excepted path: "%s"'):format(a.argument, tostring(a.expected))
  elseif a.matcher == "pathAny" then
    return ('For expression "%s" we matched expected path: "%s" at least once'):format(a.argument, tostring(a.expected))
  elseif a.matcher == "status" then
    return ("Matched expected HTTP status code: %s"):format(tostring(a.expected))
  elseif a.matcher == "error" then
    return ("Matched expected service error code: %s"):format(tostring(a.expected))
  end
  return ('No explanation for unknown waiter type: "%s"'):format(a.matcher)
end

local function search(expr, value)
  local jm = require "gameliftstreams.jmespath"
  return jm.search(expr, value)
end

local function json_equal(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not json_equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

-- botocore.waiter.AcceptorConfig matchers.
local function acceptor_matches(a, out, info)
  if a.matcher == "error" then return info ~= nil and info.code == a.expected end
  if a.matcher == "status" then
    local status = info and info.status or (out and 200)
    return status == a.expected
  end
  if info then return false end
  local r = search(a.argument, out)
  if a.matcher == "path" then return json_equal(r, a.expected) end
  if type(r) ~= "table" or #r == 0 then return false end
  for _, x in ipairs(r) do
    local eq = json_equal(x, a.expected)
    if a.matcher == "pathAll" and not eq then return false end
    if a.matcher == "pathAny" and eq then return true end
  end
  return a.matcher == "pathAll"
end

--- botocore.waiter.Waiter.wait; failures raise WaiterError (exit 255).
function Run:wait(w, op, params)
  local sleep = self.sys.sleep or require("gameliftstreams.core").sleep
  local attempts = 0
  local function waiter_error(reason)
    fail(RC_GENERAL, ("Waiter %s failed: %s"):format(w.name, reason))
  end
  while true do
    local out, info = self:call(op, params, true)
    if info and info.kind ~= "service error" and not info.status then self:raise_call_error(op, info, "") end
    attempts = attempts + 1
    local state, matched
    for _, a in ipairs(w.acceptors) do
      if acceptor_matches(a, out, info) then
        state, matched = a.state, a
        break
      end
    end
    if not state and info then
      waiter_error(("An error occurred (%s): %s"):format(info.code or "Unknown", info.message or "Unknown"))
    end
    if state == "success" then return end
    if state == "failure" then
      waiter_error("Waiter encountered a terminal failure state: " .. waiter_explanation(matched))
    end
    if attempts >= w.max_attempts then waiter_error("Max attempts exceeded") end
    sleep(w.delay)
  end
end

---------------------------------------------------------------- output

-- Whether stdout is a terminal (asked once, only when it matters).
function Run:stdout_tty()
  if self._tty == nil then
    if self.sys.isatty ~= nil then self._tty = self.sys.isatty
    else self._tty = self.stdout == io.stdout and os.execute("test -t 1") == true end
  end
  return self._tty
end

-- Where output goes: awscli's pager (AWS_PAGER, cli_pager, PAGER, "less -R";
-- LESS=FRX unless LESS is set) when stdout is a terminal, stdout otherwise.
function Run:out_stream()
  if self._out then return self._out end
  local pager = self.settings.pager
  if pager ~= "" and self:stdout_tty() then
    local cmd = pager
    if not self.getenv("LESS") then cmd = "LESS=FRX " .. cmd end
    local f = io.popen(cmd, "w")
    if f then
      self._out, self._pager = f, f
      return f
    end
  end
  self._out = self.stdout
  return self._out
end

function Run:write(text)
  if text ~= nil and text ~= "" then self:out_stream():write(text) end
end

--- str() of the exception Python's jmespath raises, from the error of
-- gameliftstreams.jmespath (its messages are its own; awscli prints
-- Python's).
local function query_error_text(err, expr)
  local msg = tostring(type(err) == "table" and err.message or err)
  local code = type(err) == "table" and err.code
  if code == "syntax" then
    if msg:match("^incomplete expression") then
      return ('Invalid jmespath expression: Incomplete expression:\n"%s"\n%s^'):format(expr, (" "):rep(#expr + 1))
    end
    if msg == "empty expression" then return "Invalid JMESPath expression: cannot be empty." end
    local reason, ttype, value, pos = msg:match("^(.-): unexpected (%S+) '(.*)' at position (%d+)$")
    if reason then
      pos = tonumber(pos)
      if reason == "unexpected token" then
        reason = "Unexpected token: " .. value
      elseif reason == "expected an identifier, '[' or '{' after '.'" then
        reason = ("Expecting: ['quoted_identifier', 'unquoted_identifier', 'lbracket', 'lbrace'], got: %s")
          :format(ttype)
      end
      return ('%s: Parse error at column %d, token "%s" (%s), for expression:\n"%s"\n%s^')
        :format(reason, pos, value, ttype:upper(), expr, (" "):rep(pos + 1))
    end
    local lex, lpos = msg:match("^(.-) at position (%d+)$")
    if lex then
      return ("Bad jmespath expression: %s:\n%s\n%s^"):format(lex:gsub("^%l", string.upper), expr,
        (" "):rep(tonumber(lpos)))
    end
  elseif code == "unknown-function" then
    return (msg:gsub("^unknown", "Unknown"))
  elseif code == "invalid-arity" then
    local name, least, n, got = msg:match("^(.-)%(%) takes (%a* ?%a*) ?(%d+) arguments?, got (%d+)$")
    if name then
      n = tonumber(n)
      return ("Expected %s%d %s for function %s(), received %s"):format(least ~= "" and least .. " " or "", n,
        n == 1 and "argument" or "arguments", name, got)
    end
  elseif code == "invalid-type" then
    local name, value, types, got = msg:match(
      "^in function (.-)%(%), invalid type for value: (.*), expected one of: (.*), received: (.*)$")
    if name then
      local v = json.decode(value)
      local list = {}
      for t in types:gmatch("[^, ]+") do list[#list + 1] = py_repr(t) end
      return ('In function %s(), invalid type for value: %s, expected one of: [%s], received: "%s"')
        :format(name, v ~= nil and py_str(v) or value, table.concat(list, ", "), got)
    end
  end
  return msg
end
M.query_error_text = query_error_text

-- clioutput's options: formatter.py's query (on the full result, per page
-- for text), the table's title and colour.
function Run:output_options()
  local s = self.settings
  local o = { title = self.op and self.op.name, result_keys = self.op and self.op.paginator
    and { self.op.paginator.result_key } or nil }
  if s.query then
    local jm = require "gameliftstreams.jmespath"
    o.query = function(v) return jm.search(s.query, v) end
  end
  if s.output == "table" then
    o.tty = s.color ~= "off" and self:stdout_tty() or false
    o.color = s.color == "on" or (s.color == "auto" and o.tty)
    o.pager = o.tty and s.pager ~= ""
  end
  return o
end

-- What a formatter gives: text to write, or nil, err: what reached stdout
-- before, then the exception awscli's main prints (exit 255).
function Run:emit(text, err)
  if text then return self:write(text) end
  self:write(err.output)
  if err.code and err.code ~= "FormatError" then
    fail(RC_GENERAL, query_error_text(err, self.settings.query or ""))
  end
  fail(RC_GENERAL, tostring(err.message or err))
end

--- One response (not paginated) through the output format.
function Run:output(response)
  self:emit(clioutput.format(self.settings.output, response, self:output_options()))
end

--- A paginated call through the output format, page by page.
function Run:output_pages(op, params, paging)
  local w = clioutput.new(self.settings.output, self:output_options())
  local resume = self:paginate(op, params, paging, function(page) self:emit(w:page(page)) end)
  self:emit(w:finish(resume))
end

---------------------------------------------------------------- main

local cli_name = {}
for cli, op in pairs(climodel.by_cli) do cli_name[op.name] = cli end

local function operation_names()
  local names = {}
  for i, n in ipairs(climodel.operations) do names[i] = cli_name[n] end
  return names
end

local function waiter_names()
  local names = {}
  for k in pairs(climodel.waiters) do names[#names + 1] = k end
  table.sort(names)
  return names
end

--- Hooks other pieces fill in (cliextra): help(run, op) -> exit code, and
-- prepare(run, op, args, values) run before the parameters are built
-- (--cli-input-json, --generate-cli-skeleton, --cli-auto-prompt).
M.hooks = {}

local function run_command(self, argv)
  self.argv = argv
  local g, words = parse_globals(argv)
  self.globals = g
  if g.version then
    local core = require "gameliftstreams.core"
    self.stdout:write(("glsrun/%s %s\n"):format(core._VERSION or "?", _VERSION))
    return RC_OK
  end
  -- the service parser: the operation
  local opname = nil
  for i, w in ipairs(words) do
    if not is_option_word(w) or w == "--" then opname = w; table.remove(words, i) break end
  end
  if opname == nil then usage_error("the following arguments are required: operation") end
  local choices = operation_names()
  choices[#choices + 1] = "wait"
  choices[#choices + 1] = "help"
  local op, waiter
  if opname == "wait" then
    local wname
    for i, w in ipairs(words) do
      if not is_option_word(w) then wname = w; table.remove(words, i) break end
    end
    if wname == nil then
      fail(RC_PARAM, "usage: aws [options] gameliftstreams wait <subcommand> [parameters]\n"
        .. "aws: error: too few arguments")
    end
    if wname == "help" and M.hooks.help then return M.hooks.help(self, "wait") end
    waiter = climodel.waiters[wname]
    if not waiter then
      invalid_choice("subcommand", wname, waiter_names())
    end
    op = climodel.by_cli[cli_name[waiter.operation]]
  elseif opname == "help" then
    if M.hooks.help then return M.hooks.help(self, nil) end
    usage_error("help is not available in this version")
  else
    op = climodel.by_cli[opname]
    if not op then invalid_choice("operation", opname, choices) end
  end
  self.op, self.waiter = op, waiter
  local args = argument_table(op)
  if waiter then
    -- a waiter has its operation's arguments, without the paging ones
    local kept = {}
    for _, a in ipairs(args) do if not a.paging then kept[#kept + 1] = a end end
    args = kept
  end
  self.args = args
  local values, extras, positionals = parse_operation(args, words)
  self.values = values
  if positionals[1] == "help" and M.hooks.help then return M.hooks.help(self, op) end
  if M.hooks.prepare then
    local code = M.hooks.prepare(self, op, args, values)
    if code then return code end
  end
  -- argparse: the required arguments, in the table's order
  if not self.skip_required then
    local missing = {}
    for _, a in ipairs(args) do
      if a.required and values[a.member and a.member.name or a.name] == nil then
        missing[#missing + 1] = "--" .. a.name
      end
    end
    if #missing > 0 then usage_error("the following arguments are required: " .. table.concat(missing, ", ")) end
  end
  for _, w in ipairs(positionals) do extras[#extras + 1] = w end
  if #extras > 0 then
    fail(RC_PARAM, "usage: " .. USAGE .. "\nUnknown options: " .. table.concat(extras, ", ") .. "\n")
  end
  self.settings = resolve_settings(g, self.getenv)
  if self.settings.query then
    local jm = require "gameliftstreams.jmespath"
    if jm.compile then
      local ok, err = jm.compile(self.settings.query)
      if not ok then
        fail(RC_PARAM, ("Bad value for --query %s: %s"):format(self.settings.query,
          query_error_text(err, self.settings.query)))
      end
    end
  end
  self.client_opts = client_options(g)
  local params, paging = build_parameters(self, args, values)
  if self.extra_params then
    for _, k in ipairs(json.keys(self.extra_params)) do
      if params[k] == nil then json.set(params, k, self.extra_params[k]) end
    end
  end
  self.params = params
  if M.hooks.before_call then
    local code = M.hooks.before_call(self, op, params)
    if code then return code end
  end
  validate_input(op, params)
  if waiter then
    self:wait(waiter, op, params)
    return RC_OK
  end
  -- customizations/paginate.py: a manual --next-token/--max-results turns
  -- pagination off; --no-paginate refuses the paging arguments.
  local p = op.paginator
  local paginate = self.settings.paginate and p ~= nil
  if p and (params[p.input_token] ~= nil or (p.limit_key and params[p.limit_key] ~= nil)) then paginate = false end
  if p and not paginate then
    local used = {}
    for _, k in ipairs { { "StartingToken", "starting-token" }, { "PageSize", "page-size" },
                         { "MaxItems", "max-items" } } do
      if paging[k[1]] then used[#used + 1] = "--" .. k[2] end
    end
    if #used > 0 then
      fail(RC_PARAM, "Cannot specify --no-paginate along with pagination arguments: " .. table.concat(used, ", "))
    end
  end
  if paginate then
    self:output_pages(op, params, paging)
  else
    self:output(self:call(op, params))
  end
  return RC_OK
end

--- Runs one command line; returns the exit code.
function M.main(argv, sys)
  sys = sys or {}
  local self = setmetatable({
    sys = sys,
    stdout = sys.stdout or io.stdout,
    stderr = sys.stderr or io.stderr,
    getenv = sys.getenv or os.getenv,
    settings = { debug = false },
  }, Run)
  for _, w in ipairs(argv) do if w == "--debug" then self.settings.debug = true end end
  local ok, code = xpcall(run_command, function(e)
    if getmetatable(e) == Failure then return e end
    return debug.traceback(e, 2)
  end, self, argv)
  if self._client then self._client:close() end
  if self._pager then self._pager:close() end
  if ok then
    self.stdout:flush()
    return code
  end
  if getmetatable(code) == Failure then
    self.stdout:flush()
    self.stderr:write("\n", code.text, "\n")
    self.stderr:flush()
    return code.rc
  end
  if tostring(code):find("interrupted!", 1, true) then
    self.stdout:write("\n")
    return 130
  end
  self.stderr:write("\n", tostring(code), "\n")
  return RC_GENERAL
end

-- --cli-input-*, --generate-cli-skeleton, help, --cli-auto-prompt
require("gameliftstreams.cliextra").install(M)

return M
