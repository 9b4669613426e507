-- Transport: TLS verification, CA bundles, keep-alive across calls, timeouts.
local server_mod = require "spec.support.server"
local gls = require "gameliftstreams"

local KEY = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }
local available, why = server_mod.available()

local function need()
  if not available then pending("needs python3 with botocore: " .. tostring(why)) end
  return available
end

describe("TLS #network", function()
  local server, dir
  setup(function()
    if not available then return end
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir .. " && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
      .. " -addext subjectAltName=IP:127.0.0.1 -keyout " .. dir .. "/key.pem -out " .. dir .. "/cert.pem 2>/dev/null"))
    server = server_mod.start{ tls_cert = dir .. "/cert.pem", tls_key = dir .. "/key.pem" }
  end)
  teardown(function()
    if server then server.stop() end
    if dir then os.execute("rm -rf " .. dir) end
  end)

  it("verifies certificates by default", function()
    if not need() then return end
    assert.matches("^https://", server.url)
    local c = gls.client{ region = "us-west-2", endpoint_url = server.url, credentials = KEY }
    local out, err = c:list_stream_groups{}
    assert.is_nil(out)
    assert.equal("TLSError", err.code)
    assert.is_false(err.retryable)
    assert.equal(0, #server.requests(), "nothing reached the server")
    c:close()
  end)

  it("trusts a ca_bundle", function()
    if not need() then return end
    local c = gls.client{ region = "us-west-2", endpoint_url = server.url, credentials = KEY,
      ca_bundle = dir .. "/cert.pem" }
    local out, err = c:create_stream_session_connection{ Identifier = "sg-1", StreamSessionIdentifier = "s-1",
      SignalRequest = "offer over tls" }
    assert.is_nil(err)
    assert.matches("^answer%-for:", out.SignalResponse)
    c:close()
  end)

  it("verify_ssl = false skips verification", function()
    if not need() then return end
    local c = gls.client{ region = "us-west-2", endpoint_url = server.url, credentials = KEY, verify_ssl = false }
    assert.truthy(c:list_stream_groups{})
    c:close()
  end)
end)

describe("connections #network", function()
  local server
  setup(function() if available then server = server_mod.start() end end)
  teardown(function() if server then server.stop() end end)

  it("are reused across blocking calls of one client", function()
    if not need() then return end
    server.reset()
    local c = gls.client{ region = "us-west-2", endpoint_url = server.url, credentials = KEY }
    for _ = 1, 5 do assert.truthy(c:list_stream_groups{}) end
    local reqs = server.requests()
    assert.equal(5, #reqs)
    for i = 2, 5 do assert.equal(reqs[1].peer, reqs[i].peer, "request " .. i .. " on the first connection") end
    c:close()
  end)

  it("are reused across non-blocking calls", function()
    if not need() then return end
    server.reset()
    local c = gls.client{ region = "us-west-2", endpoint_url = server.url, credentials = KEY }
    for _ = 1, 4 do
      local done = false
      c:start("ListStreamGroups", {}, function() done = true end)
      while not done do c:step(0.05) end
    end
    local reqs = server.requests()
    assert.equal(4, #reqs)
    for i = 2, 4 do assert.equal(reqs[1].peer, reqs[i].peer) end
    c:close()
  end)

  it("a refused connection fails fast as a retryable ConnectionError", function()
    if not need() then return end
    -- port 1 on loopback: nothing listens there
    local c = gls.client{ region = "us-west-2", endpoint_url = "http://127.0.0.1:1", credentials = KEY,
      connect_timeout = 1, max_attempts = 1 }
    local t0 = os.time()
    local out, err = c:list_stream_groups{}
    assert.is_nil(out)
    assert.equal("ConnectionError", err.code)
    assert.is_true(err.retryable)
    assert.is_true(os.time() - t0 <= 2)
    c:close()
  end)

  it("a read timeout ends a call to a silent server", function()
    if not need() then return end
    server.reset()
    server.enqueue{ { status = 200, body = "{}", delay = 3 } }
    local c = gls.client{ region = "us-west-2", endpoint_url = server.url, credentials = KEY,
      read_timeout = 1, max_attempts = 1 }
    local out, err = c:list_stream_groups{}
    assert.is_nil(out)
    assert.equal("Timeout", err.code)
    assert.matches("Read timeout", err.message)
    c:close()
  end)

  it("a dropped connection is a retryable ConnectionError", function()
    if not need() then return end
    server.reset()
    server.enqueue{ { drop = true } }
    local c = gls.client{ region = "us-west-2", endpoint_url = server.url, credentials = KEY, max_attempts = 1 }
    local out, err = c:list_stream_groups{}
    assert.is_nil(out)
    assert.equal("ConnectionError", err.code)
    assert.is_true(err.retryable)
    c:close()
  end)
end)
