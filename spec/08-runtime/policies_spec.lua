-- The example policies (examples/policies/), each on the emulator, each next to
-- what the default policy does in the same situation.
local support = require "spec.support.runtime"

local CSSC = "CreateStreamSessionConnection"
local DIR = "examples/policies/"

describe("example policies", function()
  local env
  before_each(function() env = support.start() end)
  after_each(function() env.stop() end)

  local function reconnect(s, who, tag)
    local o = env.offer(tag)
    local r = env.call(env.rt, "reconnect", s.token, o, who or s.client)
    env.run(function() return r.done end)
    if r.res then
      assert.is_true(env.names(r.res.SignalResponse, o))
      s.token = r.res.token
    end
    return r
  end

  describe("owner_only.lua", function()
    it("lets only the owner reconnect, at most three times per session", function()
      env.runtime{ policy = DIR .. "owner_only.lua" }
      local s = env.sessions(1, function() return { id = "alice", device = "phone" } end)[1]
      env.drop_all({ s })
      assert.equal("not the session's owner", reconnect(s, { id = "mallory" }).err.message)
      assert.equal("not the session's owner", reconnect(s, { device = "phone" }).err.message)
      for i = 1, 3 do
        local r = reconnect(s, nil, "r" .. i)
        assert.is_nil(r.err, i)
        -- The player connects with that answer and drops again.
        env.drop_all({ s })
      end
      local r = reconnect(s)
      assert.equal("Forbidden", r.err.code)
      assert.equal("reconnect limit reached (3)", r.err.message)
      assert.equal(3, #env.requests(CSSC))
      -- Another session of the same player has its own count.
      local s2 = env.sessions(1, function() return { id = "alice", device = "phone" } end)[1]
      env.drop_all({ s2 })
      assert.is_nil(reconnect(s2).err)
    end)

    it("differs from the default policy, which has no cap", function()
      env.runtime()
      local s = env.sessions(1, function() return { id = "alice" } end)[1]
      for i = 1, 4 do
        env.drop_all({ s })
        assert.is_nil(reconnect(s, nil, "r" .. i).err)
      end
    end)
  end)

  describe("takeover.lua", function()
    -- alice's phone and her TV both ask for her dropped session in the same moment.
    local function race()
      local s = env.sessions(1, function() return { id = "alice", device = "phone" } end)[1]
      env.drop_all({ s })
      local phone_offer, tv_offer = env.offer("phone"), env.offer("tv")
      local phone = env.call(env.rt, "reconnect", s.token, phone_offer, { id = "alice", device = "phone" })
      local tv = env.call(env.rt, "reconnect", s.token, tv_offer, { id = "alice", device = "tv" })
      env.wait_all({ phone, tv })
      return s, phone, tv, tv_offer
    end

    it("hands the session to the player's new device and tells the old one", function()
      env.runtime{ policy = DIR .. "takeover.lua" }
      local s, phone, tv, tv_offer = race()
      assert.equal("TakenOver", phone.err.code)
      assert.equal(409, phone.err.status)
      assert.is_true(env.names(tv.res.SignalResponse, tv_offer))
      assert.equal(1, #env.requests(CSSC))
      local event = env.events("takeover", { session = s.arn })[1]
      assert.equal("phone", event.from_device)
      assert.equal("tv", event.to_device)
      assert.equal(1, #env.events("policy_log", { hook = "on_reconnect" }))
      -- Whatever the phone tries next with its token, it is told the same.
      local again = env.call(env.rt, "reconnect", s.token, env.offer(), { id = "alice", device = "phone" })
      local poll = env.call(env.rt, "answer", s.token, 5)
      env.wait_all({ again, poll })
      assert.equal("TakenOver", again.err.code)
      assert.equal("TakenOver", poll.err.code)
      -- The TV is now the session's device: its next drop is a plain reconnect.
      s.token = tv.res.token
      env.drop_all({ s })
      assert.is_nil(reconnect(s, { id = "alice", device = "tv" }).err)
      assert.equal(1, #env.events("takeover"))
      -- Another player's device cannot take it.
      local r = reconnect(s, { id = "bob", device = "tv" })
      assert.equal("not the session's owner", r.err.message)
    end)

    it("differs from the default policy, where the newer request merely supersedes the older", function()
      env.runtime()
      local s, phone, tv, tv_offer = race()
      assert.equal("Superseded", phone.err.code)
      assert.is_true(env.names(tv.res.SignalResponse, tv_offer))
      local again = env.call(env.rt, "reconnect", s.token, env.offer(), { id = "alice", device = "phone" })
      env.wait_all({ again })
      assert.equal("NotFound", again.err.code)
      assert.equal(0, #env.events("takeover"))
    end)
  end)

  describe("shedding.lua", function()
    -- 12 players drop at once, windows of 8 s, and the account allows 1 call/s:
    -- about 6 can be saved. 4 pay. They ask free, paying, free, free, paying, ...
    local function run_storm(policy)
      env.runtime{ policy = policy, rates = { [CSSC] = 1 } }
      local tiers = { "free", "paying", "free", "free", "paying", "free", "free", "paying", "free", "free",
                      "paying", "free" }
      local list = env.sessions(#tiers,
        function(i) return { id = "p" .. i, attributes = { tier = tiers[i] } } end,
        function() return { ConnectionTimeoutSeconds = 8 } end)
      local boxes, offers = env.ask_all(list, 1)
      env.rt:step(0)
      local at_once = {}
      for i = 1, #list do if boxes[i].done then at_once[i] = boxes[i].err and boxes[i].err.code end end
      env.wait_all(boxes)
      local out = { paying = 0, paying_saved = 0, saved = 0, shed_at_once = 0, expired = 0 }
      for i = 1, #list do
        local b = boxes[i]
        if tiers[i] == "paying" then out.paying = out.paying + 1 end
        if b.res then
          assert.is_true(env.names(b.res.SignalResponse, offers[i]))
          out.saved = out.saved + 1
          if tiers[i] == "paying" then out.paying_saved = out.paying_saved + 1 end
        elseif b.err.code == "Forbidden" then
          assert.equal("free", tiers[i])
          assert.equal("Forbidden", at_once[i])
          out.shed_at_once = out.shed_at_once + 1
        else
          assert.equal("DeadlineExceeded", b.err.code)
          out.expired = out.expired + 1
        end
      end
      out.calls = #env.requests(CSSC)
      return out
    end

    it("saves every paying player and sheds free ones at once when the queue cannot serve them", function()
      local r = run_storm(DIR .. "shedding.lua")
      assert.equal(4, r.paying_saved)
      assert.is_true(r.saved >= 5 and r.saved <= 7, tostring(r.saved))
      assert.is_true(r.shed_at_once >= 3, tostring(r.shed_at_once))
      assert.equal(r.saved, r.calls)                 -- no call spent on a player who was not saved
    end)

    it("differs from the default policy, which serves in arrival order and loses paying players", function()
      local r = run_storm(nil)
      assert.is_true(r.paying_saved < r.paying, tostring(r.paying_saved))
      assert.equal(0, r.shed_at_once)
      assert.equal(r.saved, r.calls)
    end)

  end)

  describe("retry_by_code.lua", function()
    local function flaky(policy, faults)
      env.runtime{ policy = policy }
      local s = env.sessions(1)[1]
      env.drop_all({ s })
      assert(env.control:clear_requests())
      assert(env.control:faults(faults))
      return reconnect(s), #env.requests(CSSC)
    end

    it("rides out a service that fails four times in a row", function()
      local r, calls = flaky(DIR .. "retry_by_code.lua", { status = 503, count = 4, operation = CSSC })
      assert.is_nil(r.err)
      assert.equal(5, calls)
    end)

    it("differs from the default policy, which gives up after three attempts", function()
      local r, calls = flaky(nil, { status = 503, count = 4, operation = CSSC })
      assert.equal("ServiceUnavailableException", r.err.code)
      assert.equal(503, r.err.status)
      assert.equal(3, calls)
    end)

    it("never retries a validation error", function()
      local r, calls = flaky(DIR .. "retry_by_code.lua", { status = 400, count = 1, operation = CSSC })
      assert.equal("ValidationException", r.err.code)
      assert.equal(1, calls)
    end)
  end)
end)
