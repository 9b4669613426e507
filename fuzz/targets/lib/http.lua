-- fuzz/targets/lib/http.lua - the request text the HTTP-facing Lua targets
-- read: "METHOD PATH[?QUERY]\n", header lines "Name: value\n", an empty
-- line, the body. Loaded by the targets with dofile (not a target itself).
local M = {}

--- text -> method, path, query, header list ({name, value}, in order), body
function M.parse(text)
  local head, body = text:match("^(.-)\r?\n\r?\n(.*)$")
  if not head then head, body = text, "" end
  local first, rest = head:match("^([^\n]*)\n?(.*)$")
  local method, target = first:match("^(%S+) (%S+)")
  if not method then method, target = "GET", first end
  local path, query = target:match("^([^?]*)%??(.*)$")
  local list = {}
  for line in rest:gmatch("[^\n]+") do
    local k, v = line:match("^([^:]+):%s*(.-)\r?$")
    if k then list[#list + 1] = { k, v } end
  end
  return method, path, query, list, body
end

--- header list -> core.httpd's req.headers: lower-case names, repeats joined by ","
function M.header_map(list)
  local h = {}
  for _, p in ipairs(list) do
    local k = p[1]:lower()
    h[k] = h[k] and (h[k] .. "," .. p[2]) or p[2]
  end
  return h
end

return M
