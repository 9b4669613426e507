--- gameliftstreams.policy: policy scripts, loaded and run in a sandbox.
--
--     local policy = require "gameliftstreams.policy"
--     local p, err = policy.load{ path = "policy.lua" }        -- or source = "return {...}"
--     if p:has("on_reconnect") then
--       local ok, decision = p:call("on_reconnect", ctx)     -- ok false: decision is the error
--     end
--
-- A policy is a Lua text chunk returning a table of optional hooks (see
-- runtime.lua for what each receives and the default that applies when a
-- hook is absent or fails):
--   authenticate(request)        -> true | false, reason
--   on_start(ctx)                -> { action = "start" | "reject", reason = }
--   on_reconnect(ctx)            -> { action = "reconnect" | "later" | "reject" | "takeover" | "restart",
--                                     delay =, reason = }
--   priority(ctx)                -> number (higher first, after the earlier deadline;
--                                   a policy with this hook also keeps the budget's
--                                   burst for work above 0, see scheduler.lua)
--   on_status(session, old, new)
--   on_retry(ctx, err, attempt)  -> { retry = bool, delay = seconds }
--   on_answer(ctx, answer)       -> { deliver = "requester" | "owner" | "drop" }
-- plus optional `name` and `version` strings. Any other key is refused at
-- load time, so a misspelt hook fails loudly instead of never running.
--
-- The sandbox:
--   * the chunk is loaded as text only ("t": bytecode is refused) into a fresh
--     environment holding string, table, math, utf8 (copies), os.time,
--     os.clock, os.date, the safe base functions (assert error ipairs next pairs
--     pcall rawequal rawget rawlen rawset select setmetatable getmetatable
--     tonumber tostring type xpcall) and `gls` (json.encode/decode, json.null,
--     sha256_hex, log, now). No io, os.execute, package, require, load, dofile,
--     debug, collectgarbage, coroutine (a coroutine would escape the count hook)
--     or print (use gls.log). Reading an unknown global or writing any global
--     raises, so typos fail loudly.
--   * every call (and the chunk itself, at load) runs in a fresh coroutine
--     under a count hook: past `instructions` instructions, or when the Lua
--     heap has grown by more than `memory_kb` since the call began (checked from
--     the same hook, after a full collection), the call is stopped. Once
--     stopped the hook fires on every instruction, so a pcall inside the policy
--     cannot swallow the kill.
--   * string methods (("x"):rep(n)) use the sandbox's string table during a
--     call; string.rep refuses results larger than the memory budget.
--     setmetatable refuses __gc (a finalizer would run later, unbounded), and
--     getmetatable sees only tables. xpcall runs its message handler after the
--     error, as ordinary code (Lua runs it inside the raise, where the count hook
--     cannot fire).
--   * whatever a hook returns is copied as plain data (strings, numbers,
--     booleans, tables of those, depth <= 8), read with next/rawget, so no
--     metamethod of the policy ever runs outside its budget.
-- Limits: a single C call (a pattern match on a long string, table.concat)
-- runs to its end before the hook can stop it; memory held across calls in
-- the policy's upvalues is not charged to any one call.
local cjson = require "cjson"
local core = require "gameliftstreams.core"

local M = { _NAME = "gameliftstreams.policy" }

M.HOOKS = {
  authenticate = true, on_start = true, on_reconnect = true, priority = true, on_status = true,
  on_retry = true, on_answer = true,
}

local string_mt = getmetatable("")
local STEP = 1000            -- instructions between two runs of the count hook
local MAX_LOGS = 100         -- gls.log records kept per call

---------------------------------------------------------------- plain data

-- A copy of v made of strings, numbers, booleans and tables of those. Tables
-- are read with next (raw): no metamethod runs. `left` bounds the total work.
local function plain(v, depth, left)
  local t = type(v)
  if t == "string" or t == "number" or t == "boolean" then return v end
  if t ~= "table" or depth > 8 or left[1] <= 0 then return nil end
  local out = {}
  local k, x = next(v)
  while k ~= nil and left[1] > 0 do
    left[1] = left[1] - 1
    local tk = type(k)
    if tk == "string" or tk == "number" then out[k] = plain(x, depth + 1, left) end
    k, x = next(v, k)
  end
  return out
