-- luacheck: std +busted
-- TLS verification is on by default everywhere gls opens a TLS connection:
-- the API endpoint (client and `glsrun serve`) and the credential endpoints
-- (container credentials over https, STS for assume-role and for web
-- identity). Each gets a server on 127.0.0.1 with a self-signed certificate
-- made here by openssl: refused by default, accepted with ca_bundle (option or
-- AWS_CA_BUNDLE) or verify_ssl = false. (gls has no SSO credential provider:
-- nothing to check there.)
local server_mod = require "spec.support.server"
local emulator = require "spec.support.emulator"
local serve = require "spec.support.serve"
local offers = require "spec.support.offers"
local helper = require "spec.helper"
local gls = require "gameliftstreams"
local q = helper.quote

local available, why = server_mod.available()

describe("TLS verification #security", function()
  local dir, cert, creds

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    cert = dir .. "/cert.pem"
    assert(os.execute("mkdir -p " .. q(dir) .. " && openssl req -x509 -newkey rsa:2048 -nodes -days 1"
      .. " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " .. q(dir .. "/key.pem")
      .. " -out " .. q(cert) .. " 2>/dev/null"))
    helper.write_file(dir .. "/config", table.concat({
      "[profile base]", "aws_access_key_id = AKIDSOURCE", "aws_secret_access_key = source/secret+key", "",
      "[profile role]", "role_arn = arn:aws:iam::111122223333:role/one", "source_profile = base", "",
    }, "\n"))
    helper.write_file(dir .. "/webtoken", "a-web-identity-token")
    if available then
      creds = server_mod.start{ script = "spec/support/cred_servers.py", tls_cert = cert, tls_key = dir .. "/key.pem" }
    end
  end)

  teardown(function()
    if creds then creds.stop() end
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  local function env(extra)
    local e = { AWS_CONFIG_FILE = dir .. "/config", AWS_SHARED_CREDENTIALS_FILE = dir .. "/none", HOME = dir,
                AWS_REGION = "us-west-2", AWS_EC2_METADATA_DISABLED = "true" }
    for k, v in pairs(extra) do e[k] = v end
    return e
  end

  -- The credential sources, each pointed at the HTTPS credential server.
  local sources = {
    { name = "container credentials over https", counter = "container", source = "container endpoint",
      env = function() return { AWS_CONTAINER_CREDENTIALS_FULL_URI = creds.url .. "/container/creds",
                                AWS_CONTAINER_AUTHORIZATION_TOKEN = "container-auth-token" } end },
    { name = "STS AssumeRole (source_profile)", counter = "assume_role",
      env = function() return { AWS_PROFILE = "role", AWS_ENDPOINT_URL_STS = creds.url .. "/sts" } end },
    { name = "STS AssumeRoleWithWebIdentity", counter = "web_identity",
      env = function() return { AWS_ROLE_ARN = "arn:aws:iam::111122223333:role/web",
                                AWS_WEB_IDENTITY_TOKEN_FILE = dir .. "/webtoken",
                                AWS_ENDPOINT_URL_STS = creds.url .. "/sts" } end },
  }

  for _, src in ipairs(sources) do
    it(src.name .. ": a self-signed server is refused by default, trusted only when told", function()
      if not available then return pending("needs python3 with botocore: " .. tostring(why)) end
      assert.matches("^https://", creds.url)
      creds.post("/_ctl/reset")
      local function try(opts, extra_env)
        local e = env(src.env())
        for k, v in pairs(extra_env or {}) do e[k] = v end
        local o = { environment = e, dry_run = true, max_attempts = 1 }
        for k, v in pairs(opts) do o[k] = v end
        local c = gls.client(o)
        local out, err = c:list_stream_groups{}
        c:close()
        return out, err
      end
      local out, err = try{}
      assert.is_nil(out)
      assert.equal("NoCredentials", err.code)
      assert.matches("certificate", err.message:lower())
      assert.equal(0, creds.get("/_ctl/counters")[src.counter], "no request got through the handshake")

      out, err = try{ ca_bundle = cert }
      assert.truthy(out, err and err.message)
      assert.equal(1, creds.get("/_ctl/counters")[src.counter])
      out, err = try({}, { AWS_CA_BUNDLE = cert })
      assert.truthy(out, err and err.message)
      out, err = try{ verify_ssl = false }
      assert.truthy(out, err and err.message)
      assert.equal(3, creds.get("/_ctl/counters")[src.counter])
      -- another certificate as the bundle: still refused
      out, err = try{ ca_bundle = "/etc/ssl/certs/ca-certificates.crt" }
      assert.is_nil(out)
      assert.equal("NoCredentials", err.code)
    end)
  end

  it("the API endpoint (client and glsrun serve): refused by default, trusted with a CA bundle", function()
    local emu = emulator.start{ args = { "--tls-cert", cert, "--tls-key", dir .. "/key.pem" } }
    finally(function() emu.stop() end)
    assert.matches("^https://", emu.url)
    local out, err = emu.client{}:list_stream_groups{}
    assert.is_nil(out)
    assert.equal("TLSError", err.code)
    out, err = emu.client{ ca_bundle = cert }:list_stream_groups{}
    assert.truthy(out, err and err.message)

    local plain = serve.start{ endpoint_url = emu.url }
    local st, body = plain.request{ method = "POST", path = "/v1/sessions",
                                    body = { SignalRequest = offers.new("tls-spec") } }
    plain.stop()
    assert.is_true(st >= 500, tostring(st))
    assert.equal("TLSError", body.code)
    local trusting = serve.start{ endpoint_url = emu.url, env = { AWS_CA_BUNDLE = cert } }
    st, body = trusting.request{ method = "POST", path = "/v1/sessions",
                                 body = { SignalRequest = offers.new("tls-spec") } }
    trusting.stop()
    assert.equal(201, st, helper.quote(body))
  end)
end)
