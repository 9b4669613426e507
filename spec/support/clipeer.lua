-- spec/support/clipeer.lua: run `glsrun ARGS...` and the AWS CLI v2's
-- `aws gameliftstreams ARGS...` with the same arguments and environment
-- (spec/support/cli.lua's), the CLI taught the model, for the differential
-- specs of spec/10-cli.
--
--   local peer = require "spec.support.clipeer"
--   local ok, why = peer.available()     -- false, "no AWS CLI v2 ..." to skip
--   local p = peer.new{ endpoint = e.url, env = { AWS_DEFAULT_OUTPUT = "json" } }
--   p.glsrun(args)  -> { rc =, stdout =, stderr = }
--   p.aws_batch({ args, args, ... }) -> { result, result, ... }
--       all in one python process (awscli_batch.py): the CLI's start-up once
--
-- The AWS CLI learns the model in a scratch HOME (`aws configure add-model`,
-- waiters and paginators copied beside it), as spec/07-emulator/peers_spec.lua.
-- Global options go after the operation's words (glsrun reads them there).
local cjson = require "cjson"
local helper = require "spec.helper"
local clisup = require "spec.support.cli"
local emulator = require "spec.support.emulator"

local quote = helper.quote
local KEY = emulator.KEY
local M = {}

M.AWS = "/usr/bin/aws"
M.PYTHON = "/usr/bin/python3"

local sh = helper.sh

--- true, or false and why the AWS CLI v2 cannot be the peer here.
function M.available()
  local code, out = sh(M.AWS .. " --version 2>&1")
  if code ~= 0 or not out:match("^aws%-cli/2") then
    return false, "no AWS CLI v2 at /usr/bin/aws (apt-get install awscli): differential checks skipped"
  end
  return true
end

local home
--- The scratch HOME holding the model (made once per process).
function M.home()
  if home then return home end
  home = clisup.scratch_home()
  local ref = helper.shared .. "/reference/gameliftstreams/"
  local code, out = sh("HOME=" .. quote(home) .. " " .. M.AWS .. " configure add-model --service-model "
    .. quote("file://" .. ref .. "service-2.json") .. " --service-name gameliftstreams 2>&1")
  assert(code == 0, "aws configure add-model: " .. out)
  local dir = home .. "/.aws/models/gameliftstreams/2018-05-10"
  assert(os.execute("cp " .. quote(ref .. "waiters-2.json") .. " " .. quote(ref .. "paginators-1.json") .. " "
    .. quote(dir .. "/")))
  return home
end

local function environment(opts)
  local env = clisup.env(M.home(), KEY)
  env.AWS_RETRY_MODE = "standard"
  env.AWS_EC2_METADATA_DISABLED = "true"
  for k, v in pairs(opts.env or {}) do env[k] = v or nil end
  return env
end

local function with_globals(args, opts)
  local a = {}
  for i, w in ipairs(args) do a[i] = w end
  if opts.endpoint then
    a[#a + 1] = "--endpoint-url"
    a[#a + 1] = opts.endpoint
  end
  return a
end

local function result(stdout, stderr, rc) return { rc = rc, stdout = stdout, stderr = stderr } end

function M.new(opts)
  opts = opts or {}
  local p = {}
  local env = environment(opts)

  function p.glsrun(args) return result(clisup.run("glsrun", with_globals(args, opts), env)) end

  function p.aws(args) return result(clisup.run("aws", with_globals(args, opts), env)) end

  function p.aws_batch(list)
    local cases = {}
    for i, args in ipairs(list) do
      local a = with_globals(args, opts)
      table.insert(a, 1, "gameliftstreams")
      cases[i] = a
    end
    local tmp = os.tmpname()
    helper.write_file(tmp, cjson.encode(cases))
    local words = {}
    for k, v in pairs(env) do words[#words + 1] = k .. "=" .. quote(v) end
    local out, err = os.tmpname(), os.tmpname()
    local ok = os.execute("env -i " .. table.concat(words, " ") .. " " .. M.PYTHON
      .. " spec/support/awscli_batch.py <" .. tmp .. " >" .. out .. " 2>" .. err)
    local text, errtext = helper.read_file(out), helper.read_file(err)
    os.remove(tmp)
    os.remove(out)
    os.remove(err)
    assert(ok, "awscli_batch.py: " .. errtext)
    return cjson.decode(text)
  end

  return p
end

return M
