-- bench/emulator_floor.lua: the floor for bench/emulator. The same HTTP
-- server as the emulator (core.httpd on libmicrohttpd, keep-alive) answering
-- every request with a fixed GetStreamSession-sized JSON body: no signature
-- check, no routing, no state. What the emulator adds on top is its own cost.
--   glsrun bench/emulator_floor.lua   -> "listening on URL", serves until SIGTERM
local core = require "gameliftstreams.core"

local body = string.rep("x", 600)
local reply = '{"Status":"ACTIVE","Padding":"' .. body .. '"}'
local headers = { ["Content-Type"] = "application/json", ["x-amzn-RequestId"] = "floor" }
local srv = core.httpd{
  listen = arg[1] or "127.0.0.1:0",
  handler = function() return 200, headers, reply end,
}
io.stdout:write("listening on ", srv:url(), "\n")
io.stdout:flush()
while true do
  local ok = srv:step(1)
  if not ok then break end
end
srv:close()
