-- spec/support/runtime.lua: a runtime on `glsrun emulator --clock virtual`.
--
--   local support = require "spec.support.runtime"
--   local env = support.start()              -- emulator + virtual clock (opts: emulator.start's)
--   local rt = env.runtime{ policy_source = ... }   -- runtime.new with env's client/clock/log
--   env.run(function() return done end)      -- steps rt; moves the virtual clock on
--                                            -- (emulator and runtime together) when rt is idle
--   env.advance(5)                           -- both clocks, now
--   env.records                              -- every log record, in order
--   env.offer()  env.names(answer, offer)    -- fresh SDP-like offers; does answer name offer?
--   env.ask_all(list, quota)                 -- drop, set the quota, and ask a reconnect for each
--   env.stop()
local core = require "gameliftstreams.core"
local cjson = require "cjson"
local emulator = require "spec.support.emulator"
local runtime = require "gameliftstreams.runtime"

local M = {}

--- A policy loaded from source (opts merged into policy.load's), asserting it loads.
function M.load_policy(source, opts)
  local o = { source = source }
  for k, v in pairs(opts or {}) do o[k] = v end
  local p, err = require("gameliftstreams.policy").load(o)
  assert(p, err and err.message)
  return p
end

function M.start(opts)
  local eo = { clock = "virtual" }
  for k, v in pairs(opts or {}) do eo[k] = v end      -- emulator.start options (env, args)
  local e = emulator.start(eo)
  local clock = assert(e.control:request("GET", "/clock"))
  -- Never ahead of the emulator's clock (its reply is rounded to the ms), so the
  -- runtime's token buckets never refill before the emulator's do.
  local vt = clock.now - 0.002
  local env = { e = e, control = e.control, records = {}, runtimes = {} }
  env.client = e.client{ max_attempts = 1 }

  function env.now() return vt end

  function env.advance(s)
    assert(e.control:advance(s))
    vt = vt + s
  end

  function env.log(record)
    env.records[#env.records + 1] = record
  end

  function env.runtime(o)
    local t = { client = env.client, now = env.now, log = env.log, stream_group = "sg-1AB2C3De4",
                application = "a-9ZY8X7Wv6", status_interval = 1 }
    for k, v in pairs(o or {}) do t[k] = v end
    local rt = assert(runtime.new(t))
    env.runtimes[#env.runtimes + 1] = rt
    env.rt = rt
    return rt
  end

  --- Steps env.rt (or rt) until cond() is true. Virtual time moves by `tick`
  -- (default 0.1 s) each time the runtime has nothing in flight and nothing
  -- to do at once; fails past `limit` virtual seconds or 60 real ones.
  function env.run(cond, o)
    o = o or {}
    local rt = o.rt or env.rt
    local tick, limit = o.tick or 0.1, o.limit or 120
    local v0, r0 = vt, core.time()
    while not cond() do
      rt:step(0)
      if not cond() then
        if rt:in_flight() > 0 then
          rt:step(0.005)
        elseif (rt:timeout() or 1) > 0 then
          if vt - v0 > limit then error(("condition not met within %g virtual seconds"):format(limit), 2) end
          env.advance(tick)
        end
      end
      if core.time() - r0 > 60 then error("condition not met within 60 real seconds", 2) end
    end
  end

  --- Calls rt:method(...) with a callback appended; returns a box that fills
  -- with { res, err } when the callback runs (and fails if it runs twice).
  function env.call(rt, method, ...)
    local box = { n = 0 }
    local args = table.pack(...)
    args.n = args.n + 1
    args[args.n] = function(res, err)
      box.n = box.n + 1
      assert(box.n == 1, method .. ": callback ran twice")
      box.res, box.err, box.done = res, err, true
    end
    rt[method](rt, table.unpack(args, 1, args.n))
    return box
  end

  local nonce = 0
  function env.offer(tag)
    nonce = nonce + 1
    return ("v=0\r\no=- %d 2 IN IP4 127.0.0.1\r\ns=%s\r\na=x-test-nonce:%s\r\n")
      :format(nonce, tag or "gls", core.random_hex(12))
  end

  function env.names(answer, offer)
    return type(answer) == "string"
      and answer:match("a=x%-gls%-offer%-sha256:(%x+)") == core.sha256_hex(offer)
  end

  --- The records with event == name (and fields matching `where`).
  function env.events(name, where)
    local out = {}
    for _, r in ipairs(env.records) do
      local ok = r.event == name
      for k, v in pairs(where or {}) do ok = ok and r[k] == v end
      if ok then out[#out + 1] = r end
    end
    return out
  end

  --- The whole log as JSON text (to check that no secret is in it).
  function env.log_text()
    local parts = {}
    for i, r in ipairs(env.records) do parts[i] = cjson.encode(r) end
    return table.concat(parts, "\n")
  end

  --- The emulator's request log entries for op.
  function env.requests(op)
    local out = {}
    for _, r in ipairs(assert(e.control:requests())) do
      if op == nil or r.operation == op then out[#out + 1] = r end
    end
    return out
  end

  --- Starts a session through env.rt for client and waits for its answer:
  -- returns token, arn, offer, answer.
  function env.session(client, req)
    local offer = env.offer("start")
    local r = { SignalRequest = offer }
    for k, v in pairs(req or {}) do r[k] = v end
    local s = env.call(env.rt, "start", r, client)
    env.run(function() return s.done end)
    assert(s.res, s.err and tostring(s.err))
    local a = env.call(env.rt, "answer", s.res.token, 60)
    env.run(function() return a.done end)
    assert(a.res, a.err and tostring(a.err))
    return s.res.token, s.res.session, offer, a.res.SignalResponse
  end

  --- Starts n sessions at once through env.rt and waits for all their answers.
  -- client(i) and req(i) give each one's requester and extra start members.
  -- Returns a list of { token, arn, offer, answer, client }.
  function env.sessions(n, client, req)
    local list = {}
    for i = 1, n do
      local offer = env.offer("start" .. i)
      local r = { SignalRequest = offer }
      for k, v in pairs(req and req(i) or {}) do r[k] = v end
      local who = client and client(i) or { id = "p" .. i }
      list[i] = { offer = offer, client = who, box = env.call(env.rt, "start", r, who) }
    end
    env.run(function()
      for i = 1, n do if not list[i].box.done then return false end end
      return true
    end)
    for i = 1, n do
      local s = list[i]
      assert(s.box.res, s.box.err and tostring(s.box.err))
      s.token, s.arn = s.box.res.token, s.box.res.session
      s.box = env.call(env.rt, "answer", s.token, 60)
    end
    env.run(function()
      for i = 1, n do if not list[i].box.done then return false end end
      return true
    end)
    for i = 1, n do
      local s = list[i]
      assert(s.box.res, s.box.err and tostring(s.box.err))
      assert(env.names(s.box.res.SignalResponse, s.offer))
      s.answer, s.box = s.box.res.SignalResponse, nil
    end
    return list
  end

  --- Connects and drops every session of list in the same virtual instant, and
  -- waits until env.rt has learnt each one's PENDING_CLIENT_RECONNECTION.
  local function pending_seen(arn)
    return #env.events("status", { session = arn, new = "PENDING_CLIENT_RECONNECTION" })
  end

  function env.drop_all(list)
    local before = {}
    for i, s in ipairs(list) do
      before[i] = pending_seen(s.arn)
      assert(e.control:connect(s.arn))
    end
    for _, s in ipairs(list) do assert(e.control:disconnect(s.arn)) end
    env.run(function()
      for i, s in ipairs(list) do
        if pending_seen(s.arn) == before[i] then return false end
      end
      return true
    end)
  end

  --- The start of a storm: drops every session of list (env.drop_all), sets
  -- the emulator's quota for CreateStreamSessionConnection, clears its request
  -- log, then has each session's client ask env.rt to reconnect with a fresh
  -- offer. Returns the boxes and the offers (wait with env.wait_all).
  function env.ask_all(list, quota)
    env.drop_all(list)
    assert(e.control:quotas{ CreateStreamSessionConnection = quota })
    assert(e.control:clear_requests())
    local boxes, offers = {}, {}
    for i, s in ipairs(list) do
      offers[i] = env.offer("re" .. i)
      boxes[i] = env.call(env.rt, "reconnect", s.token, offers[i], s.client)
    end
    return boxes, offers
  end

  --- Runs until every box of the list is done.
  function env.wait_all(boxes, o)
    env.run(function()
      for _, b in pairs(boxes) do if not b.done then return false end end
      return true
    end, o)
  end

  --- Connects then drops session arn on the emulator and waits until env.rt
  -- has learnt PENDING_CLIENT_RECONNECTION.
  function env.drop(arn)
    env.drop_all({ { arn = arn } })
  end

  function env.stop()
    for _, rt in ipairs(env.runtimes) do rt:close() end
    env.client:close()
    return e.stop()
  end
  return env
end

return M
