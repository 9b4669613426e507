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
local skeleton = require "gameliftstreams.cliskeleton"

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

-- botocore's ParamValidator over the sample response (the Stubber checks it
-- against the output shape): the sample is well typed, so only the minimums
-- (range_check) can fail.
local function validate_sample(cm, shape_name, v, name, errors)
  local shape = cm.shapes[shape_name]
  local function range(n, kind)
    if shape.min and n < shape.min then
      errors[#errors + 1] = ("Invalid %s for parameter %s, value: %s, valid min %s: %s")
        :format(kind, name == "" and "input" or name, tostring(n), kind, tostring(shape.min))
    end
  end
  local t = shape.type
  if t == "structure" then
    for _, m in ipairs(shape.members or {}) do
      if v[m.name] ~= nil then validate_sample(cm, m.shape, v[m.name], name .. "." .. m.name, errors) end
    end
  elseif t == "list" then
    range(#v, "length")
    for i, x in ipairs(v) do validate_sample(cm, shape.member, x, ("%s[%d]"):format(name, i - 1), errors) end
  elseif t == "map" then
    for _, k in ipairs(json.keys(v)) do
      validate_sample(cm, shape.key, k, ("%s (key: %s)"):format(name, k), errors)
      validate_sample(cm, shape.value, v[k], name .. "." .. k, errors)
    end
  elseif t == "string" then
    range(utf8.len(v) or #v, "length")
  elseif t == "integer" or t == "long" or t == "double" or t == "float" then
    range(v, "value")
  end
end

--- The sample response `--generate-cli-skeleton output` prints, or nil and
-- the "Parameter validation failed" text.
function M.output_sample(cm, op)
  local sample = skeleton.output_sample(cm, op)
  local errors = {}
  if op.output then validate_sample(cm, op.output, sample, "", errors) end
  for i, e in ipairs(errors) do errors[i] = e:gsub("parameter %.", "parameter ") end
  if #errors > 0 then return nil, "Parameter validation failed:\n" .. table.concat(errors, "\n") end
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
  end
  local skel = value_of(values, "generate-cli-skeleton")
  if skel == nil then return nil end
  if skel == "input" then
    run.stdout:write(skeleton.input_json(climodel, op))
  elseif skel == "yaml-input" then
    run.stdout:write(skeleton.input_yaml(climodel, op))
  else
    validate(run, op, params)
    local sample, err = M.output_sample(climodel, op)
    if not sample then cli.fail(RC_PARAM, err) end
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
