-- Configuration without the network: dry_run shows the signed request gls
-- would send, so region, endpoint and credential resolution can be checked
-- exactly. The environment is given to child processes (glsrun -e).
local gls = require "gameliftstreams"
local cjson = require "cjson"

local KEY = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

local function header(req, name)
  for _, h in ipairs(req.headers) do
    if h[1]:lower() == name:lower() then return h[2] end
  end
end

-- Runs glsrun with env (a table) and a client built from opts; returns the
-- dry-run request (decoded) or the error.
local function child(env, opts)
  local parts = { "env -i PATH=\"$PATH\"" }
  for k, v in pairs(env) do parts[#parts + 1] = k .. "='" .. v .. "'" end
  local code = ([[
    local gls = require "gameliftstreams"
    local cjson = require "cjson"
    local c = gls.client(cjson.decode(%q))
    local out, err = c:create_stream_session_connection{ Identifier = "sg-1", StreamSessionIdentifier = "s-1",
      SignalRequest = "o" }
    io.write(out and cjson.encode(out) or cjson.encode{ code = err.code, message = err.message })
  ]]):format(cjson.encode(opts))
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "w"))
  f:write(code)
  f:close()
  local p = assert(io.popen(table.concat(parts, " ") .. " build/glsrun " .. tmp .. " 2>&1"))
  local out = p:read("a")
  p:close()
  os.remove(tmp)
  return cjson.decode(out)
end

