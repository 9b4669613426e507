-- The Lua client against a real HTTP server on 127.0.0.1 speaking the
-- service's wire format (spec/support/fake_service.py, SigV4 checked with
-- botocore).
local server_mod = require "spec.support.server"
local gls = require "gameliftstreams"
local cjson = require "cjson"

local KEY = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

local function sha256_hex(s)
  local f = assert(io.popen("printf '%s' '" .. s:gsub("'", "'\\''") .. "' | sha256sum"))
  local out = f:read("*l")
  f:close()
  return out:match("^(%x+)")
end

describe("client #network", function()
  local server, client
  local available, why = server_mod.available()

  setup(function()
    if available then server = server_mod.start() end
  end)
  teardown(function()
    if server then server.stop() end
  end)
  before_each(function()
    if not available then return end
    server.reset()
    client = gls.client{ region = "us-west-2", endpoint_url = server.url, credentials = KEY,
      retry_base_delay = 0.005 }
  end)
  after_each(function()
    if client then client:close() end
    collectgarbage()
    collectgarbage()
  end)

  local function need()
    if not available then
      pending("needs python3 with botocore for the test server: " .. tostring(why))
      return false
    end
    return true
  end

  it("sends a signed reconnect and gets the answer to that offer", function()
    if not need() then return end
    local offer = "v=0 offer for player 1"
    local out, err = client:create_stream_session_connection{
      Identifier = "sg-1AB2C3De4", StreamSessionIdentifier = "ABC123def4567", SignalRequest = offer }
    assert.is_nil(err)
    assert.equal("answer-for:" .. sha256_hex(offer), out.SignalResponse)
    assert.equal(200, out.ResponseMetadata.HTTPStatusCode)
    assert.is_string(out.ResponseMetadata.RequestId)
    assert.equal(0, out.ResponseMetadata.RetryAttempts)
    local reqs = server.requests()
    assert.equal(1, #reqs)
    assert.is_true(reqs[1].signature_ok)
    assert.equal("POST", reqs[1].method)
    assert.equal("/streamgroups/sg-1AB2C3De4/streamsessions/ABC123def4567/connections", reqs[1].path)
    local body = cjson.decode(reqs[1].body)
    assert.equal(offer, body.SignalRequest)
    assert.matches("^%x+%-%x+%-4%x+%-[89ab]%x+%-%x+$", body.ClientToken)
  end)

  it("keeps a given ClientToken", function()
    if not need() then return end
    local token = "my-own-token-000000000000000000000001"
    assert.truthy(client:create_stream_session_connection{ Identifier = "sg-1", StreamSessionIdentifier = "s-1",
      SignalRequest = "o", ClientToken = token })
    assert.equal(token, cjson.decode(server.requests()[1].body).ClientToken)
  end)

  it("turns a service error into an error table", function()
    if not need() then return end
    server.enqueue{ { status = 409, headers = { ["X-Amzn-ErrorType"] = "ConflictException",
      ["x-amzn-RequestId"] = "rid-1" }, body = '{"message":"not reconnectable now"}' } }
    local out, err = client:create_stream_session_connection{ Identifier = "sg-1", StreamSessionIdentifier = "s-1",
      SignalRequest = "o" }
    assert.is_nil(out)
    assert.equal("ConflictException", err.code)
    assert.equal("not reconnectable now", err.message)
    assert.equal(409, err.status)
    assert.equal("rid-1", err.request_id)
    assert.is_false(err.retryable)
    assert.equal("ConflictException: not reconnectable now", tostring(err))
    assert.is_true(gls.is_error(err))
  end)

  it("retries throttling with the same ClientToken and succeeds", function()
    if not need() then return end
    local throttle = { status = 429, headers = { ["X-Amzn-ErrorType"] = "ThrottlingException" },
      body = '{"message":"Rate exceeded"}' }
    server.enqueue{ throttle, throttle }
    local out = assert(client:create_stream_session_connection{ Identifier = "sg-1", StreamSessionIdentifier = "s-1",
      SignalRequest = "o" })
    assert.equal(2, out.ResponseMetadata.RetryAttempts)
    local reqs = server.requests()
    assert.equal(3, #reqs)
    local t1 = cjson.decode(reqs[1].body).ClientToken
    assert.equal(t1, cjson.decode(reqs[2].body).ClientToken)
    assert.equal(t1, cjson.decode(reqs[3].body).ClientToken)
  end)

  it("fails validation before sending, naming the member and the rule", function()
    if not need() then return end
    local out, err = client:create_stream_session_connection{ Identifier = "sg-1", StreamSessionIdentifier = "s 1",
      SignalRequest = "o" }
    assert.is_nil(out)
    assert.equal("ParamValidation", err.code)
    assert.matches("StreamSessionIdentifier", err.message)
    assert.matches("must match pattern", err.message)
    out, err = client:list_stream_sessions{ Identifier = "sg-1", MaxResults = 0 }
    assert.is_nil(out)
    assert.matches("Invalid range for parameter MaxResults, value: 0, valid min value: 1", err.message, 1, true)
    assert.equal(0, #server.requests())
  end)

  it("never shows a sensitive member's value in an error", function()
    if not need() then return end
    local _, err = client:start_stream_session{ Identifier = "sg-1", ApplicationIdentifier = "a-1",
      Protocol = "WebRTC", SignalRequest = "s3cr3t-offer", RoleArn = "s3cr3t-role" }
    assert.equal("ParamValidation", err.code)
    assert.matches("RoleArn", err.message)
    assert.not_matches("s3cr3t", err.message)
  end)

  it("raises on misuse", function()
    if not need() then return end
    assert.has_error(function() client:get_stream_group("sg-1") end,
      "bad argument #1 to 'get_stream_group' (table expected, got string)")
    assert.has_error(function() client:call("NoSuchOperation", {}) end, "unknown operation 'NoSuchOperation'")
    assert.has_error(function() gls.client{ max_attempts = "3" } end,
      "bad option 'max_attempts' (number expected, got string)")
    assert.has_error(function() gls.client{ max_attempts = 0 } end)
    assert.has_error(function() gls.client{ regoin = "x" } end, "unknown client option 'regoin'")
    assert.has_error(function() gls.client{ credentials = { access_key_id = "A" } } end)
  end)

  it("returns timestamps as numbers and lists as arrays", function()
    if not need() then return end
    local out = assert(client:get_stream_session{ Identifier = "sg-1", StreamSessionIdentifier = "s-1" })
    assert.is_number(out.LastUpdatedAt)
    assert.is_string(out.Status)
  end)

  it("turns ISO 8601 timestamps into epoch seconds", function()
    if not need() then return end
    server.enqueue{ { status = 200, body = cjson.encode{ Status = "ACTIVE",
      LastUpdatedAt = "2024-05-01T10:00:00Z", CreatedAt = "2024-05-01T12:00:00.5+02:00" } } }
    local out = assert(client:get_stream_session{ Identifier = "sg-1", StreamSessionIdentifier = "s-1" })
    assert.equal(1714557600, out.LastUpdatedAt)
    assert.equal(1714557600.5, out.CreatedAt)
  end)

  it("paginates with NextToken until the last page", function()
    if not need() then return end
    local pages, items = 0, 0
    for page, err in client:paginate("list_stream_sessions", { Identifier = "sg-1", MaxResults = 2 }) do
      assert.is_nil(err)
      assert.truthy(page)
      pages = pages + 1
      items = items + #page.Items
    end
    assert.equal(5, items)
    assert.equal(3, pages)
    local reqs = server.requests()
    assert.equal(3, #reqs)
    assert.matches("MaxResults=2", reqs[1].query)
    assert.matches("NextToken=", reqs[2].query)
  end)

  it("paginate yields false, err on failure and stops", function()
    if not need() then return end
    server.enqueue{ { status = 404, headers = { ["X-Amzn-ErrorType"] = "ResourceNotFoundException" },
      body = '{"message":"no such group"}' } }
    local seen = {}
    for page, err in client:paginate("ListStreamSessions", { Identifier = "sg-404" }) do
      seen[#seen + 1] = { page, err }
    end
    assert.equal(1, #seen)
    assert.is_false(seen[1][1])
    assert.equal("ResourceNotFoundException", seen[1][2].code)
  end)

  it("waits for a session to become ACTIVE", function()
    if not need() then return end
    local function session(status)
      return { status = 200, body = cjson.encode{ Arn = "arn:x", Status = status } }
    end
    server.enqueue{ session("ACTIVATING"), session("ACTIVATING"), session("ACTIVE") }
    local out, err = client:wait("stream_session_active", { Identifier = "sg-1", StreamSessionIdentifier = "s-1" },
      { delay = 0.01 })
    assert.is_nil(err)
    assert.equal("ACTIVE", out.Status)
    assert.equal(3, #server.requests())
  end)

  it("a waiter reports failure states and timeouts", function()
    if not need() then return end
    server.enqueue{ { status = 200, body = '{"Status":"ERROR"}' } }
    local out, err = client:wait("StreamSessionActive", { Identifier = "sg-1", StreamSessionIdentifier = "s-1" },
      { delay = 0 })
    assert.is_nil(out)
    assert.equal("WaiterFailure", err.code)
    local activating = { status = 200, body = '{"Status":"ACTIVATING"}' }
    server.enqueue{ activating, activating }
    out, err = client:wait("StreamSessionActive", { Identifier = "sg-1", StreamSessionIdentifier = "s-1" },
      { delay = 0, max_attempts = 2 })
    assert.is_nil(out)
    assert.equal("WaiterTimeout", err.code)
    server.enqueue{ { status = 404, headers = { ["X-Amzn-ErrorType"] = "ResourceNotFoundException" }, body = "{}" } }
    assert.truthy(client:wait("application_deleted", { Identifier = "a-1" }, { delay = 0 }))
  end)

  it("evaluates acceptor arguments as JMESPath, with pathAll and pathAny", function()
    if not need() then return end
    -- a waiter this model lacks, shaped as botocore's waiters-2.json ones are
    gls.waiters.TestAllActive = { operation = "ListStreamSessions", delay = 0, max_attempts = 5,
      acceptors = {
        { matcher = "pathAny", argument = "Items[].Status", state = "failure", expected = "ERROR" },
        { matcher = "pathAll", argument = "Items[?Status != 'TERMINATED'].Status", state = "success",
          expected = "ACTIVE" },
      } }
    local ok, failure = pcall(function()
      local function page(...)
        local items = {}
        for i, st in ipairs { ... } do items[i] = { Arn = "arn:" .. i, Status = st } end
        return { status = 200, body = cjson.encode{ Items = items } }
      end
      server.enqueue{ page(), page("ACTIVATING", "ACTIVE"), page("ACTIVE", "TERMINATED", "ACTIVE") }
      local out, err = client:wait("TestAllActive", { Identifier = "sg-1" })
      assert.is_nil(err)
      assert.equal(3, #out.Items)           -- an empty list is no pathAll success
      assert.equal(3, #server.requests())
      server.enqueue{ page("ACTIVE", "ERROR") }
      out, err = client:wait("TestAllActive", { Identifier = "sg-1" })
      assert.is_nil(out)
      assert.equal("WaiterFailure", err.code)
    end)
    gls.waiters.TestAllActive = nil
    assert(ok, failure)
  end)

  it("keeps many requests in flight on one thread, each answer to its own offer", function()
    if not need() then return end
    local n, done, wrong = 60, 0, 0
    for i = 1, n do
      local offer = "offer-" .. i
      client:start("create_stream_session_connection",
        { Identifier = "sg-1", StreamSessionIdentifier = "s-" .. i, SignalRequest = offer },
        function(out, err)
          done = done + 1
          if err or out.SignalResponse ~= "answer-for:" .. sha256_hex(offer) then wrong = wrong + 1 end
        end)
    end
    assert.equal(n, client:in_flight())
    assert.is_number(client:pollfd())
    assert.equal("r", client:events())
    local deadline = os.time() + 20
    while client:in_flight() > 0 and os.time() < deadline do client:step(0.05) end
    assert.equal(n, done)
    assert.equal(0, wrong)
    assert.is_nil(client:timeout())
  end)

  it("leaves no registry references behind once requests complete", function()
    if not need() then return end
    local reg = debug.getregistry()
    local function refs()
      local n = 0
      -- live luaL_ref slots; freed ones hold the freelist's integer links
      for k, v in pairs(reg) do
        if math.type(k) == "integer" and type(v) ~= "number" then n = n + 1 end
      end
      return n
    end
    collectgarbage()
    collectgarbage()
    local before = refs()
    local c2 = gls.client{ region = "us-west-2", endpoint_url = server.url, credentials = KEY }
    local done = 0
    for i = 1, 30 do
      c2:start("GetStreamSession", { Identifier = "sg-1", StreamSessionIdentifier = "s-" .. i },
        function() done = done + 1 end)
    end
    server.enqueue{ { status = 200, body = "{}", delay = 2 } }
    local cancelled = c2:start("ListStreamGroups", {}, function() done = done + 1 end)
    -- each request in flight anchors its callback, its handle and the client
    assert.equal(before + 31 * 3, refs())
    cancelled:cancel()
    while c2:in_flight() > 0 do c2:step(0.05) end
    assert.equal(31, done)
    c2:close()
    c2, cancelled = nil, nil -- luacheck: ignore (dropped so the GC below can collect them)
    collectgarbage()
    collectgarbage()
    assert.is_true(refs() <= before, "no reference outlives its request")
  end)

  it("cancels a request and the callback hears of it", function()
    if not need() then return end
    server.enqueue{ { status = 200, body = "{}", delay = 2 } }
    local got
    local req = client:start("ListStreamGroups", {}, function(_, err) got = err end)
    assert.is_true(req:pending())
    client:step(0.05)
    req:cancel()
    client:step(0)
    assert.equal("Cancelled", got.code)
    assert.is_false(req:pending())
    assert.has_error(function() req:cancel() end, "the request has already completed")
  end)

  it("an error in a callback goes to on_error, not up into the loop", function()
    if not need() then return end
    local seen
    local c2 = gls.client{ region = "us-west-2", endpoint_url = server.url, credentials = KEY,
      on_error = function(msg) seen = msg end }
    c2:start("ListStreamGroups", {}, function() error("boom in callback") end)
    local deadline = os.time() + 10
    while c2:in_flight() > 0 and os.time() < deadline do
      assert.has_no_error(function() c2:step(0.05) end)
    end
    assert.matches("boom in callback", seen)
    assert.matches("traceback", seen)
    c2:close()
  end)

  it("close cancels what is in flight", function()
    if not need() then return end
    server.enqueue{ { status = 200, body = "{}", delay = 2 } }
    local got
    client:start("ListStreamGroups", {}, function(_, err) got = err end)
    client:close()
    assert.equal("Cancelled", got.code)
    assert.has_error(function() client:step(0) end, "the client is closed")
    client = nil
  end)

  it("bounds the reply body", function()
    if not need() then return end
    local c2 = gls.client{ region = "us-west-2", endpoint_url = server.url, credentials = KEY,
      max_response_bytes = 64 }
    server.enqueue{ { status = 200, body = cjson.encode{ Items = { string.rep("x", 500) } } } }
    local out, err = c2:list_stream_groups{}
    assert.is_nil(out)
    assert.equal("ResponseTooLarge", err.code)
    c2:close()
  end)

  it("reads credentials and region from the environment when not given", function()
    if not need() then return end
    -- the spec process has no AWS_* variables; run a child with them set
    local cmd = ("AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=eu-west-1 lua5.4 -e '"
      .. "package.path=\"./lua/?.lua;./lua/?/init.lua;\"..package.path; package.cpath=\"./build/?.so;\"..package.cpath;"
      .. "local c = require(\"gameliftstreams\").client{ endpoint_url = \"%s\" };"
      .. "local out, err = c:list_stream_groups{}; print(out and \"ok\" or tostring(err))'")
      :format(KEY.access_key_id, KEY.secret_access_key, server.url)
    local f = io.popen(cmd)
    local line = f:read("*l")
    f:close()
    assert.equal("ok", line)
    local reqs = server.requests()
    assert.is_true(reqs[#reqs].signature_ok)
    local auth
    for _, h in ipairs(reqs[#reqs].headers) do
      if h[1]:lower() == "authorization" then auth = h[2] end
    end
    assert.matches("/eu%-west%-1/gameliftstreams/aws4_request", auth)
  end)

  it("says which setting is missing", function()
    if not need() then return end
    local c2 = gls.client{ endpoint_url = server.url, credentials = KEY }
    local region_env = os.getenv("AWS_REGION") or os.getenv("AWS_DEFAULT_REGION")
    local _, err = c2:list_stream_groups{}
    if region_env then
      assert.is_nil(err)
    else
      assert.equal("NoRegion", err.code)
    end
    c2:close()
  end)
end)
