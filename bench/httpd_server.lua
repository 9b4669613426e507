-- bench/httpd_server.lua - core.httpd answering every request with 200 "{}",
-- after looking at it the way the emulator will (headers, path, body), for
-- bench/httpd_load.c to measure.
-- Usage: LUA_CPATH='./build/?.so' lua5.4 bench/httpd_server.lua [SECONDS] [tls_cert tls_key]
-- Prints "listening on URL" first, "served N" when SECONDS are over.
local core = require "gameliftstreams.core"

local seconds = tonumber(arg[1]) or 10
local served = 0
local srv = assert(core.httpd{
  tls_cert = arg[2], tls_key = arg[3],
  handler = function(req)
    served = served + 1
    if not (req.headers.authorization and req.path and req.body) then return 400 end
    return 200, { ["Content-Type"] = "application/json" }, "{}"
  end,
})
io.write("listening on ", srv:url(), "\n")
io.flush()
local deadline = os.time() + seconds
while os.time() < deadline do srv:step(0.1) end
srv:close()
io.write("served ", served, "\n")
