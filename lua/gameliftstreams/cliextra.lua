-- gameliftstreams.cliextra: hooks the pieces around the AWS CLI's calls into
-- gameliftstreams.cli (the driver): --cli-input-json/--cli-input-yaml and
-- --generate-cli-skeleton (gameliftstreams.cliskeleton), the help pages
-- (gameliftstreams.clihelp) and --cli-auto-prompt (gameliftstreams.cliprompt).
--
--   require("gameliftstreams.cliextra").install(cli)   -- cli.lua does it once
--
-- Where awscli does each step (clidriver.py ServiceOperation.__call__):
--   building the parser     --cli-input-*/--generate-cli-skeleton written
--                           literally in the words turn off the required
--                           checks (OverrideRequiredArgsArgument), except
--                           `--generate-cli-skeleton output`
--   calling-command         the cli-input values go under the command line's,
--                           then the skeleton is printed instead of the call
local json = require "gameliftstreams.json"
local climodel = require "gameliftstreams.climodel"
-- cliskeleton (and its YAML comments table) only for the commands using it:
-- every glsrun OPERATION loads this file, and starts in milliseconds.
local skeleton = setmetatable({}, { __index = function(t, k)
  local m = require "gameliftstreams.cliskeleton"
  setmetatable(t, { __index = m })
  return m[k]
end })

local M = {}

local RC_OK, RC_PARAM = 0, 252

local cli -- the driver module, set by install

local SKELETON_CHOICES = { "input", "output", "yaml-input" }

local function extra_arguments()
  return {
    { name = "cli-input-json", cli_input = "json" },
    { name = "cli-input-yaml", cli_input = "yaml" },
    { name = "generate-cli-skeleton", optional = "input", choices = SKELETON_CHOICES },
  }
end

local function value_of(values, name)
  local v = values[name]
  return v and v.value
end

-------------------------------------------------------------------- validation
-- botocore/validate.py ParamValidator, for what the command line cannot
-- produce but --cli-input-json/yaml can (any JSON type anywhere) and for
-- the sample response (the Stubber validates it against the output shape):
-- the same checks in the same order, with Python's str() of the values.

