-- Network settings and retries, from options, the environment and profiles,
-- against the local test server.
local server_mod = require "spec.support.server"
local helper = require "spec.helper"
local gls = require "gameliftstreams"

local KEY = { AWS_ACCESS_KEY_ID = "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }
local available, why = server_mod.available()

local function env(extra)
  local e = { AWS_REGION = "us-west-2", HOME = "/nonexistent" }
  for k, v in pairs(KEY) do e[k] = v end
  for k, v in pairs(extra or {}) do e[k] = v end
  return e
end

describe("network and retry settings #network", function()
  local server, dir
  setup(function()
    if not available then return end
    server = server_mod.start()
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
  end)
  teardown(function()
    if server then server.stop() end
    if dir then os.execute("rm -rf " .. dir) end
  end)
  before_each(function() if server then server.reset() end end)

  local function need()
    if not available then pending("needs python3 with botocore: " .. tostring(why)) end
    return available
  end

  it("goes through HTTP_PROXY, and the proxy sees the signed request", function()
    if not need() then return end
    -- the host does not exist: only the proxy (our server) could have answered
    local c = gls.client{ environment = env{ HTTP_PROXY = server.url },
      endpoint_url = "http://gameliftstreams.invalid:8080" }
    local out, err = c:list_stream_groups{}
    c:close()
    assert.is_nil(err)
    assert.truthy(out.Items)
    local r = server.requests()[1]
    assert.is_true(r.proxied)
    assert.is_true(r.signature_ok)
  end)

  it("NO_PROXY sends straight to the endpoint", function()
    if not need() then return end
    local c = gls.client{ environment = env{ HTTP_PROXY = "http://127.0.0.1:1", NO_PROXY = "127.0.0.1" },
      endpoint_url = server.url }
    assert.truthy(c:list_stream_groups{})
    c:close()
    assert.is_false(server.requests()[1].proxied)
  end)

  it("an injected environment without proxies ignores the process's", function()
    if not need() then return end
    local c = gls.client{ environment = env(), endpoint_url = server.url }
    assert.truthy(c:list_stream_groups{})
    c:close()
  end)

  it("takes max_attempts from AWS_MAX_ATTEMPTS, then the profile", function()
    if not need() then return end
    local fail = { status = 503, body = "" }
    server.enqueue{ fail, fail, fail, fail, fail }
    local c = gls.client{ environment = env{ AWS_MAX_ATTEMPTS = "5" }, endpoint_url = server.url,
      retry_base_delay = 0.001 }
    local _, err = c:list_stream_groups{}
    c:close()
    assert.equal(5, err.attempts)
    assert.equal(5, #server.requests())
    server.reset()
    helper.write_file(dir .. "/config", "[default]\nmax_attempts = 2\nretry_mode = standard\n")
    server.enqueue{ fail, fail }
    c = gls.client{ environment = env{ AWS_CONFIG_FILE = dir .. "/config" }, endpoint_url = server.url,
      retry_base_delay = 0.001 }
    _, err = c:list_stream_groups{}
    c:close()
    assert.equal(2, err.attempts)
  end)

  it("AWS_RETRY_MODE=off makes one attempt", function()
    if not need() then return end
    server.enqueue{ { status = 500, body = "{}" } }
    local c = gls.client{ environment = env{ AWS_RETRY_MODE = "off" }, endpoint_url = server.url }
    local _, err = c:list_stream_groups{}
    c:close()
    assert.equal(1, err.attempts)
  end)

  it("takes cli_read_timeout from the profile", function()
    if not need() then return end
    helper.write_file(dir .. "/config", "[default]\ncli_read_timeout = 1\n")
    server.enqueue{ { status = 200, body = "{}", delay = 3 } }
    local c = gls.client{ environment = env{ AWS_CONFIG_FILE = dir .. "/config", AWS_MAX_ATTEMPTS = "1" },
      endpoint_url = server.url }
    local t0 = os.time()
    local _, err = c:list_stream_groups{}
    c:close()
    assert.equal("Timeout", err.code)
    assert.is_true(os.time() - t0 <= 2)
  end)

  it("corrects 15 minutes of clock skew from the service's Date and succeeds", function()
    if not need() then return end
    local c = gls.client{ environment = env(), endpoint_url = server.url, time_offset = -900 }
    local out, err = c:create_stream_session_connection{ Identifier = "sg-1", StreamSessionIdentifier = "s-1",
      SignalRequest = "offer" }
    assert.is_nil(err)
    assert.equal(1, out.ResponseMetadata.RetryAttempts)
    local reqs = server.requests()
    assert.equal(2, #reqs)
    assert.is_false(reqs[1].signature_ok)
    assert.is_true(reqs[2].signature_ok)
    -- the correction stays: the next call needs one attempt
    out = assert(c:list_stream_groups{})
    assert.equal(0, out.ResponseMetadata.RetryAttempts)
    c:close()
  end)

  it("shows each retry decision to on_retry, which may change or veto it", function()
    if not need() then return end
    local seen = {}
    local throttle = { status = 429, headers = { ["X-Amzn-ErrorType"] = "ThrottlingException" }, body = "{}" }
    server.enqueue{ throttle, throttle }
    local c = gls.client{ environment = env(), endpoint_url = server.url,
      on_retry = function(info)
        seen[#seen + 1] = info
        return 0.001
      end }
    assert.truthy(c:list_stream_groups{})
    assert.equal(2, #seen)
    assert.equal("ListStreamGroups", seen[1].operation)
    assert.equal(1, seen[1].attempt)
    assert.equal("ThrottlingException", seen[1].code)
    assert.equal(429, seen[1].status)
    assert.is_true(seen[1].retryable)
    assert.is_number(seen[1].delay)
    c:close()
    server.reset()
    server.enqueue{ throttle }
    c = gls.client{ environment = env(), endpoint_url = server.url, on_retry = function() return false end }
    local _, err = c:list_stream_groups{}
    c:close()
    assert.equal("ThrottlingException", err.code)
    assert.equal(1, err.attempts)
  end)

  it("adaptive mode retries throttles and keeps working", function()
    if not need() then return end
    local throttle = { status = 429, headers = { ["X-Amzn-ErrorType"] = "ThrottlingException" }, body = "{}" }
    server.enqueue{ throttle, throttle }
    local c = gls.client{ environment = env{ AWS_RETRY_MODE = "adaptive" }, endpoint_url = server.url,
      retry_base_delay = 0.001 }
    local out = assert(c:list_stream_groups{})
    assert.equal(2, out.ResponseMetadata.RetryAttempts)
    for _ = 1, 5 do assert.truthy(c:list_stream_groups{}) end
    c:close()
  end)

  it("trusts AWS_CA_BUNDLE", function()
    if not need() then return end
    assert(os.execute("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
      .. " -addext subjectAltName=IP:127.0.0.1 -keyout " .. dir .. "/key.pem -out " .. dir .. "/cert.pem 2>/dev/null"))
    local tls = server_mod.start{ tls_cert = dir .. "/cert.pem", tls_key = dir .. "/key.pem" }
    local c = gls.client{ environment = env{ AWS_CA_BUNDLE = dir .. "/cert.pem" }, endpoint_url = tls.url }
    local out, err = c:list_stream_groups{}
    c:close()
    tls.stop()
    assert.is_nil(err)
    assert.truthy(out)
  end)
end)
