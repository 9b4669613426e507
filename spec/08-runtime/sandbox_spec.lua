-- Policy scripts run sandboxed: fresh environment, text only, instruction and
-- memory budgets per call. A failing hook is logged with its traceback and the
-- default decision applies; the host never stops.
local core = require "gameliftstreams.core"
local policy = require "gameliftstreams.policy"
local support = require "spec.support.runtime"

local load_ok = support.load_policy

describe("policy sandbox", function()
  it("stops a runaway hook, even one that pcalls around the kill", function()
    local p = load_ok([[return {
      on_start = function() while true do end end,
      on_reconnect = function()
        while true do pcall(function() while true do end end) end
      end,
      priority = function()
        local ok = false
        while not ok do ok = xpcall(function() while true do end end, function() while true do end end) end
      end,
    }]], { instructions = 200000 })
    for _, hook in ipairs({ "on_start", "on_reconnect", "priority" }) do
      local t0 = os.clock()
      local ok, err = p:call(hook, {})
      assert.is_false(ok)
      assert.equal("PolicyInstructionBudget", err.code)
      assert.equal(hook, err.hook)
      assert.matches("instruction budget exceeded", err.message)
      assert.matches("stack traceback", err.traceback)
      assert.is_true(os.clock() - t0 < 1, hook)
    end
  end)

  it("stops a hook that eats memory, however it allocates", function()
    local p = load_ok([[return {
      on_start = function()
        local t, i = {}, 0
        while true do i = i + 1; t[i] = ("x"):rep(64) .. i end
      end,
      on_reconnect = function() return ("x"):rep(1e10) end,
      priority = function() return string.rep("ab", 1e9, ",") end,
    }]], { memory_kb = 1024, instructions = 1e8 })
    local ok, err = p:call("on_start", {})
    assert.is_false(ok)
    assert.equal("PolicyMemoryBudget", err.code)
    assert.matches("memory budget exceeded %(1024 KB%)", err.message)
    for _, hook in ipairs({ "on_reconnect", "priority" }) do
      ok, err = p:call(hook, {})
      assert.is_false(ok)
      assert.matches("larger than the policy's memory budget", err.message)
    end
    -- The hog's memory is garbage once the call is over.
    collectgarbage()
    collectgarbage()
    local kb = collectgarbage("count")
    p:call("on_start", {})
    collectgarbage()
    collectgarbage()
    assert.is_true(collectgarbage("count") - kb < 512)
  end)

  it("reports a failing hook with its traceback (chunk name and line)", function()
    local p = load_ok("return {\n  on_answer = function()\n    local t = nil\n    return t.deliver\n  end }",
      { name = "@mypolicy.lua" })
    local ok, err = p:call("on_answer", {}, "answer")
    assert.is_false(ok)
    assert.equal("PolicyError", err.code)
    assert.matches("mypolicy.lua:4: attempt to index a nil value", err.message)
    assert.matches("stack traceback:", err.traceback)
    assert.matches("mypolicy.lua:4: in function", err.traceback)
  end)

  it("has no io, os.execute, require, load, debug or coroutine, and refuses global writes", function()
    local p = load_ok([[return {
      priority = function(name) return _ENV[name] end,
      on_status = function(lib, field) return _ENV[lib][field] end,
      on_start = function() undeclared_global = 1 end,
      authenticate = function() return rawget(_ENV, "io") == nil and rawget(_ENV, "load") == nil end,
    }]])
    for _, name in ipairs({ "io", "require", "load", "loadstring", "dofile", "loadfile", "debug", "package",
                            "collectgarbage", "coroutine", "print", "module", "setfenv", "getfenv" }) do
      local ok, err = p:call("priority", name)
      assert.is_false(ok, name)
      assert.matches("nonexistent global '" .. name .. "'", err.message)
    end
    for _, f in ipairs({ { "os", "execute" }, { "os", "exit" }, { "os", "getenv" }, { "os", "remove" },
                         { "string", "dump" }, { "math", "randomseed" } }) do
      local ok, v = p:call("on_status", f[1], f[2])
      assert.is_true(ok)
      assert.is_nil(v, f[1] .. "." .. f[2])
    end
    for _, f in ipairs({ { "os", "time" }, { "os", "clock" }, { "os", "date" }, { "string", "format" },
                         { "table", "concat" }, { "math", "floor" }, { "utf8", "char" } }) do
      local ok, err = p:call("on_status", f[1], f[2])
      assert.is_true(ok, f[1] .. "." .. f[2] .. " " .. tostring(err and err.message))
    end
    local ok, err = p:call("on_start", {})
    assert.is_false(ok)
    assert.matches("attempt to set global 'undeclared_global'", err.message)
    local yes = select(2, p:call("authenticate", {}))
    assert.is_true(yes)
  end)

  it("loads text only, into a fresh environment each time, with the gls helpers", function()
    local p, err = policy.load{ source = string.dump(function() return {} end) }
    assert.is_nil(p)
    assert.matches("attempt to load a binary chunk", err.message)
    p, err = policy.load{ source = "return { on_reconect = function() end }" }
    assert.is_nil(p)
    assert.matches("unknown hook 'on_reconect'", err.message)
    p, err = policy.load{ source = "return 42" }
    assert.is_nil(p)
    assert.matches("must return a table of hooks", err.message)
    p, err = policy.load{ source = "while true do end", instructions = 100000 }
    assert.is_nil(p)
    assert.matches("instruction budget exceeded", err.message)
    p, err = policy.load{ path = "/nonexistent/policy.lua" }
    assert.is_nil(p)
    assert.matches("No such file", err.message)

    local a = load_ok([[
      string.upper = function() return "patched" end
      return { priority = function(s) return s:upper() end }]])
    local b = load_ok("return { priority = function(s) return s:upper() end }")
    assert.same({ true, "patched" }, { a:call("priority", "x") })
    assert.same({ true, "X" }, { b:call("priority", "x") })
    assert.equal("X", ("x"):upper())          -- the host's string library is untouched

    local g = load_ok([[return { priority = function(t)
      gls.log({ seen = t.n })
      return gls.sha256_hex("abc") .. " " .. gls.json.encode({ n = t.n }) .. " " .. tostring(gls.now())
    end }]], { now = function() return 12345 end })
    local ok, out = g:call("priority", { n = 7 })
    assert.is_true(ok)
    assert.equal(core.sha256_hex("abc") .. ' {"n":7} 12345', out)
    assert.same({ { seen = 7 } }, g:take_logs())
    assert.is_nil(g:take_logs())
  end)

  it("keeps policy code from running outside its budget (metatables, __gc, the string metatable)", function()
    local p = load_ok([[return {
      on_reconnect = function()
        return setmetatable({ action = "reconnect" }, { __index = function() while true do end end })
      end,
      on_start = function() return setmetatable({}, { __gc = function() while true do end end }) end,
      priority = function() return getmetatable("") end,
    }]], { instructions = 100000 })
    local ok, d = p:call("on_reconnect", {})
    assert.is_true(ok)
    assert.equal("reconnect", d.action)
    assert.is_nil(getmetatable(d))
    assert.is_nil(d.missing)                         -- a plain copy: no __index runs
    local err
    ok, err = p:call("on_start", {})
    assert.is_false(ok)
    assert.matches("__gc", err.message)
    ok, d = p:call("priority", {})
    assert.is_true(ok)
    assert.is_nil(d)
    assert.equal(string, getmetatable("").__index)
    assert.equal("xx", ("x"):rep(2))
  end)
end)

