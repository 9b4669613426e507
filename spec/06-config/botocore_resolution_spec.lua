-- Differential: given the same files and environment, gls resolves the same
-- region, endpoint and credentials as botocore on this machine.
local helper = require "spec.helper"
local gls = require "gameliftstreams"
local cjson = require "cjson"

local function have_botocore()
  return os.execute("python3 -c 'import botocore.session' >/dev/null 2>&1") and true or false
end

local function botocore(env, request)
  return helper.python_json("spec/support/botocore_resolve.py", { env = env, request = request or cjson.null })
end

local function authz(req)
  for _, h in ipairs(req.headers) do
    if h[1]:lower() == "authorization" then return h[2] end
  end
end
local function token(req)
  for _, h in ipairs(req.headers) do
    if h[1]:lower() == "x-amz-security-token" then return h[2] end
  end
end

describe("resolution agrees with botocore #botocore", function()
  local dir
  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
    helper.write_file(dir .. "/config", table.concat({
      "[default]", "region = us-west-2", "",
      "[profile prod]", "region = eu-central-1", "services = local-svc", "",
      "[profile cfgkeys]", "region = ap-southeast-2", "aws_access_key_id = AKIDCONFIG",
      "aws_secret_access_key = secret-from-config", "",
      "[profile proc]", "region = us-east-2",
      "credential_process = " .. dir .. "/proc.sh", "",
      "[profile fips]", "region = us-gov-west-1", "use_fips_endpoint = true", "",
      "[profile global-ep]", "region = sa-east-1", "endpoint_url = http://127.0.0.1:4566", "",
      "[profile ignore]", "region = sa-east-1", "endpoint_url = http://127.0.0.1:4566",
      "ignore_configured_endpoint_urls = true", "",
      "[services local-svc]", "gameliftstreams =", "  endpoint_url = http://127.0.0.1:7000", "",
    }, "\n"))
    helper.write_file(dir .. "/credentials", table.concat({
      "[default]", "aws_access_key_id = AKIDDEFAULT", "aws_secret_access_key = default-secret", "",
      "[prod]", "aws_access_key_id = AKIDPROD", "aws_secret_access_key = prod-secret",
      "aws_session_token = prod-token", "",
      "[fips]", "aws_access_key_id = AKIDFIPS", "aws_secret_access_key = fips-secret", "",
      "[global-ep]", "aws_access_key_id = AKIDGEP", "aws_secret_access_key = gep-secret", "",
      "[ignore]", "aws_access_key_id = AKIDIGN", "aws_secret_access_key = ign-secret", "",
    }, "\n"))
    helper.write_file(dir .. "/proc.sh", "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", "
      .. "\"SecretAccessKey\": \"proc-secret\", \"SessionToken\": \"proc-token\", "
      .. "\"Expiration\": \"2099-01-01T00:00:00Z\"}'\n")
    os.execute("chmod +x " .. dir .. "/proc.sh")
  end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  local function files(extra)
    local env = { AWS_CONFIG_FILE = dir .. "/config", AWS_SHARED_CREDENTIALS_FILE = dir .. "/credentials",
      HOME = dir }
    for k, v in pairs(extra or {}) do env[k] = v end
    return env
  end

  local scenarios = {
    { "default profile from the files", function() return files() end },
    { "AWS_PROFILE with a services section endpoint and a session token",
      function() return files{ AWS_PROFILE = "prod" } end },
    { "keys in the config file", function() return files{ AWS_PROFILE = "cfgkeys" } end },
    { "credential_process", function() return files{ AWS_PROFILE = "proc" } end },
    { "FIPS from the profile", function() return files{ AWS_PROFILE = "fips" } end },
    { "the profile's endpoint_url", function() return files{ AWS_PROFILE = "global-ep" } end },
    { "ignore_configured_endpoint_urls", function() return files{ AWS_PROFILE = "ignore" } end },
    { "environment keys beat the profile's", function() return files{ AWS_ACCESS_KEY_ID = "AKIDENV",
      AWS_SECRET_ACCESS_KEY = "env-secret",
      AWS_SESSION_TOKEN = "env-token" } end },
    { "AWS_DEFAULT_REGION beats the profile", function() return files{ AWS_DEFAULT_REGION = "eu-west-3" } end },
    { "AWS_ENDPOINT_URL_GAMELIFTSTREAMS beats AWS_ENDPOINT_URL", function() return files{ AWS_PROFILE = "prod",
      AWS_ENDPOINT_URL_GAMELIFTSTREAMS = "http://127.0.0.1:7100", AWS_ENDPOINT_URL = "http://127.0.0.1:7200" } end },
    { "AWS_ENDPOINT_URL beats the services section", function() return files{ AWS_PROFILE = "prod",
      AWS_ENDPOINT_URL = "http://127.0.0.1:7200" } end },
    { "AWS_USE_FIPS_ENDPOINT",
      function() return files{ AWS_USE_FIPS_ENDPOINT = "true", AWS_DEFAULT_REGION = "us-east-1" } end },
    { "no files at all, environment only", function() return { AWS_ACCESS_KEY_ID = "AKIDONLY",
      AWS_SECRET_ACCESS_KEY = "only-secret", AWS_DEFAULT_REGION = "me-central-1", HOME = "/nonexistent" } end },
    { "cn partition", function() return files{ AWS_DEFAULT_REGION = "cn-northwest-1" } end },
  }

  for _, sc in ipairs(scenarios) do
    it(sc[1], function()
      if not have_botocore() then return pending("needs python3 with botocore") end
      local env = sc[2]()
      local c = gls.client{ environment = env, dry_run = true }
      local req, err = c:list_stream_groups{}
      c:close()
      assert.is_nil(err)
      local b = botocore(env, req)
      assert.equal(cjson.null, b.error)
      assert.equal(b.endpoint_url .. "/streamgroups", req.url)
      local akid, region = authz(req):match("Credential=([^/]+)/%d+/([^/]+)/")
      assert.equal(b.access_key, akid)
      assert.equal(b.region, region)
      local want_token = b.token ~= cjson.null and b.token or nil
      local got_token = token(req)
      assert.equal(want_token, got_token)
      assert.is_true(b.same_signature, "botocore's secret signs gls's request identically")
    end)
  end

  it("AWS_REGION: gls follows the AWS CLI v2 (first), botocore v1 does not read it", function()
    if not have_botocore() then return pending("needs python3 with botocore") end
    local env = files{ AWS_REGION = "ca-central-1", AWS_DEFAULT_REGION = "eu-west-3" }
    local c = gls.client{ environment = env, dry_run = true }
    local req = assert(c:list_stream_groups{})
    c:close()
    assert.equal("https://gameliftstreams.ca-central-1.api.aws/streamgroups", req.url)
    local b = botocore(env, req)
    assert.equal("eu-west-3", b.region) -- botocore 1.x reads AWS_DEFAULT_REGION only
    -- everything but the region agrees
    local akid = authz(req):match("Credential=([^/]+)/")
    assert.equal(b.access_key, akid)
  end)

  it("both refuse a missing profile", function()
    if not have_botocore() then return pending("needs python3 with botocore") end
    local env = files{ AWS_PROFILE = "nope" }
    local c = gls.client{ environment = env, dry_run = true }
    local _, err = c:list_stream_groups{}
    c:close()
    assert.equal("ProfileNotFound", err.code)
    assert.matches("The config profile %(nope%) could not be found", err.message)
    assert.matches("ProfileNotFound", botocore(env).error)
  end)
end)
