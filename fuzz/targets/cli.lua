-- fuzz/targets/cli.lua - `glsrun OPERATION [OPTIONS]`, the AWS CLI's command
-- line as gameliftstreams.cli parses it: global options, operation names,
-- every option of every operation (shorthand, JSON, file:// values, lists,
-- maps, blobs, timestamps), --cli-input-json/yaml, --generate-cli-skeleton,
-- --query and the output formats, waiters, help.
--
-- Input: the arguments, one per line; then optionally a NUL byte and the
-- content of the one readable file, /fuzz/data (file:///fuzz/data,
-- fileb:///fuzz/data).
--
-- Nothing leaves the process: the client is made with dry_run (the "output"
-- of every call is the signed request it would send), explicit credentials
-- and a fixed environment; io.open sees only /fuzz/data, io.popen and
-- os.execute do nothing (no pager, no prompt, no terminal).
--
-- Bugs (raised as {bug=}): main raising; an exit code outside the AWS CLI's
-- (0, 130, 252, 253, 254, 255); an internal error (a Lua error with its
-- traceback instead of a message); the secret key in the output.
local KEY = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }
local ENV = { AWS_DEFAULT_REGION = "us-west-2", AWS_CONFIG_FILE = "/fuzz/none/config",
              AWS_SHARED_CREDENTIALS_FILE = "/fuzz/none/credentials", HOME = "/fuzz/none",
              AWS_PAGER = "", AWS_CLI_AUTO_PROMPT = "off", AWS_EC2_METADATA_DISABLED = "true" }

local function bug(fmt, ...) error({ bug = fmt:format(...) }, 2) end

-- the sandbox: one virtual file, no processes (writing io's and os's
-- fields is the point here)
-- luacheck: push ignore 122 212/self
local data_file = ""
local function fake_file(content)
  local pos = 1
  local f = {}
  function f:read(fmt)
    fmt = fmt or "l"
    if pos > #content then return fmt == "a" and "" or nil end
    if fmt == "a" or fmt == "*a" then
      local s = content:sub(pos)
      pos = #content + 1
      return s
    end
    if type(fmt) == "number" then
      local s = content:sub(pos, pos + fmt - 1)
      pos = pos + fmt
      return s
    end
    local line = content:match("^[^\n]*", pos)
    pos = pos + #line + 1
    return line
  end
  function f:lines() return function() return f:read("l") end end
  function f:close() return true end
  function f:seek() return pos - 1 end
  return f
end
io.open = function(path)
  if path == "/fuzz/data" then return fake_file(data_file) end
  return nil, tostring(path) .. ": No such file or directory", 2
end
io.popen = function() return nil, "no processes while fuzzing" end
os.execute = function() return nil, "exit", 1 end
io.read = function() return nil end
io.lines = function() error("no files while fuzzing") end
-- luacheck: pop

local gls = require "gameliftstreams"
local real_client = gls.client
gls.client = function(opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.dry_run = true
  o.environment = ENV
  o.max_attempts = 1
  if not o.no_sign_request then o.credentials = KEY end
  return real_client(o)
end
local cli = require "gameliftstreams.cli"

local CODES = { [0] = true, [130] = true, [252] = true, [253] = true, [254] = true, [255] = true }

local function sink()
  local parts = {}
  return { write = function(self, ...)
    for _, s in ipairs{ ... } do parts[#parts + 1] = tostring(s) end
    return self
  end, flush = function() end, close = function() end, text = function() return table.concat(parts) end }
end

return function(data)
  local args, file = data:match("^([^%z]*)%z(.*)$")
  if not args then args, file = data, "" end
  data_file = file
  local argv = {}
  for line in (args .. "\n"):gmatch("([^\n]*)\n") do
    if #argv >= 64 then break end
    argv[#argv + 1] = line
  end
  if argv[#argv] == "" then argv[#argv] = nil end
  local out, err = sink(), sink()
  local sys = { stdout = out, stderr = err, getenv = function(k) return ENV[k] end,
                isatty = function() return false end, sleep = function() end, clock = function() return 0 end }
  local ok, code = pcall(cli.main, argv, sys)
  if not ok then
    if type(code) == "table" then error(code, 0) end -- the budget's kill, or a {bug=} from below
    bug("cli.main raised: %s", tostring(code))
  end
  if not CODES[code] then bug("exit code %s", tostring(code)) end
  local etext = err.text()
  if code == 255 and etext:find("stack traceback:", 1, true) then
    bug("an internal error: %s", etext:sub(1, 600))
  end
  if not data:find(KEY.secret_access_key, 1, true) then
    if out.text():find(KEY.secret_access_key, 1, true) or etext:find(KEY.secret_access_key, 1, true) then
      bug("the secret key is in the output")
    end
  end
end
