-- The examples run as a user would run them, against the local test server.
local server_mod = require "spec.support.server"
local emulator = require "spec.support.emulator"

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

describe("reconnect.lua on the emulator #emulator", function()
  local env = "LUA_PATH='./lua/?.lua;./lua/?/init.lua;;' LUA_CPATH='./build/?.so;;' "

  local function check(out)
    -- The whole lifecycle, in order, each answer naming its own offer.
    local order = { "stream group sg%-1AB2C3De4 is ACTIVE", "started session (%w+): ACTIVATING",
                    "is ACTIVE; answer names offer", "player attached: CONNECTED",
                    "player dropped: PENDING_CLIENT_RECONNECTION", "reconnected %(request id",
                    "player attached again: CONNECTED", "is TERMINATED %(apiTerminated%)" }
    local at = 1
    for _, pat in ipairs(order) do
      local s, e = out:find(pat, at)
      assert(s, "missing, or out of order: " .. pat .. "\n" .. out)
      at = e + 1
    end
    local matches = 0
    for a, b in out:gmatch("answer names offer (%x+) %(offer %d is (%x+)%): match") do
      assert.equal(a, b)
      matches = matches + 1
    end
    assert.equal(2, matches)
    assert.not_matches("MISMATCH", out)
  end

  for _, runner in ipairs({ { "glsrun", "build/glsrun" }, { "lua5.4", env .. "lua5.4" } }) do
    it("runs the lifecycle under " .. runner[1], function()
      local e = emulator.start{}
      local out, code = run(runner[2] .. " examples/reconnect.lua " .. e.url)
      local log = e.control:requests()
      local stop_code = e.stop()
      assert.equal(0, code, out)
      check(out)
      -- The reconnect the example made is in the emulator's log, answered.
      local seen = false
      for _, r in ipairs(log) do
        if r.operation == "CreateStreamSessionConnection" and r.status == 200 then seen = true end
      end
      assert.is_true(seen)
      assert.equal(0, stop_code)
    end)
  end
end)
