-- spec/support/clipeer.lua: run `glsrun ARGS...` and the AWS CLI v2's
-- `aws gameliftstreams ARGS...` with the same arguments and environment, for
-- the differential specs of spec/10-cli.
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

local quote = helper.quote
local M = {}

M.AWS = "/usr/bin/aws"
M.PYTHON = "/usr/bin/python3"

local function sh(cmd)
  local f = assert(io.popen(cmd))
  local out = f:read("a")
  local ok, _, code = f:close()
  return ok and 0 or code, out
end

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
  home = os.tmpname()
  os.remove(home)
  assert(os.execute("mkdir -p " .. quote(home)))
  helper.write_file(home .. "/config", "")
  helper.write_file(home .. "/credentials", "")
  local ref = helper.shared .. "/reference/gameliftstreams/"
  local code, out = sh("HOME=" .. quote(home) .. " " .. M.AWS .. " configure add-model --service-model "
    .. quote("file://" .. ref .. "service-2.json") .. " --service-name gameliftstreams 2>&1")
  assert(code == 0, "aws configure add-model: " .. out)
  local dir = home .. "/.aws/models/gameliftstreams/2018-05-10"
  assert(os.execute("cp " .. quote(ref .. "waiters-2.json") .. " " .. quote(ref .. "paginators-1.json") .. " "
    .. quote(dir .. "/")))
  return home
end

local function env_prefix(opts)
  local h = M.home()
  local env = {
    PATH = os.getenv("PATH"), HOME = h,
    AWS_ACCESS_KEY_ID = "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    AWS_DEFAULT_REGION = "us-west-2", AWS_RETRY_MODE = "standard",
    AWS_PAGER = "", AWS_EC2_METADATA_DISABLED = "true",
    AWS_CONFIG_FILE = h .. "/config", AWS_SHARED_CREDENTIALS_FILE = h .. "/credentials",
  }
  for k, v in pairs(opts.env or {}) do env[k] = v or nil end
  local parts = { "env -i" }
  for k, v in pairs(env) do parts[#parts + 1] = k .. "=" .. quote(v) end
  return table.concat(parts, " ")
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

local function run(cmd)
  local out, err = os.tmpname(), os.tmpname()
  local ok, _, code = os.execute(cmd .. " >" .. out .. " 2>" .. err)
  local r = { rc = ok and 0 or code, stdout = helper.read_file(out), stderr = helper.read_file(err) }
  os.remove(out)
  os.remove(err)
  return r
end

function M.new(opts)
  opts = opts or {}
  local p = {}
  local prefix = env_prefix(opts)

  function p.glsrun(args)
    local q = {}
    for i, w in ipairs(with_globals(args, opts)) do q[i] = quote(w) end
    return run(prefix .. " build/glsrun " .. table.concat(q, " ") .. " </dev/null")
  end

  function p.aws(args)
    local q = {}
    for i, w in ipairs(with_globals(args, opts)) do q[i] = quote(w) end
    return run(prefix .. " " .. M.AWS .. " gameliftstreams " .. table.concat(q, " ") .. " </dev/null")
  end

  function p.aws_batch(list)
    local cases = {}
    for i, args in ipairs(list) do
      local a = with_globals(args, opts)
      table.insert(a, 1, "gameliftstreams")
      cases[i] = a
    end
    local tmp = os.tmpname()
    helper.write_file(tmp, cjson.encode(cases))
    local r = run(prefix .. " " .. M.PYTHON .. " spec/support/awscli_batch.py <" .. tmp)
    os.remove(tmp)
    assert(r.rc == 0, "awscli_batch.py: " .. r.stderr)
    return cjson.decode(r.stdout)
  end

  return p
end

return M
