-- The examples run as a user would run them, against the local test server.
local server_mod = require "spec.support.server"

local function run(cmd)
  local f = assert(io.popen(cmd .. " 2>&1"))
  local out = f:read("a")
  local ok, _, code = f:close()
  return out, ok and 0 or code
end

local function have(module)
  return (pcall(require, module))
end

describe("examples #network", function()
  local server
  local available, why = server_mod.available()
  setup(function() if available then server = server_mod.start() end end)
  teardown(function() if server then server.stop() end end)

  local function need(module)
    if not available then
      pending("needs python3 with botocore for the test server: " .. tostring(why))
      return false
    end
    if module and not have(module) then
      pending(module .. " is not installed (apt-get install lua-" .. module .. ")")
      return false
    end
    return true
  end

  local env = "LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./build/?.so;;' "

  it("reconnect.lua reconnects a player through glsrun", function()
    if not need() then return end
    local out, code = run("build/glsrun examples/reconnect.lua " .. server.url)
    assert.equal(0, code, out)
    assert.matches("reconnected: answer of %d+ bytes for the %d+%-byte offer", out)
    local reqs = server.requests()
    assert.equal("/streamgroups/sg-1AB2C3De4/streamsessions/ABC123def4567/connections", reqs[#reqs].path)
    assert.is_true(reqs[#reqs].signature_ok)
  end)

  it("reconnect.lua runs under plain lua5.4 too", function()
    if not need() then return end
    local out, code = run(env .. "lua5.4 examples/reconnect.lua " .. server.url)
    assert.equal(0, code, out)
    assert.matches("reconnected:", out)
  end)

  it("cqueues.lua keeps every reconnect in flight at once", function()
    if not need("cqueues") then return end
    local out, code = run(env .. "lua5.4 examples/cqueues.lua " .. server.url .. " 25")
    assert.equal(0, code, out)
    local answered, n, most = out:match("(%d+) of (%d+) answered; at most (%d+) in flight at once")
    assert.equal("25", answered)
    assert.equal("25", n)
    assert.is_true(tonumber(most) > 1, "calls overlapped: " .. tostring(most))
  end)

  it("luv.lua drives gls from a libuv loop", function()
    if not need("luv") then return end
    local out, code = run(env .. "lua5.4 examples/luv.lua " .. server.url .. " 25")
    assert.equal(0, code, out)
    assert.matches("25 of 25 answered", out)
  end)
end)
