-- `glsrun emulator` as a process: its first line, clean stops on SIGTERM and
-- SIGINT, HTTPS, and the wire basics every reply must have.
local helper = require "spec.helper"
local core = require "gameliftstreams.core"
local emulator = require "spec.support.emulator"

describe("glsrun emulator #emulator", function()
  it("prints 'listening on URL' first and exits 0 on SIGTERM", function()
    local e = emulator.start{}
    assert.matches("^http://127%.0%.0%.1:%d+$", e.url)
    local c = e.client()
    assert.is_table(c:list_stream_groups{})
    c:close()
    local code, out = e.stop("TERM")
    assert.equal(0, code, out)
    assert.matches("^listening on http://127%.0%.0%.1:%d+\n", out)
  end)

  it("exits 130 on SIGINT (Ctrl-C), as the AWS CLI does", function()
    local e = emulator.start{}
    local code = e.stop("INT")
    assert.equal(130, code)
  end)

  it("answers with x-amzn-RequestId, X-Amzn-ErrorType and a JSON message", function()
    local e = emulator.start{}
    -- Unsigned: the service's answer to a request without authentication.
    local status, body, headers = core.http_request{ url = e.url .. "/streamgroups/sg-1AB2C3De4" }
    assert.equal(403, status)
    assert.matches("^MissingAuthenticationTokenException", headers["x-amzn-errortype"])
    assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", headers["x-amzn-requestid"])
    assert.equal("Missing Authentication Token", require("cjson").decode(body).message)
    assert.is_string(headers["date"])
    -- A malformed Authorization header.
    local scope = "AKIDEXAMPLE/20260101/us-west-2/gameliftstreams/aws4_request"
    status, body, headers = core.http_request{ url = e.url .. "/streamgroups/sg-1AB2C3De4",
      headers = { Authorization = "AWS4-HMAC-SHA256 Credential=" .. scope } }
    assert.equal(403, status)
    assert.matches("^IncompleteSignatureException", headers["x-amzn-errortype"])
    assert.matches("Authorization header requires 'Signature' parameter", body, 1, true)
    -- The control API is unsigned and JSON.
    local list = assert(e.control:sessions())
    assert.same({}, list)
    e.stop()
  end)

  it("serves HTTPS with --tls-cert/--tls-key", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. helper.quote(dir)))
    local cert, key = dir .. "/cert.pem", dir .. "/key.pem"
    assert(os.execute(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      .. "-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s >/dev/null 2>&1")
      :format(helper.quote(key), helper.quote(cert))))
    local e = emulator.start{ args = { "--tls-cert", cert, "--tls-key", key } }
    assert.matches("^https://127%.0%.0%.1:%d+$", e.url)
    local c = e.client{ ca_bundle = cert }
    local out, err = c:get_stream_group{ Identifier = "sg-1AB2C3De4" }
    c:close()
    assert.is_table(out, err and err.message)
    assert.equal("ACTIVE", out.Status)
    -- Without the CA, the certificate is refused.
    local c2 = e.client()
    local bad, err2 = c2:get_stream_group{ Identifier = "sg-1AB2C3De4" }
    c2:close()
    assert.is_nil(bad)
    assert.is_table(err2)
    assert.equal(0, (e.stop()))
    os.execute("rm -rf " .. helper.quote(dir))
  end)

  it("refuses bad arguments with 252, naming the option", function()
    for args, why in pairs({ ["--listen nowhere"] = "%-%-listen must be HOST:PORT",
                             ["--seed 1.5"] = "%-%-seed must be a whole number" }) do
      local f = assert(io.popen("build/glsrun emulator " .. args .. " 2>&1; echo \"rc=$?\""))
      local out = f:read("a")
      f:close()
      assert.matches("rc=252", out)
      assert.matches(why, out)
    end
  end)

  it("makes the same IDs for the same --seed, so that a run against it can be repeated", function()
    local function first_arns(seed)
      local e = emulator.start{ clock = "virtual", args = { "--seed", seed } }
      local c = e.client()
      local arns = {}
      for i = 1, 3 do
        local out = assert(c:start_stream_session{ Identifier = "sg-1AB2C3De4", ApplicationIdentifier = "a-9ZY8X7Wv6",
          Protocol = "WebRTC", SignalRequest = "v=0 offer " .. i })
        arns[i] = out.Arn
      end
      c:close()
      e.stop()
      return arns
    end
    local a, b, other = first_arns("7"), first_arns("7"), first_arns("8")
    assert.same(a, b)
    assert.not_same(a, other)
    assert.not_equal(a[1], a[2])
  end)

  it("injects faults on the wire: status, dropped connection, truncated and malformed bodies, latency", function()
    local e = emulator.start{}
    local c = e.client{ max_attempts = 1, read_timeout = 5 }
    local get = function() return c:get_stream_group{ Identifier = "sg-1AB2C3De4" } end
    assert(e.control:faults{ status = 500, count = 1 })
    local out, err = get()
    assert.is_nil(out)
    assert.equal("InternalServerException", err.code)
    assert.equal(500, err.status)
    -- A fresh connection: on a reused one, libcurl sends a request again
    -- once when the server closes without a reply (and the fault is spent).
    assert(e.control:faults{ drop = true, count = 1 })
    local fresh = e.client{ max_attempts = 1 }
    out, err = fresh:get_stream_group{ Identifier = "sg-1AB2C3De4" }
    fresh:close()
    assert.is_nil(out)
    assert.is_nil(err.status)          -- no HTTP reply at all
    assert(e.control:faults{ truncate = true, count = 1 })
    out, err = get()
    assert.is_nil(out)
    assert.is_table(err)
    assert(e.control:faults{ malformed = true, count = 1 })
    out, err = get()
    assert.is_nil(out)
    assert.equal(200, err.status)
    assert(e.control:faults{ latency_ms = 400, count = 1 })
    local t0 = core.time()
    out, err = get()
    local took = core.time() - t0
    assert.is_table(out, err and err.message)
    assert.is_true(took >= 0.35, "took " .. took)
    -- Faults are used up: the next call is plain.
    assert.equal("ACTIVE", (assert(get())).Status)
    c:close()
    e.stop()
  end)

  it("sends a body of body_bytes bytes: the client's bound holds to the byte", function()
    local e = emulator.start{}
    local c = e.client{ max_response_bytes = 4096 }
    local get = function() return c:get_stream_group{ Identifier = "sg-1AB2C3De4" } end
    local faults = assert(e.control:faults{ body_bytes = 4096, count = 1 })
    assert.equal(4096, faults.body_bytes)
    local out, err = get()                     -- exactly the bound: read whole, a JSON object
    assert.is_table(out, err and tostring(err))
    assert.equal(4088, #out.x)
    assert(e.control:faults{ body_bytes = 4097, count = 1 })
    out, err = get()
    assert.is_nil(out)
    assert.equal("ResponseTooLarge", err.code)
    assert.is_false(err.retryable)
    local log = assert(e.control:requests())
    assert.same({ 200, "EmulatorFault" }, { log[#log].status, log[#log].error })
    assert.equal("ACTIVE", (assert(get())).Status)   -- used up; the connection still works
    c:close()
    e.stop()
  end)
end)
