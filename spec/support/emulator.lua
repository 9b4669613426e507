-- spec/support/emulator.lua: start `build/glsrun emulator` for a spec.
--
--   local emulator = require "spec.support.emulator"
--   local e = emulator.start{ clock = "virtual", args = { "--region", "us-east-1" },
--                             env = { FAKETIME = "+600s", ... } }
--   e.url       "http://127.0.0.1:PORT" (the first line the emulator printed)
--   e.control   a gameliftstreams.control client for it
--   e.client(opts)   a gls client for it (example key; opts merged in)
--   e.stop()    SIGTERM, waits; returns the exit code
local control = require "gameliftstreams.control"

local M = {}

M.KEY = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function read_first_line(path)
  local f = io.open(path)
  if not f then return nil end
  local line = f:read("l")
  f:close()
  return line
end

function M.start(opts)
  opts = opts or {}
  local out = os.tmpname()
  local argv = { "build/glsrun", "emulator", "--listen", opts.listen or "127.0.0.1:0" }
  if opts.clock then argv[#argv + 1] = "--clock"; argv[#argv + 1] = opts.clock end
  for _, a in ipairs(opts.args or {}) do argv[#argv + 1] = a end
  for i, a in ipairs(argv) do argv[i] = sh_quote(a) end
  -- opts.env: { NAME = value } set for the emulator only
  local names = {}
  for k in pairs(opts.env or {}) do names[#names + 1] = k end
  table.sort(names)
  for i = #names, 1, -1 do table.insert(argv, 1, names[i] .. "=" .. sh_quote(opts.env[names[i]])) end
  if #names > 0 then table.insert(argv, 1, "env") end
  local status_file = out .. ".status"
  -- A subshell records the exit status, so stop() can report it; it lands by
  -- rename, so stop() never reads the file created but not yet written.
  local cmd = ("(%s >%s 2>&1; echo $? >%s.tmp; mv %s.tmp %s) & echo $!")
    :format(table.concat(argv, " "), out, status_file, status_file, status_file)
  local p = assert(io.popen("sh -c " .. sh_quote(cmd)))
  local shell_pid = tonumber(p:read("l"))
  p:close()
  local line
  for _ = 1, 400 do
    line = read_first_line(out)
    if line and line:match("^listening on ") then break end
    if read_first_line(status_file) then break end
    os.execute("sleep 0.025")
  end
  assert(line and line:match("^listening on "), "the emulator did not start: " .. tostring(line))
  local url = line:match("^listening on (%S+)")
  -- The emulator is the subshell's only child.
  local f = assert(io.popen("pgrep -P " .. shell_pid .. " -f 'glsrun emulator'"))
  local pid = tonumber(f:read("l"))
  f:close()
  assert(pid, "no emulator process under " .. tostring(shell_pid))
  local e = { url = url, pid = pid, log = out, control = control.new(url) }

  function e.client(extra)
    local gls = require "gameliftstreams"
    local o = { endpoint_url = url, region = "us-west-2", credentials = M.KEY, max_attempts = 1 }
    for k, v in pairs(extra or {}) do o[k] = v end
    return gls.client(o)
  end

  --- Sends sig (default TERM) and waits; returns the exit code and the output.
  function e.stop(sig)
    os.execute(("kill -%s %d 2>/dev/null"):format(sig or "TERM", pid))
    local code
    for _ = 1, 400 do
      code = read_first_line(status_file)
      if code then break end
      os.execute("sleep 0.025")
    end
    local lf = io.open(out)
    local text = lf and lf:read("a") or ""
    if lf then lf:close() end
    os.remove(out)
    os.remove(status_file)
    return tonumber(code), text
  end
  return e
end

return M
