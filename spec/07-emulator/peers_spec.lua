-- The emulator driven by unmodified peers: the AWS CLI v1 (pip, knows the
-- service natively), the AWS CLI v2 (Debian's /usr/bin/aws, taught the model
-- in shared/ with `aws configure add-model` in a scratch HOME), boto3, and
-- gls's own client. Each runs the same whole lifecycle and the same error
-- cases against its own `glsrun emulator --clock virtual`.
local cjson = require "cjson"
local core = require "gameliftstreams.core"
local helper = require "spec.helper"
local emulator = require "spec.support.emulator"

local quote = helper.quote
local KEY = emulator.KEY
-- A temporary key the emulator is told about (--credentials): it needs its token.
local TEMP = { access_key_id = "ASIAEMULATORTEMP0001", secret_access_key = "tempSecretKeyForTheEmulatorSpecs0000000",
               session_token = "FwoGZXIvYXdzEXAMPLETOKENforTheEmulatorSpecs" }
local MODEL = helper.shared .. "/reference/gameliftstreams/service-2.json"

local function sh(cmd)
  local f = assert(io.popen(cmd))
  local out = f:read("a")
  local ok, _, code = f:close()
  return ok and 0 or code, out
end

local function kebab(name)
  return (name:gsub("(%l)(%u)", "%1-%2"):gsub("(%u)(%u%l)", "%1-%2"):lower())
end

local function cli_error(stderr)
  stderr = stderr:gsub(" %(reached max retries: %d+%)", "")
  local code, op, msg = stderr:match("An error occurred %(([%w.]+)%) when calling the (%w+) operation: ([^\n]*)")
  if code then return { code = code, message = msg, operation = op } end
  return { code = "CLIError", message = stderr }
end

