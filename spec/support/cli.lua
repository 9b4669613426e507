-- spec/support/cli.lua: run `build/glsrun OPERATION ...` (and, for the
-- differential spec, `/usr/bin/aws gameliftstreams ...`) in a clean
-- environment with a scratch HOME.
--
--   local clisup = require "spec.support.cli"
--   local home = clisup.scratch_home()      -- empty config and credentials
--   local env = clisup.env(home, KEY)       -- credentials and region by env
--   local out, err, code = clisup.run("glsrun", argv, env)
local helper = require "spec.helper"

local quote = helper.quote
local M = {}

--- A new HOME with empty ~/config and ~/credentials (AWS_CONFIG_FILE and
-- AWS_SHARED_CREDENTIALS_FILE of M.env point there).
function M.scratch_home()
  local home = os.tmpname()
  os.remove(home)
  assert(os.execute("mkdir -p " .. quote(home)))
  helper.write_file(home .. "/config", "")
  helper.write_file(home .. "/credentials", "")
  return home
end

--- The environment both tools run in: nothing inherited but PATH; UTC; no
-- pager; key and region by environment variables.
function M.env(home, key)
  return {
    HOME = home, PATH = os.getenv("PATH"), TZ = "UTC", LANG = "C.UTF-8", AWS_PAGER = "",
    AWS_ACCESS_KEY_ID = key.access_key_id, AWS_SECRET_ACCESS_KEY = key.secret_access_key,
    AWS_DEFAULT_REGION = "us-west-2",
    AWS_CONFIG_FILE = home .. "/config", AWS_SHARED_CREDENTIALS_FILE = home .. "/credentials",
  }
end

--- Runs tool ("glsrun", or "aws" for /usr/bin/aws gameliftstreams) with argv
-- under exactly env; returns stdout, stderr, exit code.
function M.run(tool, argv, env)
  local words = {}
  for k, v in pairs(env) do
    if v then words[#words + 1] = k .. "=" .. quote(v) end
  end
  table.sort(words)
  local cmd = { "env -i", table.concat(words, " ") }
  cmd[#cmd + 1] = tool == "aws" and "/usr/bin/aws gameliftstreams" or "build/glsrun"
  for _, a in ipairs(argv) do cmd[#cmd + 1] = quote(a) end
  local o, r = os.tmpname(), os.tmpname()
  local ok, _, code = os.execute(table.concat(cmd, " ") .. " >" .. o .. " 2>" .. r)
  local out, err = helper.read_file(o), helper.read_file(r)
  os.remove(o)
  os.remove(r)
  return out, err, ok and 0 or code
end

return M