describe("runtime with a failing policy", function()
  local env
  before_each(function() env = support.start() end)
  after_each(function() env.stop() end)

  -- Each case: the hook misbehaves on every reconnect; the owner still reconnects
  -- (the default decision) and the failure is logged with its traceback.
  local cases = {
    { name = "a runaway hook", code = "PolicyInstructionBudget",
      source = "return { on_reconnect = function() while true do end end }" },
    { name = "a memory hog", code = "PolicyMemoryBudget", instructions = 1e8,
      source = [[return { on_reconnect = function()
        local t = {} for i = 1, 1e9 do t[i] = { i } end end }]] },
    { name = "a hook that raises", code = "PolicyError", match = "boom",
      source = "return {\n on_reconnect = function(ctx)\n error('boom: ' .. ctx.session.status)\n end }" },
    { name = "an invalid decision", code = "PolicyInvalidDecision",
      source = "return { on_reconnect = function() return { action = 'teleport' } end }" },
  }
  for _, case in ipairs(cases) do
    it("applies the default decision after " .. case.name, function()
      local rt = env.runtime{ policy_source = case.source, hook_instructions = case.instructions or 200000,
                              hook_memory_kb = 2048 }
      local token, arn = env.session({ id = "p" })
      env.drop(arn)
      local o = env.offer()
      local r = env.call(rt, "reconnect", token, o, { id = "p" })
      env.run(function() return r.done end)
      assert.is_nil(r.err)
      assert.is_true(env.names(r.res.SignalResponse, o))
      -- A stranger still gets the default's refusal.
      local s = env.call(rt, "reconnect", r.res.token, env.offer(), { id = "stranger" })
      env.run(function() return s.done end)
      assert.equal("Forbidden", s.err.code)
      local errors = env.events("policy_error", { hook = "on_reconnect", code = case.code })
      assert.equal(2, #errors)
      if case.code ~= "PolicyInvalidDecision" then
        assert.matches("stack traceback", errors[1].traceback)
        assert.matches("policy:%d+:", errors[1].traceback)
      end
      if case.match then assert.matches(case.match, errors[1].error) end
      assert.equal(2, rt:stats().policy_errors)
    end)
  end
end)
