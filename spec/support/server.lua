-- spec/support/server.lua: start and drive spec/support/fake_service.py.
--
--   local server_mod = require "spec.support.server"
--   local ok, why = server_mod.available()   -- python3 with botocore?
--   local s = server_mod.start{ tls_cert = f, tls_key = k }  -- opts optional
--   local cs = server_mod.start{ script = "spec/support/cred_servers.py" }  -- credential endpoints
--   s.post(path, table) / s.get(path)   JSON control calls, decoded replies
--   s.url                     "http://127.0.0.1:PORT"
--   s.enqueue{ {status=, headers={}, body="", delay=, drop=} , ... }
--   s.requests()              list of {operation, method, path, query, headers, body, signature_ok, peer}
--   s.reset()
--   s.stop()
local cjson = require "cjson"

local M = {}

local PYTHON = os.getenv("GLS_PYTHON") or "python3"

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local cached
--- true, or false and why: the server needs python3 with botocore.
function M.available()
  if cached == nil then
    local ok = os.execute(PYTHON .. " -c 'import botocore.auth' >/dev/null 2>&1")
    cached = ok and true or false
  end
  if cached then return true end
  return false, PYTHON .. " with botocore was not found"
end

local function curl(args)
  local f = assert(io.popen("curl -sS --max-time 30 " .. args))
  local out = f:read("a")
  local ok = f:close()
  assert(ok, "curl failed: " .. args)
  return out
end

function M.start(opts)
  opts = opts or {}
  local ok, why = M.available()
  assert(ok, why)
  local out = os.tmpname()
  local cmd = PYTHON .. " " .. (opts.script or "spec/support/fake_service.py") .. " --port 0"
  if opts.tls_cert then
    cmd = cmd .. " --tls-cert " .. sh_quote(opts.tls_cert) .. " --tls-key " .. sh_quote(opts.tls_key)
  end
  if opts.no_verify then cmd = cmd .. " --no-verify" end
  assert(os.execute(cmd .. " >" .. out .. " 2>&1 &"))
  local line
  for _ = 1, 200 do
    local f = io.open(out)
    line = f and f:read("l")
    if f then f:close() end
    if line and line:match("^listening on") then break end
    os.execute("sleep 0.05")
  end
  assert(line and line:match("^listening on"), "the test server did not start: " .. tostring(line))
  local url, pid = line:match("^listening on (%S+) pid=(%d+)")
  local curl_opts = opts.tls_cert and ("--cacert " .. sh_quote(opts.tls_cert) .. " ") or ""
  local s = { url = url, pid = tonumber(pid), log = out }

  function s.enqueue(list)
    local tmp = os.tmpname()
    local f = assert(io.open(tmp, "w"))
    f:write(cjson.encode(list))
    f:close()
    curl(curl_opts .. "-X POST --data-binary @" .. tmp .. " " .. url .. "/_test/enqueue")
    os.remove(tmp)
  end
  function s.requests()
    return cjson.decode(curl(curl_opts .. url .. "/_test/requests"))
  end
  function s.reset()
    curl(curl_opts .. "-X POST " .. url .. "/_test/reset")
  end
  function s.post(path, body)
    local tmp = os.tmpname()
    local f = assert(io.open(tmp, "w"))
    f:write(cjson.encode(body or {}))
    f:close()
    local reply = curl(curl_opts .. "-X POST -H 'Content-Type: application/json' --data-binary @" .. tmp .. " "
      .. url .. path)
    os.remove(tmp)
    return cjson.decode(reply)
  end
  function s.get(path)
    return cjson.decode(curl(curl_opts .. url .. path))
  end
  function s.stop()
    os.execute("kill " .. s.pid .. " 2>/dev/null")
    os.remove(out)
  end
  return s
end

return M
