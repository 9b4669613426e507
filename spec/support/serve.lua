-- spec/support/serve.lua: start `build/glsrun serve` for a spec.
--
--   local serve = require "spec.support.serve"
--   local s = serve.start{ policy = "examples/policies/default.lua", endpoint_url = emu.url,
--                          args = { "--max-body", "1024" } }
--   opts.env       { NAME = value } more environment for it
--   opts.credentials  { access_key_id =, secret_access_key =, session_token = }
--                  instead of the emulator's example key
--   opts.wrap      argv put before build/glsrun (valgrind ...); opts.start_seconds
--                  how long to wait for its first line (default 10)
--   s.url          "http://127.0.0.1:PORT" (from its "listening on URL" line)
--   s.request{ method =, path =, body = (a string, or a table sent as JSON), headers = }
--                  -> status, decoded JSON body (or the raw text), headers
--   s.stderr()     what it logged so far
--   s.stop(sig)    SIGTERM (default) or another signal, waits; returns the exit
--                  code, stdout and stderr (again the same when called again)
-- Credentials: the emulator's example key through the environment (opts.env:
-- more variables, or others in their place: { AWS_ACCESS_KEY_ID = "" }), region
-- us-west-2; --stream-group and --application: the emulator's (defaults =
-- false leaves them out).
local core = require "gameliftstreams.core"
local cjson = require "cjson"
local emulator = require "spec.support.emulator"

local M = {}

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function M.start(opts)
  local out = os.tmpname()
  local err, status_file = out .. ".err", out .. ".status"
  local argv = { "build/glsrun", "serve", opts.policy or "examples/policies/default.lua",
                 "--listen", opts.listen or "127.0.0.1:0", "--region", "us-west-2" }
  if opts.endpoint_url then
    argv[#argv + 1] = "--endpoint-url"
    argv[#argv + 1] = opts.endpoint_url
  end
  -- the emulator's stream group and application, unless the spec says otherwise
  if opts.defaults ~= false then
    for _, a in ipairs({ "--stream-group", "sg-1AB2C3De4", "--application", "a-9ZY8X7Wv6" }) do
      argv[#argv + 1] = a
    end
  end
  for _, a in ipairs(opts.args or {}) do argv[#argv + 1] = a end
  for i = #(opts.wrap or {}), 1, -1 do table.insert(argv, 1, opts.wrap[i]) end
  for i, a in ipairs(argv) do argv[i] = q(a) end
  local key = opts.credentials or emulator.KEY
  local env = ("AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_SESSION_TOKEN=%s AWS_PROFILE= ")
    :format(q(key.access_key_id), q(key.secret_access_key), q(key.session_token or ""))
  for name, value in pairs(opts.env or {}) do env = env .. name .. "=" .. q(value) .. " " end
  -- the subshell lets go of our stdio, so a server left running cannot hold
  -- busted's output open; the exit code lands by rename, so a reader never
  -- sees the file created but not yet written
  local cmd = ("(env %s %s >%s 2>%s; echo $? >%s.tmp; mv %s.tmp %s) </dev/null >/dev/null 2>&1 & echo $!")
    :format(env, table.concat(argv, " "), out, err, status_file, status_file, status_file)
  local p = assert(io.popen("sh -c " .. q(cmd)))
  local shell_pid = tonumber(p:read("l"))
  p:close()
  local line
  for _ = 1, (opts.start_seconds or 10) * 40 do
    line = (read(out) or ""):match("^([^\n]*)\n")
    if line or read(status_file) then break end
    os.execute("sleep 0.025")
  end
  if not (line and line:match("^listening on ")) then
    error("glsrun serve did not start: " .. tostring(read(out)) .. tostring(read(err)))
  end
  local f = assert(io.popen("pgrep -P " .. shell_pid .. " -f 'glsrun serve'"))
  local pid = tonumber(f:read("l"))
  f:close()
  assert(pid, "no glsrun serve process under " .. tostring(shell_pid))
  local s = { url = line:match("^listening on (%S+)"), pid = pid }

  function s.request(r)
    local body, headers = r.body, r.headers or {}
    if type(body) == "table" then
      body = cjson.encode(body)
      headers["Content-Type"] = headers["Content-Type"] or "application/json"
    end
    local st, text, h = core.http_request{ method = r.method or "GET", url = s.url .. r.path,
                                           body = body, headers = headers, timeout = r.timeout or 30 }
    assert(st, text)
    local ok, doc = pcall(cjson.decode, text)
    return st, (ok and text ~= "") and doc or text, h
  end

  function s.stderr() return read(err) or "" end

  local stopped
  function s.stop(sig)
    if stopped then return table.unpack(stopped) end
    os.execute(("kill -%s %d 2>/dev/null"):format(sig or "TERM", pid))
    local code
    for _ = 1, (opts.start_seconds or 10) * 40 do
      code = read(status_file)
      if code then break end
      os.execute("sleep 0.025")
    end
    local o, e = read(out) or "", read(err) or ""
    os.remove(out)
    os.remove(err)
    os.remove(status_file)
    stopped = { tonumber(code), o, e }
    return tonumber(code), o, e
  end
  return s
end

return M