end
function M.plain(v) return plain(v, 1, { 10000 }) end

---------------------------------------------------------------- the environment

local function copy(t, except)
  local out = {}
  for k, v in pairs(t) do
    if not (except and except[k]) then out[k] = v end
  end
  return out
end

local function make_env(self)
  local env = {}
  for _, k in ipairs({ "assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget",
                       "rawlen", "rawset", "select", "tonumber", "tostring", "type" }) do
    env[k] = _G[k]
  end
  -- Lua runs a message handler inside the error's raise, where a count hook that
  -- raised cannot fire again: a handler that loops would never be stopped. The
  -- sandbox's xpcall calls the handler afterwards, as ordinary code.
  env.xpcall = function(f, handler, ...)
    if type(handler) ~= "function" then error("bad argument #2 to 'xpcall' (function expected)", 2) end
    local res = table.pack(pcall(f, ...))
    if res[1] then return table.unpack(res, 1, res.n) end
    return false, handler(res[2])
  end
  env.setmetatable = function(t, mt)
    if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
      error("policies may not set __gc metamethods", 2)
    end
    return setmetatable(t, mt)
  end
  env.getmetatable = function(v)
    if type(v) ~= "table" then return nil end
    return getmetatable(v)
  end
  local str = copy(string, { dump = true })
  local rep = string.rep
  local max_bytes = self.memory_kb * 1024
  str.rep = function(s, n, sep)
    local ls, lsep = #tostring(s), sep and #tostring(sep) or 0
    if type(n) == "number" and n > 0 and (ls + lsep) * n > max_bytes then
      error("string.rep: result larger than the policy's memory budget", 2)
    end
    return rep(s, n, sep)
  end
  env.string = str
  env.table = copy(table)
  local math_ = copy(math, { randomseed = true })
  local random = self.random
  math_.random = function(...) return random(...) end
  env.math = math_
  env.utf8 = copy(utf8)
  env.os = { time = os.time, clock = os.clock, date = os.date }
  local json = cjson.new()
  json.encode_sparse_array(false)
  local logs = self.logs
  local now = self.now
  env.gls = {
    json = { encode = json.encode, decode = json.decode, null = json.null },
    sha256_hex = core.sha256_hex,
    now = function() return now() end,
    log = function(record)
      if #logs < MAX_LOGS then logs[#logs + 1] = record end
    end,
  }
  env._G = env
  return setmetatable(env, {
    __index = function(_, k) error(("nonexistent global '%s'"):format(tostring(k)), 2) end,
    __newindex = function(_, k)
      error(("attempt to set global '%s' (policies may not define globals)"):format(tostring(k)), 2)
    end,
    __metatable = false,
  })
end

---------------------------------------------------------------- bounded calls

local Policy = {}
Policy.__index = Policy
Policy.__name = "gameliftstreams.policy"