---------------------------------------------------------------- drivers
-- d.call(op, input, opts) -> out | nil, err{code, message}
--   opts.credentials (another key), opts.skew (seconds the caller's clock is off)
-- d.wait(waiter, input) -> true | nil, err

local function cli_driver(name, argv0, home)
  local d = { name = name }
  local function env(e, opts)
    local creds = opts and opts.credentials or KEY
    return table.concat({
      "env -i PATH=" .. quote(os.getenv("PATH")), "HOME=" .. quote(home),
      "AWS_ACCESS_KEY_ID=" .. quote(creds.access_key_id),
      "AWS_SECRET_ACCESS_KEY=" .. quote(creds.secret_access_key),
      creds.session_token and ("AWS_SESSION_TOKEN=" .. quote(creds.session_token)) or "",
      "AWS_DEFAULT_REGION=us-west-2", "AWS_MAX_ATTEMPTS=1", "AWS_RETRY_MODE=standard",
      "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true",
      "AWS_CONFIG_FILE=" .. quote(home .. "/config"),
      "AWS_SHARED_CREDENTIALS_FILE=" .. quote(home .. "/credentials"),
      (opts and opts.skew) and ("faketime -f " .. quote(("%+ds"):format(opts.skew))) or "",
      argv0, "gameliftstreams", "--endpoint-url", quote(e.url), "--output", "json",
      (opts and opts.unsigned) and "--no-sign-request" or "",
    }, " ")
  end
  local function args(input)
    local out = {}
    for k, v in pairs(input) do
      if type(v) == "table" then
        out[#out + 1] = "--" .. kebab(k) .. " " .. quote(cjson.encode(v))
      else
        out[#out + 1] = "--" .. kebab(k) .. " " .. quote(tostring(v))
      end
    end
    return table.concat(out, " ")
  end
  local function run(cmd)
    local errf = os.tmpname()
    local code, out = sh(cmd .. " 2>" .. errf)
    local stderr = helper.read_file(errf)
    os.remove(errf)
    return code, out, stderr
  end
  function d.call(e, op, input, opts)
    local code, out, stderr = run(env(e, opts) .. " " .. kebab(op) .. " " .. args(input))
    if code ~= 0 then
      local err = cli_error(stderr)
      err.exit = code
      return nil, err
    end
    if out:match("^%s*$") then return {} end
    return cjson.decode(out)
  end
  function d.wait(e, waiter, input)
    local code, _, stderr = run(env(e) .. " wait " .. kebab(waiter) .. " " .. args(input))
    if code ~= 0 then return nil, cli_error(stderr) end
    return true
  end
  return d
end

local function boto3_driver()
  local d = { name = "boto3" }
  local function run(e, req, opts)
    local creds = opts and opts.credentials or KEY
    req.endpoint, req.region = e.url, "us-west-2"
    req.access_key_id, req.secret_access_key = creds.access_key_id, creds.secret_access_key
    req.session_token, req.unsigned = creds.session_token, opts and opts.unsigned or nil
    local tmp = os.tmpname()
    helper.write_file(tmp, cjson.encode(req))
    local pre = (opts and opts.skew) and ("faketime -f " .. quote(("%+ds"):format(opts.skew)) .. " ") or ""
    local _, out = sh(pre .. "python3 spec/support/boto3_call.py < " .. tmp .. " 2>&1")
    os.remove(tmp)
    local ok, doc = pcall(cjson.decode, out)
    assert(ok, "boto3_call.py: " .. out)
    if doc.error then return nil, doc.error end
    return doc.out
  end
  function d.call(e, op, input, opts)
    return run(e, { operation = op, input = input }, opts)
  end
  function d.wait(e, waiter, input)
    local out, err = run(e, { waiter = waiter, input = input })
    if not out then return nil, err end
    return true
  end
  return d
end

local function gls_driver()
  local d = { name = "gls" }
  function d.call(e, op, input, opts)
    local o = { max_attempts = 1 }
    if opts and opts.credentials then o.credentials = opts.credentials end
    if opts and opts.unsigned then o.no_sign_request = true end
    if opts and opts.skew then o.time_offset = opts.skew; o.max_attempts = opts.max_attempts or 1 end
    local c = e.client(o)
    local out, err = c:call(op, input)
    c:close()
    if out then out.ResponseMetadata = nil end
    return out, err
  end
  function d.wait(e, waiter, input)
    local c = e.client()
    local out, err = c:wait(waiter, input, { delay = 0.05, max_attempts = 40 })
    c:close()
    if not out then return nil, err end
    return true
  end
  return d
end

---------------------------------------------------------------- scenarios

local function must(out, err)
  assert(out, "unexpected error: " .. (err and (tostring(err.code) .. ": " .. tostring(err.message)) or "nil"))
  return out
end

local function offer(tag)
  return table.concat({ "v=0", "o=- " .. tag .. " 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
                        "m=video 9 UDP/TLS/RTP/SAVPF 96", "a=mid:" .. tag }, "\r\n") .. "\r\n"
end

local function named(answer)
  return type(answer) == "string" and answer:match("a=x%-gls%-offer%-sha256:(%x+)") or nil
end

local function with(a, b)
  local t = {}
  for k, v in pairs(a) do t[k] = v end
  for k, v in pairs(b) do t[k] = v end
  return t
end

-- start -> wait until ACTIVE -> connect -> drop -> reconnect with a new
-- offer -> connect -> terminate; each answer names its offer.
local function lifecycle(d, e)
  local groups = must(d.call(e, "ListStreamGroups", {}))
  local g = groups.Items[1]
  assert.equal("ACTIVE", g.Status)
  local offer1 = offer(d.name .. "-1")
  local s = must(d.call(e, "StartStreamSession", {
    Identifier = g.Id, ApplicationIdentifier = g.DefaultApplication.Id, Protocol = "WebRTC",
    SignalRequest = offer1, ConnectionTimeoutSeconds = 60,
  }))
  assert.equal("ACTIVATING", s.Status)
  local id = s.Arn:match("([^/]+)$")
  local ids = { Identifier = g.Id, StreamSessionIdentifier = id }

  local _, err = d.call(e, "CreateStreamSessionConnection", with(ids, { SignalRequest = offer("early") }))
  assert.equal("ConflictException", err and err.code)

  must(e.control:advance(5))
  must(d.wait(e, "StreamSessionActive", ids))
  local got = must(d.call(e, "GetStreamSession", ids))
  assert.equal("ACTIVE", got.Status)
  assert.equal(core.sha256_hex(offer1), named(got.SignalResponse))

  must(e.control:connect(id))
  assert.equal("CONNECTED", must(d.call(e, "GetStreamSession", ids)).Status)
  must(e.control:disconnect(id))
  assert.equal("PENDING_CLIENT_RECONNECTION", must(d.call(e, "GetStreamSession", ids)).Status)

  local offer2 = offer(d.name .. "-2")
  local r = must(d.call(e, "CreateStreamSessionConnection", with(ids, { SignalRequest = offer2 })))
  assert.equal(core.sha256_hex(offer2), named(r.SignalResponse))
  assert.are_not.equal(named(got.SignalResponse), named(r.SignalResponse))
  must(e.control:advance(1))
  assert.equal("ACTIVE", must(d.call(e, "GetStreamSession", ids)).Status)

  -- A reconnect must bring a newly generated offer.
  _, err = d.call(e, "CreateStreamSessionConnection", with(ids, { SignalRequest = offer2 }))
  assert.equal("ValidationException", err and err.code)

  must(e.control:connect(id))
  assert.equal("CONNECTED", must(d.call(e, "GetStreamSession", ids)).Status)
  must(d.call(e, "TerminateStreamSession", ids))
  must(e.control:advance(5))
  local t = must(d.call(e, "GetStreamSession", ids))
  assert.equal("TERMINATED", t.Status)
  assert.equal("apiTerminated", t.StatusReason)

  -- The emulator logged every API call this peer made, with its status.
  local log = must(e.control:requests())
  local seen = {}
  for _, q in ipairs(log) do seen[("%s %d"):format(q.operation, q.status)] = true end
  for _, want in ipairs({ "ListStreamGroups 200", "StartStreamSession 201", "GetStreamSession 200",
                          "CreateStreamSessionConnection 200", "CreateStreamSessionConnection 409",
                          "CreateStreamSessionConnection 400", "TerminateStreamSession 204" }) do
    assert.is_true(seen[want] == true, "request log lacks " .. want)
  end
end

local function errors(d, e)
  local g = must(d.call(e, "ListStreamGroups", {})).Items[1]
  local _, err = d.call(e, "GetStreamSession", { Identifier = g.Id, StreamSessionIdentifier = "ZZZ999zzz9999" })
  assert.equal("ResourceNotFoundException", err and err.code)

  -- The model's pattern for identifiers: botocore leaves it to the service;
  -- gls checks it before sending (and names the member its own way).
  _, err = d.call(e, "GetStreamGroup", { Identifier = "sg_not-valid" })
  if d.name == "gls" then
    assert.equal("ParamValidation", err and err.code)
    assert.matches("Identifier", err.message)
  else
    assert.equal("ValidationException", err and err.code)
    assert.matches("1 validation error detected: Value 'sg_not-valid' at 'identifier' failed to satisfy constraint: "
                   .. "Member must satisfy regular expression pattern: ", err.message, 1, true)
  end

  _, err = d.call(e, "GetStreamGroup", { Identifier = g.Id },
                  { credentials = { access_key_id = "AKIDNOTKNOWN0000", secret_access_key = "x" } })
  assert.equal("UnrecognizedClientException", err and err.code)
  assert.equal("The security token included in the request is invalid.", err.message)

  _, err = d.call(e, "GetStreamGroup", { Identifier = g.Id },
                  { credentials = { access_key_id = KEY.access_key_id, secret_access_key = "not-the-secret" } })
  assert.equal("InvalidSignatureException", err and err.code)
  assert.matches("The request signature we calculated does not match the signature you provided", err.message, 1, true)

  _, err = d.call(e, "GetStreamGroup", { Identifier = g.Id }, { skew = -600 })
  assert.equal("InvalidSignatureException", err and err.code)
  assert.matches("^Signature expired: %d+T%d+Z is now earlier than %d+T%d+Z %(%d+T%d+Z %- 5 min%.%)$", err.message)

  -- Temporary credentials: the session token is checked.
  local temp = { access_key_id = TEMP.access_key_id, secret_access_key = TEMP.secret_access_key,
                 session_token = TEMP.session_token }
  must(d.call(e, "GetStreamGroup", { Identifier = g.Id }, { credentials = temp }))
  temp.session_token = "not-the-token"
  _, err = d.call(e, "GetStreamGroup", { Identifier = g.Id }, { credentials = temp })
  assert.equal("UnrecognizedClientException", err and err.code)
  temp.session_token = nil
  _, err = d.call(e, "GetStreamGroup", { Identifier = g.Id }, { credentials = temp })
  assert.equal("UnrecognizedClientException", err and err.code)

  -- No signature at all.
  _, err = d.call(e, "GetStreamGroup", { Identifier = g.Id }, { unsigned = true })
  assert.equal("MissingAuthenticationTokenException", err and err.code)
  assert.equal("Missing Authentication Token", err.message)

  -- Quotas: with the virtual clock the bucket refills only when time moves.
  must(e.control:quotas({ GetStreamGroup = 1 }))
  must(e.control:advance(1))
  must(d.call(e, "GetStreamGroup", { Identifier = g.Id }))
  _, err = d.call(e, "GetStreamGroup", { Identifier = g.Id })
  assert.equal("ThrottlingException", err and err.code)
  must(e.control:advance(1))
  must(d.call(e, "GetStreamGroup", { Identifier = g.Id }))
  must(e.control:quotas({ GetStreamGroup = 0 }))

  -- Faults on demand.
  must(e.control:faults({ status = 503, count = 1, operation = "GetStreamGroup" }))
  _, err = d.call(e, "GetStreamGroup", { Identifier = g.Id })
  assert.equal("ServiceUnavailableException", err and err.code)
  must(d.call(e, "GetStreamGroup", { Identifier = g.Id }))

  -- A player who never comes back: the reconnection window closes.
  local s = must(d.call(e, "StartStreamSession", {
    Identifier = g.Id, ApplicationIdentifier = g.DefaultApplication.Id, Protocol = "WebRTC",
    SignalRequest = offer(d.name .. "-timeout"), ConnectionTimeoutSeconds = 30,
  }))
  local ids = { Identifier = g.Id, StreamSessionIdentifier = s.Arn:match("([^/]+)$") }
  must(e.control:advance(5))
  must(e.control:connect(ids.StreamSessionIdentifier))
  must(e.control:disconnect(ids.StreamSessionIdentifier))
  must(e.control:advance(31))
  local t = must(d.call(e, "GetStreamSession", ids))
  assert.equal("TERMINATED", t.Status)
  assert.equal("reconnectionTimeout", t.StatusReason)
end

---------------------------------------------------------------- suites

local function available(what)
  if what == "v1" then
    return sh("python3 -c 'import awscli' 2>&1") == 0, "python3 has no awscli (pip install awscli)"
  elseif what == "v2" then
    local code, out = sh("/usr/bin/aws --version 2>&1")
    return code == 0 and out:match("^aws%-cli/2") ~= nil, "no AWS CLI v2 at /usr/bin/aws (apt-get install awscli)"
  elseif what == "boto3" then
    return sh("python3 -c 'import boto3' 2>&1") == 0, "python3 has no boto3"
  elseif what == "faketime" then
    return sh("faketime -f +0s true 2>&1") == 0, "no faketime (apt-get install faketime)"
  end
  return true
end

local home
local function scratch_home()
  if home then return home end
  home = os.tmpname()
  os.remove(home)
  assert(os.execute("mkdir -p " .. quote(home)))
  helper.write_file(home .. "/config", "")
  helper.write_file(home .. "/credentials", "")
  if available("v2") then
    local code, out = sh("HOME=" .. quote(home) .. " /usr/bin/aws configure add-model --service-model "
                         .. quote("file://" .. MODEL) .. " --service-name gameliftstreams 2>&1")
    assert(code == 0, "aws configure add-model: " .. out)
    -- add-model takes the service model only; `aws ... wait` reads the
    -- waiters from the same folder.
    local dir = home .. "/.aws/models/gameliftstreams/2018-05-10"
    assert(os.execute("cp " .. quote(helper.shared .. "/reference/gameliftstreams/waiters-2.json") .. " "
                      .. quote(helper.shared .. "/reference/gameliftstreams/paginators-1.json") .. " "
                      .. quote(dir .. "/")))
  end
  return home
end

local suites = {
  { "gls", function() return gls_driver() end },
  { "boto3", function() return boto3_driver() end, "boto3" },
  { "AWS CLI v1", function() return cli_driver("aws1", "python3 -m awscli", scratch_home()) end, "v1" },
  { "AWS CLI v2", function() return cli_driver("aws2", "/usr/bin/aws", scratch_home()) end, "v2" },
}

for _, suite in ipairs(suites) do
  local title, make, need = suite[1], suite[2], suite[3]
  describe("emulator driven by " .. title .. " #emulator", function()
    local e, d, creds_file
    local ok, why = available(need)
    setup(function()
      if not ok then return end
      d = make()
      creds_file = os.tmpname()
      helper.write_file(creds_file, cjson.encode({
        [KEY.access_key_id] = { secret_access_key = KEY.secret_access_key },
        [TEMP.access_key_id] = { secret_access_key = TEMP.secret_access_key, session_token = TEMP.session_token },
      }))
      e = emulator.start{ clock = "virtual", args = { "--credentials", creds_file } }
    end)
    teardown(function()
      if e then e.stop() end
      if creds_file then os.remove(creds_file) end
    end)

    it("runs the whole lifecycle: start, ACTIVE, connect, drop, reconnect with a new offer, terminate", function()
      if not ok then return pending(why) end
      lifecycle(d, e)
    end)

    it("gets the service's errors: not found, validation, auth, skew, throttling, faults, timeouts", function()
      if not ok then return pending(why) end
      if d.name ~= "gls" then
        local fk, fwhy = available("faketime")
        if not fk then return pending(fwhy) end
      end
      errors(d, e)
    end)
  end)
end

describe("gls corrects its clock from the emulator's Date header #emulator", function()
  it("a client 10 minutes slow is refused once, then succeeds", function()
    local e = emulator.start{ clock = "virtual" }
    local c = e.client{ time_offset = -600, max_attempts = 2 }
    local out, err = c:list_stream_groups{}
    c:close()
    local log = e.control:requests()
    e.stop()
    assert.is_table(out, err and err.message)
    assert.equal(2, out.ResponseMetadata.RetryAttempts + 1)
    assert.equal(403, log[1].status)
    assert.equal("InvalidSignatureException", log[1].error)
    assert.equal(200, log[2].status)
  end)
end)
