-- spec/support/sigv4_vectors.lua: reads shared/sigv4-vectors case folders.
-- Used by spec/01-sigv4/vectors_spec.lua (loaded with dofile).
local cjson = require("cjson")
local lfs = require("lfs")

local M = {}

--- The whole file, or nil and a message.
function M.read(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end

--- Parses a request.txt-style text: "METHOD SP TARGET SP HTTP/1.1", header
-- lines (a line starting with whitespace continues the header above it and
-- is joined with one space, as RFC 7230 3.2.4 asks), an empty line, a body.
-- Returns {method, path, query (nil if none), headers = {{name, value}...}, body}.
function M.parse_request(text)
  local nl = text:find("\n", 1, true) or #text + 1
  local line = text:sub(1, nl - 1)
  local method, target = line:match("^(%S+) (.*) HTTP/1%.1$")
  assert(method, "bad request line: " .. line)
  local path, query = target, nil
  local q = target:find("?", 1, true)
  if q then path, query = target:sub(1, q - 1), target:sub(q + 1) end
  local headers = {}
  local pos = nl + 1
  while pos <= #text do
    local e = text:find("\n", pos, true) or #text + 1
    local l = text:sub(pos, e - 1)
    pos = e + 1
    if l == "" then break end
    if l:match("^[ \t]") and #headers > 0 then
      local h = headers[#headers]
      h[2] = h[2] .. " " .. l
    else
      local name, value = l:match("^([^:]*):(.*)$")
      assert(name, "bad header line: " .. l)
      headers[#headers + 1] = { name, value }
    end
  end
  local body = pos <= #text and text:sub(pos) or ""
  return { method = method, path = path, query = query, headers = headers, body = body }
end

--- Epoch seconds of "YYYY-MM-DDTHH:MM:SSZ" (days from civil, H. Hinnant).
function M.epoch(ts)
  local y, m, d, hh, mm, ss = ts:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)Z$")
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m <= 2 then y = y - 1 end
  local era = y // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return (era * 146097 + doe - 719468) * 86400 + tonumber(hh) * 3600 + tonumber(mm) * 60
    + tonumber(ss)
end

--- The case folders (those holding a context.json), sorted.
function M.cases(root)
  local names = {}
  for name in lfs.dir(root) do
    if name:sub(1, 1) ~= "." and lfs.attributes(root .. "/" .. name .. "/context.json", "mode") then
      names[#names + 1] = name
    end
  end
  table.sort(names)
  return names
end

--- Loads one case: the parsed request, the context and the sign{} input
-- for form ("header" or "query").
function M.load(root, name)
  local dir = root .. "/" .. name
  local req = M.parse_request(assert(M.read(dir .. "/request.txt")))
  local ctx = cjson.decode(assert(M.read(dir .. "/context.json")))
  local case = { dir = dir, request = req, context = ctx }
  function case.input(form)
    local cred = ctx.credentials
    return {
      method = req.method, path = req.path, query = req.query,
      headers = req.headers, body = req.body,
      access_key_id = cred.access_key_id,
      secret_access_key = cred.secret_access_key,
      session_token = cred.token,
      region = ctx.region, service = ctx.service,
      time = M.epoch(ctx.timestamp),
      normalize_path = ctx.normalize == true,
      double_encode = true,
      sign_body = ctx.sign_body == true,
      omit_session_token = ctx.omit_session_token == true,
      signature_type = form,
      expires = form == "query" and ctx.expiration_in_seconds or nil,
    }
  end
  function case.expected(form, what)
    return assert(M.read(dir .. "/" .. form .. "-" .. what))
  end
  return case
end

--- "a=1&b=2" -> sorted list of its parts, for comparing parameter sets.
function M.params(query)
  local parts = {}
  for part in (query or ""):gmatch("[^&]+") do parts[#parts + 1] = part end
  table.sort(parts)
  return parts
end

return M
