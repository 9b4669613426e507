-- The runtime on `glsrun emulator --clock virtual`: a session's whole life,
-- answers routed to their own requesters only, tokens, policy reload, and the
-- status sweeps. (Scheduler specs: scheduler_spec.lua; sandbox: sandbox_spec.lua.)
local core = require "gameliftstreams.core"
local support = require "spec.support.runtime"

local PENDING = "PENDING_CLIENT_RECONNECTION"

local function tmpfile(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

describe("runtime", function()
  local env
  before_each(function() env = support.start() end)
  after_each(function() env.stop() end)

  it("carries a session through start, answer, drop, reconnect with a new offer and terminate", function()
    local rt = env.runtime()
    local who = { id = "player-1", device = "tv" }
    local offer = env.offer("start")
    local s = env.call(rt, "start", { SignalRequest = offer, ConnectionTimeoutSeconds = 90 }, who)
    assert.is_nil(s.done)                    -- never synchronously
    env.run(function() return s.done end)
    assert.is_nil(s.err)
    local token, arn = s.res.token, s.res.session
    assert.matches("^%x+$", token)
    assert.equal(64, #token)
    assert.matches("^arn:aws:gameliftstreams:us%-west%-2:%d+:streamsession/sg%-1AB2C3De4/%w+$", arn)

    -- Before activation the long poll times out with NotReady.
    local early = env.call(rt, "answer", token, 0)
    env.run(function() return early.done end)
    assert.equal("NotReady", early.err.code)
    assert.equal(202, early.err.status)

    local a = env.call(rt, "answer", token, 30)
    env.run(function() return a.done end)
    assert.is_nil(a.err)
    assert.is_true(env.names(a.res.SignalResponse, offer))

    -- The player connects, then drops; the runtime learns it from a sweep, with
    -- the deadline the emulator will enforce (drop time + 90 s).
    assert(env.control:connect(arn))
    local dropped_at = env.now()
    assert(env.control:disconnect(arn))
    env.run(function() return #env.events("status", { session = arn, new = PENDING }) > 0 end)
    local learnt = env.events("status", { session = arn, new = PENDING })[1]
    assert.is_true(math.abs(learnt.deadline - (dropped_at + 90)) < 0.01, tostring(learnt.deadline - dropped_at))

    local offer2 = env.offer("reconnect")
    local r = env.call(rt, "reconnect", token, offer2, who)
    env.run(function() return r.done end)
    assert.is_nil(r.err)
    assert.is_true(env.names(r.res.SignalResponse, offer2))
    assert.is_false(env.names(r.res.SignalResponse, offer))
    local token2 = r.res.token
    assert.equal(64, #token2)
    assert.not_equal(token, token2)
    local emu = assert(env.control:session(arn))
    assert.equal("RECONNECTING", emu.Status)

    -- The old token is dead for every request; the new one works.
    local again = env.call(rt, "reconnect", token, env.offer("stale"), who)
    local old_answer = env.call(rt, "answer", token, 0)
    local old_term = env.call(rt, "terminate", token, who)
    local now_answer = env.call(rt, "answer", token2, 0)
    env.run(function() return again.done and old_answer.done and old_term.done and now_answer.done end)
    for _, b in ipairs({ again, old_answer, old_term }) do
      assert.is_nil(b.res)
      assert.equal("NotFound", b.err.code)
      assert.equal(404, b.err.status)
    end
    assert.is_true(env.names(now_answer.res.SignalResponse, offer2))
    assert.equal(1, #env.requests("CreateStreamSessionConnection"))

    -- Only the owner may terminate.
    local stranger = env.call(rt, "terminate", token2, { id = "someone-else" })
    env.run(function() return stranger.done end)
    assert.equal("Forbidden", stranger.err.code)
    local t = env.call(rt, "terminate", token2, who)
    env.run(function() return t.done end)
    assert.is_true(t.res)
    emu = assert(env.control:session(arn))
    assert.is_truthy(emu.Status == "TERMINATING" or emu.Status == "TERMINATED")
    local after = env.call(rt, "answer", token2, 0)
    env.run(function() return after.done end)
    assert.equal("NotFound", after.err.code)
    assert.equal(0, rt:stats().sessions)

    -- No offer, answer or token ever reached the log.
    local text = env.log_text()
    for _, secret in ipairs({ token, token2, offer, offer2, a.res.SignalResponse, r.res.SignalResponse }) do
      assert.is_nil(text:find(secret, 1, true))
    end
    assert.is_nil(text:find("x-gls-offer-sha256", 1, true))
    assert.is_nil(text:find("x-test-nonce", 1, true))
    assert.is_true(#env.events("decision", { request = "reconnect", session = arn, action = "reconnect" }) == 1)
  end)

  it("gives each answer only to the client whose offer it answers, across many concurrent sessions", function()
    local rt = env.runtime()
    local n = 40
    local starts, offers = {}, {}
    for i = 1, n do
      offers[i] = env.offer("start" .. i)
      starts[i] = env.call(rt, "start", { SignalRequest = offers[i] }, { id = "p" .. i })
    end
    env.run(function()
      for i = 1, n do if not starts[i].done then return false end end
      return true
    end)
    local answers, tokens = {}, {}
    for i = 1, n do
      assert.is_nil(starts[i].err)
      assert.is_nil(tokens[starts[i].res.token])
      tokens[starts[i].res.token] = true
      answers[i] = env.call(rt, "answer", starts[i].res.token, 60)
    end
    env.run(function()
      for i = 1, n do if not answers[i].done then return false end end
      return true
    end)
    for i = 1, n do
      assert.is_true(env.names(answers[i].res.SignalResponse, offers[i]), "start answer " .. i)
      assert(env.control:connect(starts[i].res.session))
      assert(env.control:disconnect(starts[i].res.session))
    end
    env.run(function() return #env.events("status", { new = PENDING }) >= n end)
    -- Everyone reconnects at once, in an order unrelated to the start order.
    local re, offers2 = {}, {}
    for k = 1, n do
      local i = (k * 17) % n + 1
      offers2[i] = env.offer("re" .. i)
      re[i] = env.call(rt, "reconnect", starts[i].res.token, offers2[i], { id = "p" .. i })
    end
    env.run(function()
      for i = 1, n do if not re[i].done then return false end end
      return true
    end)
    local new_tokens = {}
    for i = 1, n do
      assert.is_nil(re[i].err)
      assert.is_true(env.names(re[i].res.SignalResponse, offers2[i]), "reconnect answer " .. i)
      assert.is_nil(new_tokens[re[i].res.token])
      new_tokens[re[i].res.token] = true
      assert.is_nil(tokens[re[i].res.token])
    end
    -- Each answer was created for its own session, too.
    for i = 1, n do
      local id = starts[i].res.session:match("([^/]+)$")
      assert.matches("a=x%-gls%-session:" .. id .. "\r\n", re[i].res.SignalResponse)
    end
    assert.equal(n, #env.requests("CreateStreamSessionConnection"))
  end)

  it("refuses a reconnect from a client that does not own the session (default policy)", function()
    local rt = env.runtime()
    local token, arn = env.session({ id = "owner" })
    env.drop(arn)
    local r = env.call(rt, "reconnect", token, env.offer(), { id = "intruder" })
    env.run(function() return r.done end)
    assert.equal("Forbidden", r.err.code)
    assert.equal(403, r.err.status)
    assert.equal("not the session's owner", r.err.message)
    assert.equal(0, #env.requests("CreateStreamSessionConnection"))
    -- The owner still can.
    local o = env.offer()
    local ok = env.call(rt, "reconnect", token, o, { id = "owner" })
    env.run(function() return ok.done end)
    assert.is_true(env.names(ok.res.SignalResponse, o))
  end)

  it("keeps sessions across a policy reload, and keeps the old policy when the new file is broken", function()
    local p1 = tmpfile("return { name = 'v1' }")
    local rt = env.runtime{ policy = p1 }
    local token, arn = env.session({ id = "p" })
    env.drop(arn)
    local p2 = tmpfile([[return { name = 'v2',
      on_reconnect = function(ctx) return { action = "reject", reason = "v2 says no to " .. ctx.requester.id } end }]])
    assert.is_true(rt:reload(p2))
    local r = env.call(rt, "reconnect", token, env.offer(), { id = "p" })
    env.run(function() return r.done end)
    assert.equal("Forbidden", r.err.code)
    assert.equal("v2 says no to p", r.err.message)
    assert.equal(1, rt:stats().sessions)

    local broken = tmpfile("return { on_reconnect = function( }")
    local ok, err = rt:reload(broken)
    assert.is_nil(ok)
    assert.equal("PolicyLoad", err.code)
    assert.matches("expected", err.message)
    local bytecode = tmpfile(string.dump(function() return {} end))
    ok, err = rt:reload(bytecode)
    assert.is_nil(ok)
    assert.matches("binary chunk", err.message)
    local failed = env.events("policy_reload", { ok = false })
    assert.equal(2, #failed)
    -- Still v2, still the same session and token.
    r = env.call(rt, "reconnect", token, env.offer(), { id = "p" })
    env.run(function() return r.done end)
    assert.equal("v2 says no to p", r.err.message)

    -- Back to v1 (no hooks: the defaults) with the same session.
    assert.is_true(rt:reload(p1))
    local o = env.offer()
    r = env.call(rt, "reconnect", token, o, { id = "p" })
    env.run(function() return r.done end)
    assert.is_true(env.names(r.res.SignalResponse, o))
    for _, p in ipairs({ p1, p2, broken, bytecode }) do os.remove(p) end
  end)

  it("learns status with ListStreamSessions sweeps, never by polling each session", function()
    local calls = {}
    local client = env.client
    local spy = setmetatable({
      start = function(_, op, input, cb)
        calls[#calls + 1] = { op = op, input = input }
        return client:start(op, input, cb)
      end,
    }, { __index = function(_, k) return function(_, ...) return client[k](client, ...) end end })
    env.runtime{ client = spy }
    local sessions = {}
    for i = 1, 3 do
      local token, arn = env.session({ id = "p" .. i })
      sessions[i] = { token = token, arn = arn }
    end
    for i = 1, 3 do env.drop(sessions[i].arn) end
    -- Ten more seconds of sweeps with nothing else to do.
    local t0 = env.now()
    env.run(function() return env.now() - t0 >= 10 end)
    local gets, lists, by_status = 0, 0, {}
    for _, c in ipairs(calls) do
      if c.op == "GetStreamSession" then gets = gets + 1 end
      if c.op == "ListStreamSessions" then
        lists = lists + 1
        assert.equal("sg-1AB2C3De4", c.input.Identifier)
        assert.equal(100, c.input.MaxResults)
        assert.is_string(c.input.Status)
        by_status[c.input.Status] = (by_status[c.input.Status] or 0) + 1
      end
    end
    -- One GetStreamSession per started session (its answer), none for status.
    assert.equal(3, gets)
    assert.equal(3, #env.requests("GetStreamSession"))
    assert.equal(lists, #env.requests("ListStreamSessions"))
    -- PENDING_CLIENT_RECONNECTION in every sweep (one a second here, plus the time the
    -- drops took), every other live status in the full sweeps only.
    assert.is_true(by_status[PENDING] >= 10, "PENDING passes: " .. tostring(by_status[PENDING]))
    for _, st in ipairs({ "CONNECTED", "RECONNECTING", "ACTIVATING", "TERMINATING" }) do
      assert.is_true(by_status[st] >= 1 and by_status[st] < by_status[PENDING] / 2, st)
    end
    for i = 1, 3 do
      assert.equal(1, #env.events("status", { session = sessions[i].arn, new = PENDING }))
    end
  end)

  it("pages sweeps 100 sessions at a time and notices sessions that ended", function()
    local rt = env.runtime()
    -- 130 sessions started elsewhere (straight through the client), then tracked.
    local tokens, arns = {}, {}
    for i = 1, 130 do
      local out = assert(env.client:start_stream_session{ Identifier = "sg-1AB2C3De4",
        ApplicationIdentifier = "a-9ZY8X7Wv6", Protocol = "WebRTC", SignalRequest = env.offer() })
      arns[i] = out.Arn
      if i % 20 == 0 then env.advance(1) end
    end
    env.advance(2)
    for i = 1, 130 do
      tokens[i] = rt:track{ arn = arns[i], status = "ACTIVATING", owner = "p" .. i }
      assert.equal(64, #tokens[i])
    end
    env.run(function() return #env.events("status", { new = "ACTIVE" }) >= 130 end)
    -- The emulator ends one by itself (the application exits).
    assert(env.control:request("POST", "/sessions/" .. arns[7]:match("[^/]+$") .. "/terminate", {}))
    env.run(function() return #env.events("ended", { session = arns[7] }) == 1 end)
    local gone = env.call(rt, "answer", tokens[7], 0)
    local alive = env.call(rt, "reconnect", tokens[8], env.offer(), { id = "p8" })
    env.run(function() return gone.done and alive.done end)
    assert.equal("NotFound", gone.err.code)
    assert.is_nil(alive.err)
    assert.equal(129, rt:stats().sessions)
    assert.equal(0, #env.requests("GetStreamSession"))
  end)

  it("reaches 'restart': terminates the old session and answers from a new one", function()
    local rt = env.runtime{ policy_source = [[
      return { on_reconnect = function() return { action = "restart" } end }]] }
    local token, arn = env.session({ id = "p" }, { ConnectionTimeoutSeconds = 200 })
    env.drop(arn)
    local o = env.offer("restart")
    local r = env.call(rt, "reconnect", token, o, { id = "p" })
    env.run(function() return r.done end)
    assert.is_nil(r.err)
    assert.not_equal(arn, r.res.session)
    assert.is_true(env.names(r.res.SignalResponse, o))
    local old = assert(env.control:session(arn))
    assert.is_truthy(old.Status == "TERMINATING" or old.Status == "TERMINATED")
    local new = assert(env.control:session(r.res.session))
    assert.equal(200, new.ConnectionTimeoutSeconds)
    local dead = env.call(rt, "answer", token, 0)
    local fine = env.call(rt, "answer", r.res.token, 0)
    env.run(function() return dead.done and fine.done end)
    assert.equal("NotFound", dead.err.code)
    assert.is_true(env.names(fine.res.SignalResponse, o))
  end)

  it("asks authenticate first, and fails closed when it breaks", function()
    local rt = env.runtime{ policy_source = [[return {
      authenticate = function(request)
        local key = request.client.headers and request.client.headers["x-game-key"]
        if key == nil then return false end
        if key == "crash" then error("cannot parse the key") end
        if key ~= "k-" .. tostring(request.client.id) then return false, "bad game key" end
        return true
      end }]] }
    local who = { id = "p", headers = { ["x-game-key"] = "k-p" } }
    local token, arn = env.session(who)
    local function key(k) return { id = "p", headers = { ["x-game-key"] = k } } end
    local bad = env.call(rt, "start", { SignalRequest = env.offer() }, key("k-q"))
    local crash = env.call(rt, "start", { SignalRequest = env.offer() }, key("crash"))
    local none = env.call(rt, "terminate", token, { id = "p" })
    env.wait_all({ bad, crash, none })
    assert.equal("bad game key", bad.err.message)
    assert.equal("Forbidden", crash.err.code)
    assert.equal("authentication failed (policy error)", crash.err.message)
    assert.equal("not authenticated", none.err.message)
    assert.equal(1, #env.requests("StartStreamSession"))
    assert.equal(1, #env.events("policy_error", { hook = "authenticate" }))
    env.drop(arn)
    local o = env.offer()
    local ok = env.call(rt, "reconnect", token, o, who)
    env.run(function() return ok.done end)
    assert.is_true(env.names(ok.res.SignalResponse, o))
  end)

  it("lets on_answer keep an answer for the owner or drop it, and 'later' wait", function()
    local rt = env.runtime{ policy_source = [[return {
      on_reconnect = function(ctx)
        if ctx.requester.device == "slow" then return { action = "later", delay = 3 } end
      end,
      on_answer = function(ctx, answer)
        if ctx.requester.device == "kiosk" then return { deliver = "owner" } end
        if ctx.requester.device == "spy" and answer:find("x-gls-offer-sha256", 1, true) then
          return { deliver = "drop" }
        end
      end }]] }
    local token, arn = env.session({ id = "p", device = "tv" })
    -- The kiosk's answer goes to the token's long poll, not to the kiosk.
    env.drop(arn)
    local o = env.offer("kiosk")
    local kiosk = env.call(rt, "reconnect", token, o, { id = "p", device = "kiosk" })
    env.run(function() return kiosk.done end)
    assert.equal("Withheld", kiosk.err.code)
    assert.equal(403, kiosk.err.status)
    local owner = env.call(rt, "answer", token, 0)
    env.run(function() return owner.done end)
    assert.is_true(env.names(owner.res.SignalResponse, o))
    -- A dropped answer reaches no one.
    env.drop(arn)
    local spy = env.call(rt, "reconnect", token, env.offer("spy"), { id = "p", device = "spy" })
    env.run(function() return spy.done end)
    assert.equal("Withheld", spy.err.code)
    local after = env.call(rt, "answer", token, 0)
    env.run(function() return after.done end)
    assert.equal("NotReady", after.err.code)
    -- "later": the call waits 3 s.
    env.drop(arn)
    local t0 = env.now()
    assert(env.control:clear_requests())
    local slow = env.call(rt, "reconnect", token, env.offer("slow"), { id = "p", device = "slow" })
    env.run(function() return slow.done end)
    assert.is_nil(slow.err)
    local calls = env.requests("CreateStreamSessionConnection")
    assert.equal(1, #calls)
    assert.is_true(calls[1].time - t0 >= 3 and calls[1].time - t0 < 3.5, tostring(calls[1].time - t0))
    -- Hooks that returned nothing left the decision to the defaults, without errors.
    assert.equal(0, rt:stats().policy_errors)
  end)

  it("tells the policy the deadline it schedules by, learnt or bounded", function()
    local rt = env.runtime{ policy_source = [[return { on_reconnect = function(ctx)
      gls.log({ known = ctx.deadline_known, deadline = ctx.deadline, learnt = ctx.session.deadline })
    end }]] }
    local s = env.sessions(1, nil, function() return { ConnectionTimeoutSeconds = 60 } end)[1]
    -- Asked before any sweep saw the drop: a lower bound, never later than the truth.
    assert(env.control:connect(s.arn))
    local dropped = env.now()
    assert(env.control:disconnect(s.arn))
    local r = env.call(rt, "reconnect", s.token, env.offer(), s.client)
    env.run(function() return r.done end)
    assert.is_nil(r.err)
    local first = env.events("policy_log")[1].data
    assert.is_false(first.known)
    assert.is_nil(first.learnt)
    assert.is_true(first.deadline <= dropped + 60 + 1e-6 and first.deadline > dropped + 60 - 3)
    -- Asked after a sweep learnt it: the deadline the emulator enforces.
    s.token = r.res.token
    dropped = env.now()
    env.drop_all({ s })
    r = env.call(rt, "reconnect", s.token, env.offer(), s.client)
    env.run(function() return r.done end)
    local second = env.events("policy_log")[2].data
    assert.is_true(second.known)
    assert.equal(second.learnt, second.deadline)
    assert.is_true(math.abs(second.deadline - (dropped + 60)) < 0.01)
  end)

  it("keeps the token when asked to (the Web SDK sample's client cannot take a new one)", function()
    local rt = env.runtime()
    local s = env.sessions(1)[1]
    for i = 1, 2 do
      env.drop_all({ s })
      local o = env.offer("keep" .. i)
      local r = {}
      rt:reconnect(s.token, o, s.client, function(res, err) r.res, r.err, r.done = res, err, true end,
        { rotate = false })
      env.run(function() return r.done end)
      assert.is_true(env.names(r.res.SignalResponse, o))
      assert.equal(s.token, r.res.token)
    end
    env.drop_all({ s })
    local o = env.offer("rotate")
    local r = env.call(rt, "reconnect", s.token, o, s.client)
    env.run(function() return r.done end)
    assert.is_true(env.names(r.res.SignalResponse, o))
    assert.not_equal(s.token, r.res.token)
    assert.has_error(function() rt:reconnect(s.token, "o", nil, function() end, "rotate") end)
  end)

  it("never tells its host to step again at once when the budget's wait is under the clock's resolution",
  function()
    local runtime = require "gameliftstreams.runtime"
    -- A store whose bucket is always a hair short of a whole call: at epoch
    -- magnitude now + 1e-12 == now.
    local short = runtime.memory_store()
    function short.take() return 1e-12 end
    local now = 1.8e9
    local rt = assert(runtime.new{ client = env.client, store = short, now = function() return now end })
    rt.sched:push({ op = "ListStreamSessions", priority = 0 }, now)
    rt:step(0)
    local t = rt:timeout()
    assert.is_true(t > 0 and t < 1e-5, tostring(t))
    now = now + t
    assert.is_true(now > 1.8e9)
    rt:close()
  end)

  it("raises on misuse and calls back exactly once, later, for recoverable failures", function()
    local rt = env.runtime()
    assert.has_error(function() rt:start("x", nil, function() end) end)
    assert.has_error(function() rt:start({}, nil, function() end) end)
    assert.has_error(function() rt:start({ SignalRequest = "o" }, nil, nil) end)
    assert.has_error(function() rt:reconnect(nil, "o", nil, function() end) end)
    assert.has_error(function() rt:answer("t", -1, function() end) end)
    assert.has_error(function() rt:track{ arn = 5 } end)
    assert.has_error(function() rt:step(-1) end)
    local runtime = require "gameliftstreams.runtime"
    assert.has_error(function() runtime.new{} end)
    assert.has_error(function() runtime.new{ client = env.client, rates = { StartStreamSession = 0 } } end)
    local none, err = runtime.new{ client = env.client, policy_source = "return 1" }
    assert.is_nil(none)
    assert.equal("PolicyLoad", err.code)
    assert.matches("must return a table of hooks", err.message)
    none, err = runtime.new{ client = env.client, policy = "/nonexistent/policy.lua" }
    assert.is_nil(none)
    assert.matches("No such file", err.message)
    local unknown = env.call(rt, "reconnect", core.random_hex(32), "o", nil)
    assert.is_nil(unknown.done)
    rt:step(0)
    assert.equal("NotFound", unknown.err.code)
    -- close() cancels what is still waiting, exactly once.
    local pending = env.call(rt, "start", { SignalRequest = env.offer() }, nil)
    rt:close()
    assert.equal("Cancelled", pending.err.code)
    assert.has_error(function() rt:start({ SignalRequest = "o" }, nil, function() end) end)
  end)
end)
