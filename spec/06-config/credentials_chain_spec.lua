-- The credential chain end to end, through the client, against servers on
-- 127.0.0.1 that speak STS's query API, the container endpoint and IMDSv2
-- (spec/support/cred_servers.py), and the API test server.
local server_mod = require "spec.support.server"
local helper = require "spec.helper"
local gls = require "gameliftstreams"
local core = require "gameliftstreams.core"
local cjson = require "cjson"

local available, why = server_mod.available()

local function authz(req)
  for _, h in ipairs(req.headers) do
    if h[1]:lower() == "authorization" then return h[2] end
  end
end
local function akid(req) return authz(req):match("Credential=([^/]+)/") end

local function iso(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end

describe("credential chain #network", function()
  local creds, api, dir
  setup(function()
    if not available then return end
    creds = server_mod.start{ script = "spec/support/cred_servers.py" }
    api = server_mod.start{ no_verify = true }
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
    helper.write_file(dir .. "/config", table.concat({
      "[profile base]", "aws_access_key_id = AKIDSOURCE", "aws_secret_access_key = source/secret+key", "",
      "[profile r1]", "role_arn = arn:aws:iam::111122223333:role/one", "source_profile = base", "",
      "[profile r2]", "role_arn = arn:aws:iam::111122223333:role/two", "source_profile = r1", "",
      "[profile r3]", "role_arn = arn:aws:iam::111122223333:role/three", "source_profile = r2",
      "role_session_name = game-backend", "region = us-west-2", "",
      "[profile loop-a]", "role_arn = arn:aws:iam::111122223333:role/a", "source_profile = loop-b", "",
      "[profile loop-b]", "role_arn = arn:aws:iam::111122223333:role/b", "source_profile = loop-a", "",
      "[profile orphan]", "role_arn = arn:aws:iam::111122223333:role/x", "source_profile = missing", "",
      "[profile badjson]", "credential_process = " .. dir .. "/bad.sh", "",
      "[profile fails]", "credential_process = " .. dir .. "/fails.sh", "",
      "[profile ext]", "role_arn = arn:aws:iam::111122223333:role/needs-external-id", "source_profile = base",
      "external_id = ext-123", "",
    }, "\n"))
    helper.write_file(dir .. "/bad.sh", "#!/bin/sh\necho '{not json'\n")
    helper.write_file(dir .. "/fails.sh", "#!/bin/sh\necho 'token expired, run login' >&2\nexit 3\n")
    os.execute("chmod +x " .. dir .. "/*.sh")
  end)
  teardown(function()
    if creds then creds.stop() end
    if api then api.stop() end
    if dir then os.execute("rm -rf " .. dir) end
  end)
  before_each(function()
    if creds then creds.post("/_ctl/reset") end
    if api then api.reset() end
  end)

  local function need()
    if not available then pending("needs python3 with botocore: " .. tostring(why)) end
    return available
  end

  local function env(extra)
    local e = { AWS_CONFIG_FILE = dir .. "/config", AWS_SHARED_CREDENTIALS_FILE = dir .. "/none",
      HOME = dir, AWS_REGION = "us-west-2", AWS_ENDPOINT_URL_STS = creds.url .. "/sts" }
    for k, v in pairs(extra or {}) do e[k] = v end
    return e
  end

  it("follows a profile chain of three assume-roles, each signed by the one before", function()
    if not need() then return end
    local c = gls.client{ environment = env{ AWS_PROFILE = "r3" }, dry_run = true }
    local req = assert(c:list_stream_groups{})
    assert.equal("profile r3 (assume role)", c:credential_source())
    c:close()
    assert.matches("^ASIA", akid(req))
    local n = creds.get("/_ctl/counters")
    assert.equal(3, n.assume_role)
    assert.equal(0, n.bad_signature)
    assert.equal(1, n.assume_role_by_arn["arn:aws:iam::111122223333:role/one"])
    assert.equal(1, n.assume_role_by_arn["arn:aws:iam::111122223333:role/three"])
    assert.equal("game-backend", n.last_sts.RoleSessionName)
  end)

  it("reaches the same role as botocore for that chain", function()
    if not need() then return end
    local e = env{ AWS_PROFILE = "r3" }
    local c = gls.client{ environment = e, dry_run = true }
    local req = assert(c:list_stream_groups{})
    c:close()
    local b = helper.python_json("spec/support/botocore_resolve.py", { env = e, request = cjson.null })
    -- issued keys are "ASIA" + 12 hex of sha1(role ARN) + an issue number
    assert.equal(akid(req):sub(1, 16), b.access_key:sub(1, 16))
  end)

  it("passes external_id", function()
    if not need() then return end
    local c = gls.client{ environment = env{ AWS_PROFILE = "ext" }, dry_run = true }
    assert.truthy(c:list_stream_groups{})
    c:close()
    assert.equal("ext-123", creds.get("/_ctl/counters").last_sts.ExternalId)
  end)

  it("refuses loops and missing source profiles, naming the profile", function()
    if not need() then return end
    local c = gls.client{ environment = env{ AWS_PROFILE = "loop-a" }, dry_run = true }
    local _, err = c:list_stream_groups{}
    c:close()
    assert.equal("NoCredentials", err.code)
    assert.matches("loop", err.message)
    c = gls.client{ environment = env{ AWS_PROFILE = "orphan" }, dry_run = true }
    _, err = c:list_stream_groups{}
    c:close()
    assert.matches('source_profile "missing" does not exist', err.message, 1, true)
    assert.equal(0, creds.get("/_ctl/counters").assume_role, "nothing was sent")
  end)

  it("reports a credential_process that prints bad JSON or exits non-zero", function()
    if not need() then return end
    local c = gls.client{ environment = env{ AWS_PROFILE = "badjson" }, dry_run = true }
    local _, err = c:list_stream_groups{}
    c:close()
    assert.equal("NoCredentials", err.code)
    assert.matches("credential_process", err.message)
    c = gls.client{ environment = env{ AWS_PROFILE = "fails" }, dry_run = true }
    _, err = c:list_stream_groups{}
    c:close()
    assert.matches("status 3", err.message)
  end)

  it("uses web identity from the environment", function()
    if not need() then return end
    helper.write_file(dir .. "/token", "eyJ-a-web-identity-token\n")
    local c = gls.client{ environment = env{ AWS_WEB_IDENTITY_TOKEN_FILE = dir .. "/token",
      AWS_ROLE_ARN = "arn:aws:iam::111122223333:role/pods", AWS_ROLE_SESSION_NAME = "pod-7" }, dry_run = true }
    local req = assert(c:list_stream_groups{})
    assert.matches("^web identity", c:credential_source())
    c:close()
    assert.matches("^ASIA", akid(req))
    local n = creds.get("/_ctl/counters")
    assert.equal(1, n.web_identity)
    assert.equal("pod-7", n.last_sts.RoleSessionName)
  end)

  it("uses the container endpoint with its authorization token file", function()
    if not need() then return end
    helper.write_file(dir .. "/ctoken", "container-auth-token")
    local c = gls.client{ environment = env{ AWS_CONTAINER_CREDENTIALS_FULL_URI = creds.url .. "/container/creds",
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = dir .. "/ctoken" }, dry_run = true }
    assert.truthy(c:list_stream_groups{})
    assert.equal("container endpoint", c:credential_source())
    c:close()
    assert.equal("container-auth-token", creds.get("/_ctl/counters").last_container_auth)
  end)

  it("uses IMDSv2, and an IMDS that never answers fails fast", function()
    if not need() then return end
    local e = env{ AWS_EC2_METADATA_SERVICE_ENDPOINT = creds.url, AWS_METADATA_SERVICE_TIMEOUT = "0.3" }
    local c = gls.client{ environment = e, dry_run = true }
    assert.truthy(c:list_stream_groups{})
    c:close()
    local n = creds.get("/_ctl/counters")
    assert.equal(1, n.imds_token)
    assert.equal(1, n.imds_creds)
    creds.post("/_ctl/fault", { target = "imds-token", delay = 5, count = 1 })
    c = gls.client{ environment = e, dry_run = true }
    local t0 = os.clock()
    local w0 = os.time()
    local _, err = c:list_stream_groups{}
    c:close()
    assert.equal("NoCredentials", err.code)
    assert.matches("IMDS: timed out", err.message)
    assert.is_true(os.time() - w0 <= 1, "failed within the 0.3 s timeout, not the 5 s delay")
    assert.is_true(os.clock() - t0 < 1)
    -- AWS_EC2_METADATA_DISABLED turns the source off
    c = gls.client{ environment = env{ AWS_EC2_METADATA_DISABLED = "true" }, dry_run = true }
    _, err = c:list_stream_groups{}
    c:close()
    assert.matches("Unable to locate credentials", err.message)
  end)

  it("refreshes exactly once when credentials expire under 1,000 requests in flight, and none fails", function()
    if not need() then return end
    -- first credentials: 3 s before the 15-minute refresh window opens
    creds.post("/_ctl/config", { expiration = iso(os.time() + 15 * 60 + 3) })
    local c = gls.client{ environment = env{ AWS_CONTAINER_CREDENTIALS_FULL_URI = creds.url .. "/container/creds",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = "container-auth-token" }, endpoint_url = api.url, max_attempts = 1 }
    assert.truthy(c:list_stream_groups{})
    assert.equal(1, creds.get("/_ctl/counters").container)
    creds.post("/_ctl/reset") -- later fetches get an hour; counters start again
    local ok, failed = 0, 0
    for batch = 1, 10 do
      for i = 1, 100 do
        c:start("CreateStreamSessionConnection", { Identifier = "sg-1", StreamSessionIdentifier = "s-" .. batch,
          SignalRequest = "offer-" .. batch .. "-" .. i }, function(out)
            if out then ok = ok + 1 else failed = failed + 1 end
          end)
      end
      c:step(0)
      core.sleep(0.6)
      c:step(0)
    end
    local deadline = os.time() + 60
    while c:in_flight() > 0 and os.time() < deadline do c:step(0.05) end
    c:close()
    assert.equal(1000, ok)
    assert.equal(0, failed)
    assert.equal(1, creds.get("/_ctl/counters").container, "exactly one refresh")
  end)

  it("keeps the last good credentials when a refresh fails while they are still valid", function()
    if not need() then return end
    -- inside the advisory window (15 min), outside the mandatory one (10 min)
    creds.post("/_ctl/config", { expiration = iso(os.time() + 12 * 60) })
    local c = gls.client{ environment = env{ AWS_CONTAINER_CREDENTIALS_FULL_URI = creds.url .. "/container/creds",
      AWS_CONTAINER_AUTHORIZATION_TOKEN = "container-auth-token" }, dry_run = true }
    local first = assert(c:list_stream_groups{})
    creds.post("/_ctl/fault", { target = "container", status = 500, count = 10 })
    local second, err = c:list_stream_groups{}
    c:close()
    assert.is_nil(err)
    assert.equal(akid(first), akid(second))
    assert.is_true(creds.get("/_ctl/counters").container >= 2, "a refresh was tried")
  end)
end)
