-- luacheck: std +busted
-- Policy scripts cannot reach io, os.execute, require, debug, load (and so no
-- binary chunk), string.dump, collectgarbage, the string metatable or
-- package. Two ways: every value reachable from inside a hook (globals, their
-- fields, metatables, the string methods) is walked and compared with the
-- host's dangerous functions; and each one is tried by name, and by the back
-- doors (("").dump, _G, _ENV, rawget, error objects with metamethods).
-- spec/08-runtime/sandbox_spec.lua covers the budgets.
local policy = require "gameliftstreams.policy"

local load_ok = require("spec.support.runtime").load_policy

-- The host functions no policy may hold, by their tostring (unique per function).
local function forbidden()
  local out = {}
  local function add(name, f) if type(f) == "function" then out[tostring(f)] = name end end
  for _, lib in ipairs({ "io", "debug", "package", "coroutine" }) do
    for k, f in pairs(_G[lib]) do add(lib .. "." .. k, f) end
  end
  for _, name in ipairs({ "require", "load", "loadfile", "dofile", "collectgarbage", "print" }) do
    add(name, _G[name])
  end
  for _, name in ipairs({ "execute", "exit", "getenv", "remove", "rename", "tmpname", "setlocale" }) do
    add("os." .. name, os[name])
  end
  add("string.dump", string.dump)
  add("math.randomseed", math.randomseed)
  for _, loader in ipairs(package.searchers) do add("package.searchers[]", loader) end
  for _, f in pairs(getmetatable("")) do add("string metatable", f) end
  return out
end

describe("policy sandbox: nothing dangerous within reach #security", function()
  it("holds none of the host's dangerous functions anywhere it can reach", function()
    local p = load_ok([[return { priority = function()
      local seen, found, queue = {}, {}, { { _ENV, "_ENV" } }
      local function visit(v, path)
        if (type(v) == "table" or type(v) == "function") and not seen[v] then
          seen[v] = true
          queue[#queue + 1] = { v, path }
        end
      end
      local i = 1
      while queue[i] do
        local v, path = queue[i][1], queue[i][2]
        i = i + 1
        if type(v) == "function" then
          found[#found + 1] = { tostring(v), path }
        else
          for k, x in next, v do
            visit(k, path .. "[key]")
            visit(x, path .. "." .. tostring(k))
          end
          visit(getmetatable(v), path .. "<metatable>")
        end
      end
      -- what string values see as methods
      for _, name in ipairs({ "dump", "rep", "format", "len", "byte" }) do
        visit(("")[name], "(''):" .. name)
      end
      visit(getmetatable(""), "getmetatable('')")
      while queue[i] do
        local v, path = queue[i][1], queue[i][2]
        i = i + 1
        if type(v) == "function" then found[#found + 1] = { tostring(v), path } end
      end
      return found
    end }]], { instructions = 1e7 })
    local ok, found = p:call("priority", {})
    assert.is_true(ok, found and found.message)
    assert.is_true(#found > 50, "the walk saw " .. #found .. " functions")
    local bad = forbidden()
    local hits = {}
    for _, f in ipairs(found) do
      if bad[f[1]] then hits[#hits + 1] = f[2] .. " is " .. bad[f[1]] end
    end
    assert.same({}, hits)
  end)

  it("refuses each by name and by the back doors", function()
    local p = load_ok([[return { on_retry = function(code) return load(code, "probe", "t", _ENV)() end }]])
    -- no load inside to build probes with: each probe below is written out
    assert.is_false((p:call("on_retry", "return 1")))
    p = load_ok([[
      local probes = {
        io = function() return io.open("/etc/passwd") end,
        os_execute = function() return os.execute("true") end,
        os_getenv = function() return os.getenv("HOME") end,
        os_exit = function() return os.exit(1) end,
        require = function() return require("io") end,
        debug = function() return debug.getregistry() end,
        load = function() return load("return 1") end,
        loadstring = function() return loadstring("return 1") end,
        dofile = function() return dofile("/etc/passwd") end,
        string_dump = function() return string.dump(function() end) end,
        method_dump = function() return ("").dump(function() end) end,
        rawget_dump = function() return rawget(string, "dump")(function() end) end,
        collectgarbage = function() return collectgarbage("count") end,
        package = function() return package.loaded end,
        G_package = function() return _G.package.loaded end,
        ENV_require = function() return _ENV.require("os") end,
        string_metatable = function() return getmetatable("").__index end,
        string_mt_write = function() getmetatable("").__index = {} end,
        coroutine = function() return coroutine.create(print) end,
        rawget_env = function() return rawget(_ENV, "io").open("/etc/passwd") end,
        math_randomseed = function() return math.randomseed(1) end,
      }
      return { on_reconnect = function(name) return probes[name]() end }]])
    for _, name in ipairs({ "io", "os_execute", "os_getenv", "os_exit", "require", "debug", "load", "loadstring",
                            "dofile", "string_dump", "method_dump", "rawget_dump", "collectgarbage", "package",
                            "G_package", "ENV_require", "string_metatable", "string_mt_write", "coroutine",
                            "rawget_env", "math_randomseed" }) do
      local ok, err = p:call("on_reconnect", name)
      assert.is_false(ok, name .. " got through")
      assert.equal("PolicyError", err.code, name)
    end
    -- the host's string metatable is the one it was
    assert.equal(string, getmetatable("").__index)
    assert.is_function(("").dump)
  end)

  it("loads no binary chunk, from source or from a file", function()
    local bin = string.dump(function() return { on_start = function() end } end)
    local p, err = policy.load{ source = bin }
    assert.is_nil(p)
    assert.matches("attempt to load a binary chunk", err.message)
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(bin)
    f:close()
    p, err = policy.load{ path = path }
    os.remove(path)
    assert.is_nil(p)
    assert.matches("attempt to load a binary chunk", err.message)
  end)

  it("runs no metamethod of an error object it raises", function()
    local p = load_ok([[return { on_start = function()
      error(setmetatable({}, { __tostring = function() while true do end end,
                               __index = function() while true do end end,
                               __concat = function() while true do end end }))
    end }]], { instructions = 100000 })
    local t0 = os.clock()
    local ok, err = p:call("on_start", {})
    assert.is_false(ok)
    assert.matches("error object is a table value", err.message)
    assert.is_true(os.clock() - t0 < 1)
  end)
end)