-- Runs fn(...) in a fresh coroutine under the budgets. -> true, results... |
-- false, { code=, message=, traceback= }
local function run(self, fn, ...)
  local budget, mem_kb = self.instructions, self.memory_kb
  local step = budget < STEP and math.max(1, budget // 10) or STEP
  local co = coroutine.create(fn)
  local used, killed, code = 0, nil, nil
  local base = collectgarbage("count")
  local function hook()
    if killed then error(killed, 0) end
    used = used + step
    if used > budget then
      killed, code = ("instruction budget exceeded (%d instructions)"):format(budget), "PolicyInstructionBudget"
    elseif collectgarbage("count") - base > mem_kb then
      collectgarbage("collect")
      if collectgarbage("count") - base > mem_kb then
        killed, code = ("memory budget exceeded (%d KB)"):format(mem_kb), "PolicyMemoryBudget"
      end
    end
    if killed then
      debug.sethook(co, hook, "", 1)
      error(killed, 0)
    end
  end
  debug.sethook(co, hook, "", step)
  local saved = string_mt.__index
  string_mt.__index = self.env.string
  local res = table.pack(coroutine.resume(co, ...))
  string_mt.__index = saved
  debug.sethook(co)
  if res[1] and coroutine.status(co) ~= "dead" then
    res = { false, "policy hooks may not yield" }
  end
  if res[1] then return true, table.unpack(res, 2, res.n) end
  local msg = res[2]
  if type(msg) ~= "string" then
    if math.type(msg) then msg = tostring(msg) else msg = ("(error object is a %s value)"):format(type(msg)) end
  end
  return false, { code = code or "PolicyError", message = msg, traceback = debug.traceback(co, msg) }
end

local function read_source(opts)
  if opts.source ~= nil then
    if type(opts.source) ~= "string" then error("bad option 'source' (string expected)", 3) end
    return opts.source, opts.name or "=policy"
  end
  if type(opts.path) ~= "string" then error("bad argument #1 to 'load' (path or source expected)", 3) end
  local f, err = io.open(opts.path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  if not text then return nil, opts.path .. ": cannot read" end
  return text, "@" .. opts.path
end

--- policy.load{ source = | path =, name =, instructions = 1e6, memory_kb = 4096,
--               now = function, random = function }
-- -> policy | nil, err (err = { code = "PolicyLoad", message =, traceback = })
function M.load(opts)
  if type(opts) ~= "table" then error("bad argument #1 to 'load' (table expected)", 2) end
  local text, chunkname = read_source(opts)
  local function fail(message, traceback)
    return nil, { code = "PolicyLoad", message = message, traceback = traceback }
  end
  if not text then return fail(chunkname) end
  local self = setmetatable({
    instructions = math.tointeger(opts.instructions or 1e6) or 1000000,
    memory_kb = opts.memory_kb or 4096,
    now = opts.now or core.time, random = opts.random or math.random,
    logs = {}, hooks = {}, busy = false,
  }, Policy)
  if self.instructions < 1 then error("bad option 'instructions' (>= 1 expected)", 2) end
  self.env = make_env(self)
  local chunk, lerr = load(text, chunkname, "t", self.env)
  if not chunk then return fail(lerr) end
  local ok, t = run(self, chunk)
  if not ok then return fail(t.message, t.traceback) end
  if type(t) ~= "table" then return fail(("%s: a policy must return a table of hooks (got %s)")
    :format(chunkname:sub(2), type(t))) end
  local k, v = next(t)
  while k ~= nil do
    if M.HOOKS[k] then
      if type(v) ~= "function" then return fail(("hook '%s' must be a function"):format(tostring(k))) end
      self.hooks[k] = v
    elseif k == "name" or k == "version" then
      if type(v) ~= "string" then return fail(("'%s' must be a string"):format(k)) end
      self[k] = v
    else
      return fail(("unknown hook '%s' (hooks: authenticate, on_start, on_reconnect, priority, "
        .. "on_status, on_retry, on_answer)"):format(tostring(k)))
    end
    k, v = next(t, k)
  end
  return self
end

function Policy:has(hook) return self.hooks[hook] ~= nil end

--- p:call(hook, ...) -> true, results (plain data) | false, err
-- err = { code = "PolicyError" | "PolicyInstructionBudget" | "PolicyMemoryBudget",
--         message =, traceback =, hook = }. Calling an absent hook or calling
-- from inside a hook raises (misuse).
function Policy:call(hook, ...)
  local fn = self.hooks[hook]
  if not fn then error(("the policy has no hook '%s'"):format(tostring(hook)), 2) end
  if self.busy then error("policy hook called from inside a policy hook", 2) end
  self.busy = true
  local res = table.pack(run(self, fn, ...))
  self.busy = false
  if not res[1] then
    res[2].hook = hook
    return false, res[2]
  end
  local left = { 10000 }
  for i = 2, res.n do res[i] = plain(res[i], 1, left) end
  return true, table.unpack(res, 2, res.n)
end

--- Records the policy passed to gls.log since the last call (plain data).
function Policy:take_logs()
  local logs = self.logs
  if #logs == 0 then return nil end
  local out = {}
  for i, r in ipairs(logs) do
    out[i] = plain(r, 1, { 1000 })
    logs[i] = nil
  end
  return out
end

return M
