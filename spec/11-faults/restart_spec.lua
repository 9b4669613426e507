-- The emulator killed (SIGKILL) while requests are in flight (a latency fault
-- holds them), and a new one started on the same port at once: non-blocking
-- calls, the runtime's reconnects and glsrun serve's players each get exactly
-- one clear outcome (a connection error, the new service's answer, or the
-- session gone), none hangs, and everything works against the new emulator.
local core = require "gameliftstreams.core"
local emulator = require "spec.support.emulator"
local faults = require "spec.support.faults"
local serve = require "spec.support.serve"
local support = require "spec.support.runtime"

local CSSC, SG = faults.CSSC, faults.SG

-- Waits until the emulator's request log holds n entries of op (the requests
-- arrived and are held by the latency fault).
local function arrived(control, op, n, step)
  local deadline = core.time() + 20
  while true do
    local c = 0
    for _, r in ipairs(assert(control:requests())) do
      if r.operation == op then c = c + 1 end
    end
    if c >= n then return end
    assert(core.time() < deadline, ("%d of %d %s requests arrived"):format(c, n, op))
    if step then step() else os.execute("sleep 0.02") end
  end
end

-- SIGKILL, then a new emulator on the same port.
local function kill_and_restart(e, opts)
  local port = e.url:match(":(%d+)$")
  assert(os.execute("kill -KILL " .. e.pid))
  local o = { listen = "127.0.0.1:" .. port }
  for k, v in pairs(opts or {}) do o[k] = v end
  local e2 = emulator.start(o)
  assert.equal(e.url, e2.url)
  return e2
end

describe("the emulator killed and restarted mid-flight #faults", function()
  it("gives each non-blocking call one outcome: ConnectionError, or the new emulator's answer after a retry",
  function()
    local e = emulator.start{ clock = "virtual" }
    local e2
    local ok, why = pcall(function()
      local once = e.client{ max_attempts = 1, read_timeout = 10 }
      local retrying = e.client{ max_attempts = 6, retry_base_delay = 0.5, read_timeout = 10 }
      local list = {}
      for i = 1, 4 do list[i] = { arn = faults.pending(e, once), offer = faults.offer("k" .. i) } end
      assert(e.control:clear_requests())
      assert(e.control:faults{ latency_ms = 30000, count = 8 })
      local boxes = {}
      for _, x in ipairs(list) do
        x.box = faults.box()
        boxes[#boxes + 1] = x.box
        once:start(CSSC, { Identifier = SG, StreamSessionIdentifier = x.arn, SignalRequest = x.offer }, x.box.cb)
      end
      local gets = {}
      for i = 1, 4 do
        gets[i] = faults.box()
        retrying:start("GetStreamGroup", { Identifier = SG }, gets[i].cb)
      end
      local function step() once:step(0); retrying:step(0) end
      arrived(e.control, CSSC, 4, step)
      arrived(e.control, "GetStreamGroup", 4, step)
      e2 = kill_and_restart(e, { clock = "virtual" })
      local t0 = core.time()
      faults.drive(once, boxes, 20)
      faults.drive(retrying, gets, 20)
      assert.is_true(core.time() - t0 < 20)
      for _, x in ipairs(list) do
        assert.equal(1, x.box.n)
        assert.is_nil(x.box.out)
        assert.same({ "ConnectionError", true }, { x.box.err.code, x.box.err.retryable })
        assert.is_nil(x.box.err.status)
      end
      for _, b in ipairs(gets) do
        assert.equal(1, b.n)
        assert.is_table(b.out, b.err and tostring(b.err))
        assert.equal("ACTIVE", b.out.Status)
        assert.is_true(b.out.ResponseMetadata.RetryAttempts >= 1)
      end
      -- both clients work against the new emulator
      for _, c in ipairs({ once, retrying }) do
        assert.equal("ACTIVE", assert(c:get_stream_group{ Identifier = SG }).Status)
        assert.equal(0, c:in_flight())
        c:close()
      end
    end)
    if e2 then e2.stop() end
    e.stop()
    assert(ok, why)
  end)

  it("ends the runtime's reconnects in flight with one clear outcome each, and the runtime goes on", function()
    local env = support.start()
    local e2
    local ok, why = pcall(function()
      local c = env.e.client{ max_attempts = 1, read_timeout = 10 }
      env.runtime{ client = c }
      local list = env.sessions(4)
      env.drop_all(list)
      assert(env.control:clear_requests())
      assert(env.control:faults{ latency_ms = 30000, count = 4, operation = CSSC })
      local boxes = {}
      for i, s in ipairs(list) do
        s.offer2 = env.offer("r" .. i)
        boxes[i] = env.call(env.rt, "reconnect", s.token, s.offer2, s.client)
      end
      arrived(env.control, CSSC, 4, function() env.rt:step(0.01) end)
      e2 = kill_and_restart(env.e, { clock = "virtual" })
      local t0 = core.time()
      env.wait_all(boxes)
      assert.is_true(core.time() - t0 < 30)
      for _, b in ipairs(boxes) do
        assert.equal(1, b.n)
        assert.is_nil(b.res)       -- the new emulator never heard of these sessions
        local code = b.err.code
        assert.is_true(code == "SessionEnded" or code == "ConnectionError", code)
      end
      -- the runtime goes on with the new emulator: a new player, its answer, a reconnect
      faults.rejoin(env, env.sessions(1)[1])
    end)
    if e2 then e2.stop() end
    env.stop()
    assert(ok, why)
  end)

  it("gives every glsrun serve player in flight one reply, and serves new players after the restart", function()
    local e = emulator.start{}
    local e2, s
    local ok, why = pcall(function()
      assert(e.control:request("POST", "/delays", { activation = 0.05 }))
      s = serve.start{ endpoint_url = e.url }
      local list = faults.players(s, 3)
      faults.drop_all(e.control, list)
      assert(e.control:clear_requests())
      assert(e.control:faults{ latency_ms = 30000, count = 3, operation = CSSC })
      local wait = faults.reconnects(s, list, { background = true })
      arrived(e.control, CSSC, 3)
      e2 = kill_and_restart(e)
      assert(e2.control:request("POST", "/delays", { activation = 0.05 }))
      local t0 = core.time()
      local replies = wait()
      assert.is_true(core.time() - t0 < 30, "a player waited")
      faults.check_reconnects(list, replies)
      for _, r in ipairs(replies) do
        -- the session is gone from the new service (410), or the old one never answered (502)
        assert.is_true((r.status == 410 and r.body.code == "SessionEnded")
          or (r.status == 502 and r.body.code == "ConnectionError"), tostring(r.status) .. " "
          .. tostring(type(r.body) == "table" and r.body.code or r.body))
      end
      -- new players get in through the new emulator, and back in after a drop
      local fresh = faults.players(s, 2)
      faults.drop_all(e2.control, fresh)
      for _, r in ipairs(faults.reconnects(s, fresh)) do assert.equal(200, r.status, faults.why(r)) end
    end)
    local code, _, err
    if s then code, _, err = s.stop() end
    if e2 then e2.stop() end
    e.stop()
    assert(ok, why)
    assert.equal(0, code, err)
  end)
end)