describe("configuration", function()
  it("dry_run returns the signed request and sends nothing", function()
    local c = gls.client{ region = "us-west-2", credentials = KEY, dry_run = true }
    local req = assert(c:create_stream_session_connection{ Identifier = "sg-1AB2C3De4",
      StreamSessionIdentifier = "ABC123def4567", SignalRequest = "offer" })
    assert.equal("POST", req.method)
    assert.equal("https://gameliftstreams.us-west-2.api.aws"
      .. "/streamgroups/sg-1AB2C3De4/streamsessions/ABC123def4567/connections", req.url)
    assert.equal("gameliftstreams.us-west-2.api.aws", header(req, "Host"))
    assert.equal("application/json", header(req, "Content-Type"))
    assert.matches("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ$", header(req, "X-Amz-Date"))
    assert.matches("^AWS4%-HMAC%-SHA256 Credential=AKIDEXAMPLE/%d+/us%-west%-2/gameliftstreams/aws4_request, "
      .. "SignedHeaders=content%-type;host;x%-amz%-date, Signature=%x+$", header(req, "Authorization"))
    assert.equal("offer", cjson.decode(req.body).SignalRequest)
    c:close()
  end)

  it("dry_run works on the non-blocking path too", function()
    local c = gls.client{ region = "eu-west-1", credentials = KEY, dry_run = true }
    local got
    c:start("get_stream_group", { Identifier = "sg-1" }, function(out) got = out end)
    c:step(0)
    assert.equal("https://gameliftstreams.eu-west-1.api.aws/streamgroups/sg-1", got.url)
    assert.equal("GET", got.method)
    c:close()
  end)

  it("keeps an endpoint's path as a prefix and its port in Host", function()
    local c = gls.client{ region = "us-east-1", credentials = KEY, dry_run = true,
      endpoint_url = "http://127.0.0.1:8443/prefix/" }
    local req = assert(c:get_stream_group{ Identifier = "sg-1" })
    assert.equal("http://127.0.0.1:8443/prefix/streamgroups/sg-1", req.url)
    assert.equal("127.0.0.1:8443", header(req, "Host"))
    c:close()
  end)

  it("signs the session token", function()
    local c = gls.client{ region = "us-east-1", dry_run = true, credentials = {
      access_key_id = "AKIDEXAMPLE", secret_access_key = KEY.secret_access_key, session_token = "tok/en+=" } }
    local req = assert(c:get_stream_group{ Identifier = "sg-1" })
    assert.equal("tok/en+=", header(req, "X-Amz-Security-Token"))
    assert.matches("SignedHeaders=host;x%-amz%-date;x%-amz%-security%-token,", header(req, "Authorization"))
    c:close()
  end)

  it("no_sign_request sends no Authorization and needs no credentials", function()
    local c = gls.client{ region = "us-east-1", dry_run = true, no_sign_request = true }
    local req = assert(c:get_stream_group{ Identifier = "sg-1" })
    assert.is_nil(header(req, "Authorization"))
    assert.is_nil(header(req, "X-Amz-Date"))
    c:close()
  end)

  it("refuses a bad endpoint_url and names it", function()
    local c = gls.client{ region = "us-east-1", credentials = KEY, endpoint_url = "ftp://example" }
    local out, err = c:get_stream_group{ Identifier = "sg-1" }
    assert.is_nil(out)
    assert.equal("InvalidEndpoint", err.code)
    assert.matches("endpoint_url", err.message)
    c:close()
    assert.has_error(function() gls.client{ region = "us east" } end)
  end)

  it("takes the region from AWS_REGION, then AWS_DEFAULT_REGION", function()
    local r = child({ AWS_REGION = "ap-northeast-1", AWS_DEFAULT_REGION = "eu-north-1" },
      { credentials = KEY, dry_run = true })
    assert.matches("^https://gameliftstreams%.ap%-northeast%-1%.api%.aws/", r.url)
    r = child({ AWS_DEFAULT_REGION = "eu-north-1" }, { credentials = KEY, dry_run = true })
    assert.matches("^https://gameliftstreams%.eu%-north%-1%.api%.aws/", r.url)
    r = child({ AWS_REGION = "ap-northeast-1" }, { region = "sa-east-1", credentials = KEY, dry_run = true })
    assert.matches("^https://gameliftstreams%.sa%-east%-1%.api%.aws/", r.url, nil, "explicit beats the environment")
  end)

  it("says NoRegion when there is none", function()
    local r = child({}, { credentials = KEY })
    assert.equal("NoRegion", r.code)
    assert.matches("AWS_REGION", r.message)
  end)

  it("takes credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN", function()
    local r = child({ AWS_ACCESS_KEY_ID = "AKIDENV", AWS_SECRET_ACCESS_KEY = "secret", AWS_SESSION_TOKEN = "envtoken" },
      { region = "us-east-1", dry_run = true })
    assert.matches("Credential=AKIDENV/", header(r, "Authorization"))
    assert.equal("envtoken", header(r, "X-Amz-Security-Token"))
    r = child({ AWS_ACCESS_KEY_ID = "AKIDENV", AWS_SECRET_ACCESS_KEY = "secret" },
      { region = "us-east-1", dry_run = true, credentials = KEY })
    assert.matches("Credential=AKIDEXAMPLE/", header(r, "Authorization"), nil, "explicit beats the environment")
  end)

  it("says NoCredentials, and never prints a secret", function()
    local r = child({ AWS_SECRET_ACCESS_KEY = "s3cr3t-only" }, { region = "us-east-1" })
    assert.equal("NoCredentials", r.code)
    assert.matches("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not", r.message)
    assert.not_matches("s3cr3t", r.message)
    r = child({}, { region = "us-east-1" })
    assert.equal("NoCredentials", r.code)
  end)

  -- fuzz/regressions/awsconfig: the chain gave up without a message here, and
  -- the client said only "Unable to locate credentials"
  it("says why a credential_source Ec2InstanceMetadata profile has no source when IMDS is off", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local f = assert(io.open(dir .. "/config", "w"))
    f:write("[profile src]\nrole_arn = arn:aws:iam::111122223333:role/r\n",
            "credential_source = Ec2InstanceMetadata\n")
    f:close()
    local r = child({ AWS_CONFIG_FILE = dir .. "/config", AWS_SHARED_CREDENTIALS_FILE = dir .. "/none",
                      HOME = dir, AWS_PROFILE = "src", AWS_EC2_METADATA_DISABLED = "true" },
                    { region = "us-east-1" })
    os.execute("rm -rf " .. dir)
    assert.equal("NoCredentials", r.code)
    assert.matches('profile "src": credential_source Ec2InstanceMetadata', r.message, 1, true)
    assert.matches("AWS_EC2_METADATA_DISABLED", r.message, 1, true)
  end)

  -- fuzz/regressions/awsconfig/huge-metadata-timeout: 3.3e25 s was cast to a
  -- long (undefined); the timeout is held to 1 hour, the attempts to 100
  it("takes an absurd IMDS timeout and attempt count without harm", function()
    local t0 = os.time()
    local r = child({ AWS_METADATA_SERVICE_TIMEOUT = "3.3e25",
                      AWS_METADATA_SERVICE_NUM_ATTEMPTS = "99999999999999999999",
                      AWS_EC2_METADATA_SERVICE_ENDPOINT = "http://127.0.0.1:1" }, { region = "us-east-1" })
    assert.equal("NoCredentials", r.code)
    assert.matches("IMDS", r.message, 1, true)
    assert.is_true(os.time() - t0 < 30, "100 refused connections at most")
  end)
end)
