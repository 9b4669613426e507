-- spec/helper.lua: shared by every spec (set in .busted).
local helper = {}

-- Where shared/ (the references) sits: beside the checkout.
helper.shared = os.getenv("GLS_SHARED") or "../shared"

--- Quotes s for a POSIX shell.
function helper.quote(s)
  return "'" .. tostring(s):gsub("'", [['\'']]) .. "'"
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

return helper
