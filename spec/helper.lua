-- spec/helper.lua: shared by every spec (set in .busted).
local helper = {}

-- Where shared/ (the references) sits: beside the checkout.
helper.shared = os.getenv("GLS_SHARED") or "../shared"

--- Quotes s for a POSIX shell.
function helper.quote(s)
  return "'" .. tostring(s):gsub("'", [['\'']]) .. "'"
end

--- Runs cmd with sh; returns its exit code (0 on success) and its stdout.
function helper.sh(cmd)
  local f = assert(io.popen(cmd))
  local out = f:read("a")
  local ok, _, code = f:close()
  return ok and 0 or code, out
end

function helper.read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

function helper.write_file(path, text)
  local f = assert(io.open(path, "wb"))
  assert(f:write(text))
  assert(f:close())
end

--- Runs python3 SCRIPT with payload as JSON on stdin; returns its JSON reply
-- decoded (raises with the script's output when it is not JSON).
function helper.python_json(script, payload)
  local cjson = require "cjson"
  local tmp = os.tmpname()
  helper.write_file(tmp, cjson.encode(payload))
  local p = assert(io.popen("python3 " .. script .. " < " .. tmp .. " 2>&1"))
  local out = p:read("a")
  p:close()
  os.remove(tmp)
  local ok, doc = pcall(cjson.decode, out)
  assert(ok, script .. " failed: " .. out)
  return doc
end

return helper