local function py_str(v, nested)
  local tv = type(v)
  if v == json.null then return "None" end
  if tv == "boolean" then return v and "True" or "False" end
  if tv == "number" then return math.type(v) == "integer" and tostring(v) or json.float_repr(v) end
  if tv == "string" then return nested and cli.py_repr(v) or v end
  local parts = {}
  if json.is_array(v) then
    for i, x in ipairs(v) do parts[i] = py_str(x, true) end
    return "[" .. table.concat(parts, ", ") .. "]"
  end
  for _, k in ipairs(json.keys(v)) do parts[#parts + 1] = cli.py_repr(k) .. ": " .. py_str(v[k], true) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local function py_class(v)
  local tv = type(v)
  if v == json.null then return "NoneType" end
  if tv == "boolean" then return "bool" end
  if tv == "number" then return math.type(v) == "integer" and "int" or "float" end
  if tv == "string" then return "str" end
  return json.is_array(v) and "list" or "dict"
end

local VALID = {
  structure = { dict = true }, map = { dict = true }, list = { list = true }, string = { str = true },
  integer = { int = true, bool = true }, long = { int = true, bool = true }, boolean = { bool = true },
  double = { float = true, int = true, bool = true }, float = { float = true, int = true, bool = true },
}
local VALID_NAMES = {
  structure = "<class 'dict'>", map = "<class 'dict'>", list = "<class 'list'>, <class 'tuple'>",
  string = "<class 'str'>", integer = "<class 'int'>", long = "<class 'int'>", boolean = "<class 'bool'>",
  double = "<class 'float'>, <class 'decimal.Decimal'>, <class 'int'>",
  float = "<class 'float'>, <class 'decimal.Decimal'>, <class 'int'>",
}

local function pname(name) return name == "" and "input" or name:gsub("^%.", "") end

local function check(cm, shape_name, v, name, errors)
  local shape = cm.shapes[shape_name]
  local t = shape.type
  local function report(fmt, ...) errors[#errors + 1] = fmt:format(...) end
  local function range(n, kind)
    if shape.min and n < shape.min then
      report("Invalid %s for parameter %s, value: %s, valid min %s: %s", kind, pname(name), tostring(n), kind,
        tostring(shape.min))
    end
  end
  if t == "timestamp" then
    if type(v) ~= "string" and type(v) ~= "number" then
      report("Invalid type for parameter %s, value: %s, type: <class '%s'>, valid types: <class "
        .. "'datetime.datetime'>, timestamp-string", pname(name), py_str(v), py_class(v))
    end
    return
  end
  if t == "blob" then
    if type(v) ~= "string" then
      report("Invalid type for parameter %s, value: %s, type: <class '%s'>, valid types: <class 'bytes'>, "
        .. "<class 'bytearray'>, file-like object", pname(name), py_str(v), py_class(v))
    end
    return
  end
  if not VALID[t][py_class(v)] then
    report("Invalid type for parameter %s, value: %s, type: <class '%s'>, valid types: %s", pname(name), py_str(v),
      py_class(v), VALID_NAMES[t])
    return
  end
  if t == "structure" then
    local known = {}
    for _, m in ipairs(shape.members or {}) do
      known[m.name] = m
      if m.required and v[m.name] == nil then
        report('Missing required parameter in %s: "%s"', pname(name), m.name)
      end
    end
    local names
    for _, k in ipairs(json.keys(v)) do
      if not known[k] then
        if not names then
          names = {}
          for i, m in ipairs(shape.members or {}) do names[i] = m.name end
        end
        report('Unknown parameter in %s: "%s", must be one of: %s', pname(name), k, table.concat(names, ", "))
      end
    end
    for _, k in ipairs(json.keys(v)) do
      if known[k] then check(cm, known[k].shape, v[k], name .. "." .. k, errors) end
    end
  elseif t == "list" then
    range(#v, "length")
    for i, x in ipairs(v) do check(cm, shape.member, x, ("%s[%d]"):format(name, i - 1), errors) end
  elseif t == "map" then
    for _, k in ipairs(json.keys(v)) do
      check(cm, shape.key, k, ("%s (key: %s)"):format(name, k), errors)
      check(cm, shape.value, v[k], name .. "." .. k, errors)
    end
  elseif t == "string" then
    range(utf8.len(v) or #v, "length")
  elseif t ~= "boolean" then
    range(v, "value")
  end
end

--- botocore's validation report of v against shape_name, or nil when v is valid.
function M.validate(cm, shape_name, v)
  local errors = {}
  check(cm, shape_name, v, "", errors)
  if #errors == 0 then return nil end
  return "Parameter validation failed:\n" .. table.concat(errors, "\n")
end

--- The sample response `--generate-cli-skeleton output` prints, or nil and
-- the "Parameter validation failed" text.
function M.output_sample(cm, op)
  local sample = skeleton.output_sample(cm, op)
  local err = op.output and M.validate(cm, op.output, sample)
  if err then return nil, err end
  return sample
end

-- before-building-argument-table-parser: the literal option words.
local function prepare(run, _, _, values)
  local words = run.argv or {}
  local skel = value_of(values, "generate-cli-skeleton")
  if skel ~= nil then
    local ok = false
    for _, c in ipairs(SKELETON_CHOICES) do ok = ok or c == skel end
    if not ok then cli.invalid_choice("--generate-cli-skeleton", skel, SKELETON_CHOICES) end
  end
  for i, w in ipairs(words) do
    if w == "--cli-input-json" or w == "--cli-input-yaml" then run.skip_required = true end
    if w == "--generate-cli-skeleton" and words[i + 1] ~= "output" then run.skip_required = true end
  end
  return nil
end

-- botocore's input validation without sending: a dry-run call through the
-- C core, which validates as botocore does.
local function validate(run, op, params)
  local opts = {}
  for k, v in pairs(run.client_opts or {}) do opts[k] = v end
  opts.dry_run = true
  local gls = require "gameliftstreams"
  local ok, c = pcall(gls.client, opts)
  if not ok then return end
  local out, info = c._c:call(op.name, json.encode(params))
  c:close()
  if not out and info and info.code == "ParamValidation" then cli.fail(RC_PARAM, info.message) end
end

-- calling-command: cli-input first (CliInputArgument.add_to_call_parameters),
-- then the skeleton (GenerateCliSkeletonArgument.generate_skeleton).
local function before_call(run, op, params)
  local values = run.values or {}
  local ji, yi = value_of(values, "cli-input-json"), value_of(values, "cli-input-yaml")
  if ji ~= nil or yi ~= nil then
    if ji ~= nil and yi ~= nil then cli.fail(RC_PARAM, skeleton.ONLY_ONE:sub(2, -2)) end
    local loaded, err = skeleton.load_input(ji ~= nil and "json" or "yaml", ji or yi)
    if not loaded then cli.fail(RC_PARAM, err:sub(2, -2)) end
    skeleton.merge(params, loaded)
    local invalid = op.input and M.validate(climodel, op.input, params)
    if invalid then cli.fail(RC_PARAM, invalid) end
  end
  local skel = value_of(values, "generate-cli-skeleton")
  if skel == nil then return nil end
  if skel == "input" then
    run.stdout:write(skeleton.input_json(climodel, op))
  elseif skel == "yaml-input" then
    run.stdout:write(skeleton.input_yaml(climodel, op))
  else
    -- the Stubber checks its response when it is added, before the call
    -- validates the input
    local sample, err = M.output_sample(climodel, op)
    if not sample then cli.fail(RC_PARAM, err) end
    validate(run, op, params)
    run:output(sample)
  end
  return RC_OK
end

-- Help goes to the pager on a terminal (awscli's PosixHelpRenderer: PAGER,
-- else less -R), straight to stdout otherwise.
local function show(run, text)
  local out = run.stdout
  if out == io.stdout and (run.isatty or function() return os.execute("test -t 1") end)() then
    local pager = run.getenv("MANPAGER") or run.getenv("PAGER") or "less -R"
    local p = io.popen(pager, "w")
    if p then
      p:write(text)
      p:close()
      return RC_OK
    end
  end
  out:write(text)
  return RC_OK
end

local function help(run, what)
  local h = require "gameliftstreams.clihelp"
  if what == nil then return show(run, h.service(climodel)) end
  if what == "wait" then return show(run, h.waiters(climodel)) end
  if run.waiter then
    for name, w in pairs(climodel.waiters) do
      if w == run.waiter then return show(run, h.waiter(climodel, name)) end
    end
  end
  return show(run, h.operation(climodel, what))
end

--- Registers the hooks on the driver module cli.
function M.install(driver)
  cli = driver
  cli.extra_arguments[#cli.extra_arguments + 1] = extra_arguments
  cli.hooks.prepare = prepare
  cli.hooks.before_call = before_call
  cli.hooks.help = help
  local ok, prompt = pcall(require, "gameliftstreams.cliprompt")
  if ok then prompt.install(cli) end
end

return M
