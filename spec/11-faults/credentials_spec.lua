-- Credentials that expire mid-storm: a credential_process hands out temporary
-- keys that expire within 1-3 s and rotate every 2 s between two key pairs;
-- the emulator (--credentials FILE) accepts both. A storm of non-blocking
-- reconnects over several rotations, then glsrun serve with the same profile:
-- every request is signed with fresh credentials and none fails.
local core = require "gameliftstreams.core"
local gls = require "gameliftstreams"
local cjson = require "cjson"
local emulator = require "spec.support.emulator"
local serve = require "spec.support.serve"
local faults = require "spec.support.faults"
local helper = require "spec.helper"

local CSSC, SG = faults.CSSC, faults.SG

local KEYS = {
  A = { id = "AKIDROTATEA0000000", secret = "rotate/secret/A+key", token = "session-token-A" },
  B = { id = "AKIDROTATEB0000000", secret = "rotate/secret/B+key", token = "session-token-B" },
}

describe("credentials expiring mid-storm #faults", function()
  local dir, e
  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. helper.quote(dir)))
    local creds = {}
    for _, k in pairs(KEYS) do creds[k.id] = { secret_access_key = k.secret, session_token = k.token } end
    helper.write_file(dir .. "/emulator-keys.json", cjson.encode(creds))
    -- key A in even 2-second slots, B in odd ones; each expires 1-3 s ahead
    local lines = { "#!/bin/sh", "now=$(date +%s)", "slot=$((now / 2))",
      "if [ $((slot % 2)) -eq 0 ]; then k=A; else k=B; fi",
      "exp=$(date -u -d @$(((slot + 1) * 2 + 1)) +%Y-%m-%dT%H:%M:%SZ)",
      "echo $k >> " .. dir .. "/issued" }
    lines[#lines + 1] = ("if [ $k = A ]; then printf '%s' \"$exp\"; else printf '%s' \"$exp\"; fi"):format(
      ('{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"%s","SessionToken":"%s","Expiration":"%%s"}\\n')
        :format(KEYS.A.id, KEYS.A.secret, KEYS.A.token),
      ('{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"%s","SessionToken":"%s","Expiration":"%%s"}\\n')
        :format(KEYS.B.id, KEYS.B.secret, KEYS.B.token))
    helper.write_file(dir .. "/creds.sh", table.concat(lines, "\n") .. "\n")
    assert(os.execute("chmod +x " .. helper.quote(dir .. "/creds.sh")))
    helper.write_file(dir .. "/config", "[profile rotating]\ncredential_process = " .. dir .. "/creds.sh\n"
      .. "region = us-west-2\n")
    e = emulator.start{ clock = "virtual", args = { "--credentials", dir .. "/emulator-keys.json" } }
    assert(e.control:quotas{ ["*"] = 0 })
  end)
  teardown(function()
    if e then e.stop() end
    if dir then os.execute("rm -rf " .. helper.quote(dir)) end
  end)

  local function issued()
    local f = io.open(dir .. "/issued")
    local n, seen = 0, {}
    if f then
      for k in f:lines() do
        n = n + 1
        seen[k] = true
      end
      f:close()
    end
    return n, seen
  end

  local function profile_env()
    return { AWS_CONFIG_FILE = dir .. "/config", AWS_SHARED_CREDENTIALS_FILE = dir .. "/none",
             AWS_PROFILE = "rotating", HOME = dir, AWS_EC2_METADATA_DISABLED = "true" }
  end

  it("keeps a non-blocking storm going across key rotations with no failed request", function()
    -- (the emulator knows only the two rotating keys: the sessions are set up with key A)
    local c = gls.client{ environment = profile_env(), endpoint_url = e.url, max_attempts = 1 }
    local setup_c = e.client{ credentials = { access_key_id = KEYS.A.id, secret_access_key = KEYS.A.secret,
                                              session_token = KEYS.A.token } }
    local list, boxes = {}, {}
    for i = 1, 24 do list[i] = { arn = faults.pending(e, setup_c), offer = faults.offer("c" .. i) } end
    setup_c:close()
    local n0 = issued()
    local t0 = core.time()
    -- 24 reconnects, 4 every 0.5 s of real time: the keys rotate once or twice
    for i, x in ipairs(list) do
      x.box = faults.box()
      boxes[i] = x.box
      c:start(CSSC, { Identifier = SG, StreamSessionIdentifier = x.arn, SignalRequest = x.offer }, x.box.cb)
      if i == 1 then assert.equal("profile rotating (credential_process)", c:credential_source()) end
      if i % 4 == 0 then
        local wake = core.time() + 0.5
        while core.time() < wake do c:step(0.05) end
      end
    end
    faults.drive(c, boxes, 30)
    assert.is_true(core.time() - t0 >= 2.5)
    for _, x in ipairs(list) do
      assert.equal(1, x.box.n)
      assert.is_table(x.box.out, x.box.err and tostring(x.box.err))
      assert.is_true(faults.names(x.box.out.SignalResponse, x.offer))
    end
    local n, seen = issued()
    assert.is_true(seen.A and seen.B, "both keys were handed out")
    assert.is_true(n - n0 >= 24, "refreshed as they expired")
    for _, r in ipairs(assert(e.control:requests())) do
      assert.is_true(r.status == 200 or r.status == 201, tostring(r.error))
    end
    c:close()
  end)

  it("glsrun serve with that profile keeps every player's calls signed", function()
    local env = profile_env()
    env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY = "", ""     -- the profile, not the example key
    local emu = emulator.start{ args = { "--credentials", dir .. "/emulator-keys.json" } }
    assert(emu.control:request("POST", "/delays", { activation = 0.05 }))
    local s = serve.start{ endpoint_url = emu.url, env = env }
    local ok, why = pcall(function()
      local n0 = issued()
      local list = faults.players(s, 3)
      faults.drop_all(emu.control, list)
      for _, r in ipairs(faults.reconnects(s, list)) do assert.equal(200, r.status, faults.why(r)) end
      for _, r in ipairs(assert(emu.control:requests())) do
        assert.is_true(r.status == 200 or r.status == 201, tostring(r.error))
      end
      assert.is_true(issued() - n0 >= 6, "fresh credentials for every call")
      for _, k in pairs(KEYS) do assert.is_nil(s.stderr():find(k.secret, 1, true), "a secret in the log") end
    end)
    local code, _, err = s.stop()
    emu.stop()
    assert(ok, why)
    assert.equal(0, code, err)
  end)
end)
