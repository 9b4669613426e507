-- luacheck: std +busted
-- The emulator's service logic (emu:dispatch), its control API (emu:control),
-- quotas and faults (emu:call) on a virtual clock; every successful output is
-- checked against service-2.json. The HTTP glue (emu:handle, main) has its own
-- file, handle_spec.lua.
local emulator = require "gameliftstreams.emulator"
local core = require "gameliftstreams.core"
local cjson = require "cjson"
local model = require "spec.support.model_check"
local samples = require "spec.support.sample_inputs"

local SG, APP = emulator.STREAM_GROUP_ID, emulator.APPLICATION_ID
local ACCOUNT, REGION = "123456789012", "us-west-2"
local SG_ARN = ("arn:aws:gameliftstreams:%s:%s:streamgroup/%s"):format(REGION, ACCOUNT, SG)
local APP_ARN = ("arn:aws:gameliftstreams:%s:%s:application/%s"):format(REGION, ACCOUNT, APP)

local function new_emu(opts)
  opts = opts or {}
  opts.clock = opts.clock or "virtual"
  return emulator.new(opts)
end

-- emu:dispatch, with the output checked against the model (status and shape)
-- and a failure's status checked against the error's shape.
local function call(emu, op, input, ctx)
  local status, out = emu:dispatch(op, input, ctx)
  if status then
    assert.equal(model.success_status(op), status, op .. " status")
    assert.same({}, model.check_output(op, out))
  else
    assert.is_table(out, op .. " error")
    assert.is_string(out.code)
    assert.is_string(out.message)
    local want = model.error_status(out.code)
    if want then assert.equal(want, out.status, out.code .. " status") end
  end
  return status, out
end

local function ok(emu, op, input)
  local status, out = call(emu, op, input)
  assert(status, op .. " failed: " .. tostring(out))
  return out, status
end

local function fails(emu, op, input, code, status)
  local st, err = call(emu, op, input)
  assert.is_nil(st, op .. " should fail with " .. code)
  assert.equal(code, err.code)
  if status then assert.equal(status, err.status) end
  return err
end

local function start(emu, extra)
  local input = { Identifier = SG, ApplicationIdentifier = APP, Protocol = "WebRTC", SignalRequest = "offer-start" }
  for k, v in pairs(extra or {}) do input[k] = v end
  local out = ok(emu, "StartStreamSession", input)
  return out.Arn:match("([^/]+)$"), out
end

local function get(emu, id)
  return ok(emu, "GetStreamSession", { Identifier = SG, StreamSessionIdentifier = id })
end

local function reconnect(emu, id, offer)
  return call(emu, "CreateStreamSessionConnection", { Identifier = SG, StreamSessionIdentifier = id,
    SignalRequest = offer })
end

local function control(emu, method, path, body)
  local status, text = emu:control(method, path, body and (type(body) == "string" and body or cjson.encode(body)))
  assert.is_string(text)
  local decoded = cjson.decode(text)
  return status, decoded, text
end

-- A sample input with the emulator's account in its ARNs and without its ClientToken
-- (samples carry fixed tokens: reusing one would replay the first reply).
local function sample(op)
  local function adapt(v)
    if type(v) == "string" then return (v:gsub("111122223333", ACCOUNT)) end
    if type(v) ~= "table" then return v end
    local t = {}
    for k, x in pairs(v) do t[k] = adapt(x) end
    return t
  end
  local input = adapt(samples[op])
  input.ClientToken = nil
  return input
end

local function offer_named(answer)
  return answer and answer:match("a=x%-gls%-offer%-sha256:(%x+)")
end

describe("emulator start state", function()
  local emu
  before_each(function() emu = new_emu() end)

  it("has one READY application and one ACTIVE stream group using it", function()
    local a = ok(emu, "GetApplication", { Identifier = APP })
    assert.equal(APP_ARN, a.Arn)
    assert.equal(APP, a.Id)
    assert.equal("READY", a.Status)
    assert.equal("PROTON", a.RuntimeEnvironment.Type)
    assert.is_string(a.ExecutablePath)
    assert.same({ SG_ARN }, a.AssociatedStreamGroups)
    local g = ok(emu, "GetStreamGroup", { Identifier = SG })
    assert.equal(SG_ARN, g.Arn)
    assert.equal("ACTIVE", g.Status)
    assert.equal("gen4n_high", g.StreamClass)
    assert.same({ Id = APP, Arn = APP_ARN }, g.DefaultApplication)
    assert.same({ APP_ARN }, g.AssociatedApplications)
    assert.equal(1, #g.LocationStates)
    local loc = g.LocationStates[1]
    assert.equal(REGION, loc.LocationName)
    assert.equal("ACTIVE", loc.Status)
    assert.equal(2, loc.AlwaysOnCapacity)
    assert.equal(2, loc.IdleCapacity)
    assert.is_true(g.ExpiresAt > g.CreatedAt + 364 * 86400)
  end)

  it("takes an ARN wherever the model takes an identifier", function()
    assert.equal(APP, ok(emu, "GetApplication", { Identifier = APP_ARN }).Id)
    assert.equal(SG, ok(emu, "GetStreamGroup", { Identifier = SG_ARN }).Id)
    local id, s = start(emu, { Identifier = SG_ARN, ApplicationIdentifier = APP_ARN })
    assert.equal(id, ok(emu, "GetStreamSession", { Identifier = SG_ARN, StreamSessionIdentifier = s.Arn }).Arn
      :match("([^/]+)$"))
  end)

  it("honours region and account and refuses ARNs of other ones", function()
    local e = new_emu{ region = "eu-central-1", account = "111122223333" }
    local g = ok(e, "GetStreamGroup", { Identifier = SG })
    assert.equal("arn:aws:gameliftstreams:eu-central-1:111122223333:streamgroup/" .. SG, g.Arn)
    assert.equal("eu-central-1", g.LocationStates[1].LocationName)
    fails(e, "GetStreamGroup", { Identifier = SG_ARN }, "ResourceNotFoundException", 404)
  end)

  it("names unknown resources in a 404", function()
    local err = fails(emu, "GetStreamGroup", { Identifier = "sg-000000000" }, "ResourceNotFoundException", 404)
    assert.matches("sg%-000000000", err.message)
    err = fails(emu, "GetApplication", { Identifier = "a-000000000" }, "ResourceNotFoundException", 404)
    assert.matches("a%-000000000", err.message)
    err = fails(emu, "GetStreamSession", { Identifier = SG, StreamSessionIdentifier = "ABC123def4567" },
      "ResourceNotFoundException", 404)
    assert.matches("ABC123def4567", err.message)
    assert.equal("ResourceNotFoundException: " .. err.message, tostring(err))
  end)

  it("generates IDs the way the service does", function()
    local id = start(emu)
    assert.matches("^%w+$", id)
    assert.equal(13, #id)
    local a = ok(emu, "CreateApplication", sample("CreateApplication"))
    assert.matches("^a%-%w+$", a.Id)
    assert.equal(11, #a.Id)
    local g = ok(emu, "CreateStreamGroup", sample("CreateStreamGroup"))
    assert.matches("^sg%-%w+$", g.Id)
    assert.equal(12, #g.Id)
    local seen = {}
    for _ = 1, 200 do
      local sid = start(emu, { SignalRequest = "o" .. #seen })
      assert.is_nil(seen[sid])
      seen[sid] = true
      seen[#seen + 1] = sid
    end
  end)
end)

describe("stream session lifecycle", function()
  local emu
  before_each(function() emu = new_emu() end)

  it("start -> ACTIVE -> connect -> disconnect -> reconnect -> connect -> terminate", function()
    local offer1 = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\n"
    local id, s = start(emu, { SignalRequest = offer1, UserId = "player/42+eu=", Description = "match 7" })
    assert.equal("ACTIVATING", s.Status)
    assert.is_nil(s.SignalResponse)
    assert.equal(offer1, s.SignalRequest)
    assert.equal(SG, s.StreamGroupId)
    assert.equal(APP_ARN, s.ApplicationArn)
    assert.equal(REGION, s.Location)
    assert.equal(120, s.ConnectionTimeoutSeconds)
    assert.equal(43200, s.SessionLengthSeconds)
    assert.equal(("arn:aws:gameliftstreams:%s:%s:streamsession/%s/%s"):format(REGION, ACCOUNT, SG, id), s.Arn)

    emu:advance(0.5)
    assert.equal("ACTIVATING", get(emu, id).Status)
    emu:advance(0.5)
    local g = get(emu, id)
    assert.equal("ACTIVE", g.Status)
    assert.equal(core.sha256_hex(offer1), offer_named(g.SignalResponse))
    assert.matches("^v=0\r\n", g.SignalResponse)

    local st, c = control(emu, "POST", "/_emulator/sessions/" .. id .. "/connect")
    assert.equal(200, st)
    assert.equal("CONNECTED", c.Status)
    assert.equal("CONNECTED", get(emu, id).Status)
    st, c = control(emu, "POST", "/_emulator/sessions/" .. id .. "/disconnect")
    assert.equal(200, st)
    assert.equal("PENDING_CLIENT_RECONNECTION", c.Status)

    local offer2 = offer1 .. "a=ice-ufrag:new\r\n"
    local rst, r = reconnect(emu, id, offer2)
    assert.equal(200, rst)
    assert.equal(core.sha256_hex(offer2), offer_named(r.SignalResponse))
    assert.not_equal(g.SignalResponse, r.SignalResponse)
    assert.equal("RECONNECTING", get(emu, id).Status)
    emu:advance(0.2)
    g = get(emu, id)
    assert.equal("ACTIVE", g.Status)
    assert.equal(r.SignalResponse, g.SignalResponse)
    assert.equal(offer2, g.SignalRequest)
    st = control(emu, "POST", "/_emulator/sessions/" .. id .. "/connect")
    assert.equal(200, st)

    local tst = call(emu, "TerminateStreamSession", { Identifier = SG, StreamSessionIdentifier = id })
    assert.equal(204, tst)
    g = get(emu, id)
    assert.equal("TERMINATING", g.Status)
    assert.equal("apiTerminated", g.StatusReason)
    emu:advance(0.2)
    g = get(emu, id)
    assert.equal("TERMINATED", g.Status)
    assert.equal("apiTerminated", g.StatusReason)
    -- terminated sessions stay listed and gettable
    local list = ok(emu, "ListStreamSessions", { Identifier = SG })
    assert.equal(1, #list.Items)
    assert.equal("TERMINATED", list.Items[1].Status)
    assert.equal(204, call(emu, "TerminateStreamSession", { Identifier = SG, StreamSessionIdentifier = id }))
  end)

  it("CreateStreamSessionConnection works from ACTIVE too, replacing the outstanding answer", function()
    local id = start(emu)
    emu:advance(1)
    local first = get(emu, id).SignalResponse
    local st, r = reconnect(emu, id, "offer-b")
    assert.equal(200, st)
    assert.not_equal(first, r.SignalResponse)
    emu:advance(0.2)
    assert.equal(r.SignalResponse, get(emu, id).SignalResponse)
  end)

  it("terminates with connectionTimeout when no client connects in time", function()
    local id = start(emu, { ConnectionTimeoutSeconds = 30 })
    emu:advance(1)
    emu:advance(29.9)
    assert.equal("ACTIVE", get(emu, id).Status)
    emu:advance(0.1)
    local s = get(emu, id)
    assert.equal("TERMINATED", s.Status)
    assert.equal("connectionTimeout", s.StatusReason)
  end)

  it("uses the default of 120 s for the connection timeout", function()
    local id = start(emu)
    emu:advance(1 + 119.5)
    assert.equal("ACTIVE", get(emu, id).Status)
    emu:advance(0.5)
    assert.equal("connectionTimeout", get(emu, id).StatusReason)
  end)

  it("terminates with reconnectionTimeout when a dropped client does not come back", function()
    local id = start(emu, { ConnectionTimeoutSeconds = 60 })
    emu:advance(1)
    control(emu, "POST", "/_emulator/sessions/" .. id .. "/connect")
    emu:advance(3600)
    assert.equal("CONNECTED", get(emu, id).Status)  -- no connection timer while connected
    control(emu, "POST", "/_emulator/sessions/" .. id .. "/disconnect")
    emu:advance(59)
    assert.equal("PENDING_CLIENT_RECONNECTION", get(emu, id).Status)
    emu:advance(1)
    local s = get(emu, id)
    assert.equal("TERMINATED", s.Status)
    assert.equal("reconnectionTimeout", s.StatusReason)
  end)

  it("restarts the timer on reconnect and ends with reconnectionTimeout if the client never connects", function()
    local id = start(emu, { ConnectionTimeoutSeconds = 60 })
    emu:advance(1)
    control(emu, "POST", "/_emulator/sessions/" .. id .. "/connect")
    control(emu, "POST", "/_emulator/sessions/" .. id .. "/disconnect")
    emu:advance(50)
    assert.equal(200, (reconnect(emu, id, "offer-2")))
    emu:advance(0.2 + 59)
    assert.equal("ACTIVE", get(emu, id).Status)
    emu:advance(1)
    assert.equal("reconnectionTimeout", get(emu, id).StatusReason)
  end)

  it("terminates with maxSessionLengthTimeout, connected or not", function()
    local id = start(emu, { SessionLengthSeconds = 600, ConnectionTimeoutSeconds = 3600 })
    emu:advance(1)
    control(emu, "POST", "/_emulator/sessions/" .. id .. "/connect")
    emu:advance(598.9)
    assert.equal("CONNECTED", get(emu, id).Status)
    emu:advance(0.1)
    local s = get(emu, id)
    assert.equal("TERMINATED", s.Status)
    assert.equal("maxSessionLengthTimeout", s.StatusReason)
    local id2 = start(emu, { SessionLengthSeconds = 10, ConnectionTimeoutSeconds = 3600, SignalRequest = "x" })
    emu:advance(10)
    assert.equal("maxSessionLengthTimeout", get(emu, id2).StatusReason)
  end)

  it("runs timers in due order when one advance passes several", function()
    local a = start(emu, { ConnectionTimeoutSeconds = 5, SignalRequest = "a" })
    local b = start(emu, { ConnectionTimeoutSeconds = 50, SessionLengthSeconds = 20, SignalRequest = "b" })
    emu:advance(1000)
    local sa, sb = get(emu, a), get(emu, b)
    assert.equal("connectionTimeout", sa.StatusReason)
    assert.equal("maxSessionLengthTimeout", sb.StatusReason)
    -- each ended at its own time
    assert.near(sa.CreatedAt + 6, sa.LastUpdatedAt, 0.01)
    assert.near(sb.CreatedAt + 20, sb.LastUpdatedAt, 0.01)
  end)

  it("lets NO_CLIENT_CONNECTION sessions run without a client until a connection is created", function()
    local id, s = start(emu, { SignalRequest = "NO_CLIENT_CONNECTION", ConnectionTimeoutSeconds = 30 })
    assert.equal("ACTIVATING", s.Status)
    emu:advance(1)
    local g = get(emu, id)
    assert.equal("ACTIVE", g.Status)
    assert.is_nil(g.SignalResponse)
    emu:advance(1000)  -- no connection timeout without an answer to connect with
    assert.equal("ACTIVE", get(emu, id).Status)
    local st, c = control(emu, "POST", "/_emulator/sessions/" .. id .. "/connect")
    assert.equal(409, st)
    assert.matches("no answer outstanding", c.message)
    local rst, r = reconnect(emu, id, "browser offer")
    assert.equal(200, rst)
    assert.equal(core.sha256_hex("browser offer"), offer_named(r.SignalResponse))
    emu:advance(0.2 + 30)
    assert.equal("connectionTimeout", get(emu, id).StatusReason)
    -- and it still ends at its maximum length
    local id2 = start(emu, { SignalRequest = "NO_CLIENT_CONNECTION", SessionLengthSeconds = 100 })
    emu:advance(100)
    assert.equal("maxSessionLengthTimeout", get(emu, id2).StatusReason)
  end)

  it("refuses NO_CLIENT_CONNECTION as a reconnect offer", function()
    local id = start(emu)
    emu:advance(1)
    local _, err = reconnect(emu, id, "NO_CLIENT_CONNECTION")
    assert.equal("ValidationException", err.code)
  end)

  it("rejects an offer used before on the session, whichever call used it", function()
    local id = start(emu, { SignalRequest = "offer-1" })
    emu:advance(1)
    local _, err = reconnect(emu, id, "offer-1")
    assert.equal("ValidationException", err.code)
    assert.equal(400, err.status)
    assert.matches("newly generated", err.message)
    assert.equal("ACTIVE", get(emu, id).Status)  -- the refused call changed nothing
    assert.equal(200, (reconnect(emu, id, "offer-2")))
    emu:advance(0.2)
    _, err = reconnect(emu, id, "offer-2")
    assert.equal("ValidationException", err.code)
    assert.equal(200, (reconnect(emu, id, "offer-3")))
    -- another session may use the same offer text
    local other = start(emu, { SignalRequest = "offer-3" })
    emu:advance(1)
    assert.equal(200, (reconnect(emu, other, "offer-1")))
    local _, sessions = control(emu, "GET", "/_emulator/sessions")
    local offers = {}
    for _, s in ipairs(sessions) do offers[s.Id] = s.Offers end
    assert.equal(3, offers[id])
    assert.equal(2, offers[other])
  end)

  it("answers ConflictException naming the state where a connection cannot be created", function()
    local id = start(emu)
    local _, err = reconnect(emu, id, "o-activating")
    assert.equal("ConflictException", err.code)
    assert.equal(409, err.status)
    assert.matches("ACTIVATING", err.message)
    emu:advance(1)
    control(emu, "POST", "/_emulator/sessions/" .. id .. "/connect")
    _, err = reconnect(emu, id, "o-connected")
    assert.equal("ConflictException", err.code)
    assert.matches("CONNECTED", err.message)
    control(emu, "POST", "/_emulator/sessions/" .. id .. "/disconnect")
    assert.equal(200, (reconnect(emu, id, "o-1")))
    _, err = reconnect(emu, id, "o-reconnecting")
    assert.matches("RECONNECTING", err.message)
    emu:advance(0.2)
    call(emu, "TerminateStreamSession", { Identifier = SG, StreamSessionIdentifier = id })
    _, err = reconnect(emu, id, "o-terminating")
    assert.matches("TERMINATING", err.message)
    emu:advance(1)
    _, err = reconnect(emu, id, "o-terminated")
    assert.equal("ConflictException", err.code)
    assert.matches("TERMINATED", err.message)
  end)

  it("refuses to terminate an ACTIVATING session", function()
    local id = start(emu)
    local err = fails(emu, "TerminateStreamSession", { Identifier = SG, StreamSessionIdentifier = id },
      "ConflictException", 409)
    assert.matches("ACTIVATING", err.message)
    emu:advance(1)
    assert.equal(204, (call(emu, "TerminateStreamSession", { Identifier = SG, StreamSessionIdentifier = id })))
  end)

  it("refuses connect and disconnect in the wrong states with a 409 JSON error", function()
    local id = start(emu)
    local st, body = control(emu, "POST", "/_emulator/sessions/" .. id .. "/connect")
    assert.equal(409, st)
    assert.matches("ACTIVATING", body.message)
    st = control(emu, "POST", "/_emulator/sessions/" .. id .. "/disconnect")
    assert.equal(409, st)
    emu:advance(1)
    st = control(emu, "POST", "/_emulator/sessions/" .. id .. "/disconnect")
    assert.equal(409, st)
    assert.equal(200, (control(emu, "POST", "/_emulator/sessions/" .. id .. "/connect")))
    st = control(emu, "POST", "/_emulator/sessions/" .. id .. "/connect")
    assert.equal(409, st)
    st = control(emu, "POST", "/_emulator/sessions/NOSUCHSESSION/connect")
    assert.equal(404, st)
  end)

  it("needs an ACTIVE stream group, a known and associated application and an active location", function()
    local g = ok(emu, "CreateStreamGroup", { Description = "new", StreamClass = "gen5n_ultra",
      DefaultApplicationIdentifier = APP })
    local err = fails(emu, "StartStreamSession", { Identifier = g.Id, ApplicationIdentifier = APP,
      Protocol = "WebRTC", SignalRequest = "o" }, "ConflictException", 409)
    assert.matches("ACTIVATING", err.message)
    local a = ok(emu, "CreateApplication", sample("CreateApplication"))
    emu:advance(1)
    err = fails(emu, "StartStreamSession", { Identifier = SG, ApplicationIdentifier = a.Id, Protocol = "WebRTC",
      SignalRequest = "o" }, "ValidationException", 400)
    assert.matches("not associated", err.message)
    fails(emu, "StartStreamSession", { Identifier = SG, ApplicationIdentifier = "a-nothere00", Protocol = "WebRTC",
      SignalRequest = "o" }, "ResourceNotFoundException", 404)
    fails(emu, "StartStreamSession", { Identifier = "sg-nothere00", ApplicationIdentifier = APP, Protocol = "WebRTC",
      SignalRequest = "o" }, "ResourceNotFoundException", 404)
    err = fails(emu, "StartStreamSession", { Identifier = SG, ApplicationIdentifier = APP, Protocol = "WebRTC",
      SignalRequest = "o", Locations = { "ap-south-1" } }, "ValidationException", 400)
    assert.matches("ap%-south%-1", err.message)
    fails(emu, "StartStreamSession", { Identifier = SG, ApplicationIdentifier = APP, Protocol = "WebRTC",
      SignalRequest = "o", ConnectionTimeoutSeconds = 3601 }, "ValidationException", 400)
    fails(emu, "StartStreamSession", { Identifier = SG, ApplicationIdentifier = APP, Protocol = "WebRTC",
      SignalRequest = "o", SessionLengthSeconds = 0 }, "ValidationException", 400)
    err = fails(emu, "StartStreamSession", { Identifier = SG, ApplicationIdentifier = APP, Protocol = "WebRTC" },
      "ValidationException", 400)
    assert.equal("1 validation error detected: Value null at 'signalRequest' failed to satisfy constraint: "
      .. "Member must not be null", err.message)
  end)

  it("places a session in the first ACTIVE location asked for", function()
    ok(emu, "AddStreamGroupLocations", { Identifier = SG, LocationConfigurations = { { LocationName = "us-east-1" } } })
    local _, s = start(emu, { Locations = { "us-east-1", REGION } })
    assert.equal(REGION, s.Location)  -- us-east-1 is still ACTIVATING
    emu:advance(1)
    _, s = start(emu, { Locations = { "us-east-1", REGION }, SignalRequest = "o2" })
    assert.equal("us-east-1", s.Location)
    local g = ok(emu, "GetStreamGroup", { Identifier = SG })
    for _, loc in ipairs(g.LocationStates) do
      if loc.LocationName == REGION then assert.equal(1, loc.IdleCapacity) end
    end
  end)

  it("finds a session only in its own stream group", function()
    local id = start(emu)
    local g = ok(emu, "CreateStreamGroup", { Description = "other", StreamClass = "gen4n_high" })
    fails(emu, "GetStreamSession", { Identifier = g.Id, StreamSessionIdentifier = id },
      "ResourceNotFoundException", 404)
    local other_arn = ("arn:aws:gameliftstreams:%s:%s:streamsession/%s/%s"):format(REGION, ACCOUNT, g.Id, id)
    fails(emu, "GetStreamSession", { Identifier = SG, StreamSessionIdentifier = other_arn },
      "ResourceNotFoundException", 404)
  end)

  it("opens an admin shell only while the session runs", function()
    local id = start(emu)
    fails(emu, "CreateStreamSessionAdminShell", { Identifier = SG, StreamSessionIdentifier = id },
      "StreamSessionAccessNotReadyException", 409)
    emu:advance(1)
    local out = ok(emu, "CreateStreamSessionAdminShell", { Identifier = SG, StreamSessionIdentifier = id })
    assert.matches("^wss://", out.StreamUrl)
    assert.is_string(out.SessionId)
    assert.is_string(out.TokenValue)
  end)

  it("exports files: PENDING while the session runs, SUCCEEDED once it ends", function()
    local id = start(emu)
    fails(emu, "ExportStreamSessionFiles", { Identifier = SG, StreamSessionIdentifier = id,
      OutputUri = "s3://bucket/x/" }, "ValidationException", 400)
    emu:advance(1)
    ok(emu, "ExportStreamSessionFiles", { Identifier = SG, StreamSessionIdentifier = id, OutputUri = "s3://bucket/x/" })
    local s = get(emu, id)
    assert.same({ Status = "PENDING", OutputUri = "s3://bucket/x/" }, s.ExportFilesMetadata)
    assert.equal(1, #ok(emu, "ListStreamSessions", { Identifier = SG, ExportFilesStatus = "PENDING" }).Items)
    call(emu, "TerminateStreamSession", { Identifier = SG, StreamSessionIdentifier = id })
    emu:advance(1)
    assert.equal("SUCCEEDED", get(emu, id).ExportFilesMetadata.Status)
    local by_account = ok(emu, "ListStreamSessionsByAccount", { ExportFilesStatus = "SUCCEEDED" })
    assert.same({ Status = "SUCCEEDED" }, by_account.Items[1].ExportFilesMetadata)
    assert.equal(0, #ok(emu, "ListStreamSessions", { Identifier = SG, ExportFilesStatus = "PENDING" }).Items)
  end)

  it("sets delays through opts and the control API", function()
    local e = new_emu{ delays = { activation = 5 } }
    local id = start(e)
    e:advance(4.9)
    assert.equal("ACTIVATING", get(e, id).Status)
    e:advance(0.1)
    assert.equal("ACTIVE", get(e, id).Status)
    local st, d = control(e, "POST", "/_emulator/delays", { activation = 0, reconnect = 2 })
    assert.equal(200, st)
    assert.equal(0, d.activation)
    assert.equal(2, d.reconnect)
    local id2 = start(e, { SignalRequest = "o2" })
    e:advance(0)
    assert.equal("ACTIVE", get(e, id2).Status)
    reconnect(e, id2, "o3")
    e:advance(1.9)
    assert.equal("RECONNECTING", get(e, id2).Status)
    e:advance(0.1)
    assert.equal("ACTIVE", get(e, id2).Status)
    st = control(e, "POST", "/_emulator/delays", { activation = -1 })
    assert.equal(400, st)
    local _, body = control(e, "POST", "/_emulator/delays", { warp = 1 })
    assert.matches("warp", body.message)
    assert.has_error(function() new_emu{ delays = { warp = 1 } } end)
  end)
end)

describe("idempotency (ClientToken)", function()
  local emu
  before_each(function() emu = new_emu() end)
  local TOKEN = "token-start-stream-session-000000001"

  it("answers a repeated request with the first reply and changes nothing", function()
    local input = { Identifier = SG, ApplicationIdentifier = APP, Protocol = "WebRTC", SignalRequest = "o",
      ClientToken = TOKEN }
    local st1, out1 = call(emu, "StartStreamSession", input)
    emu:advance(1)
    local st2, out2 = call(emu, "StartStreamSession", input)
    assert.equal(st1, st2)
    assert.same(out1, out2)
    assert.equal(1, #ok(emu, "ListStreamSessions", { Identifier = SG }).Items)
  end)

  it("refuses the same token with a different input", function()
    local input = { Identifier = SG, ApplicationIdentifier = APP, Protocol = "WebRTC", SignalRequest = "o",
      ClientToken = TOKEN }
    call(emu, "StartStreamSession", input)
    input.SignalRequest = "other"
    local err = fails(emu, "StartStreamSession", input, "ValidationException", 400)
    assert.matches("ClientToken", err.message)
    -- the token is per operation
    local a = sample("CreateApplication")
    a.ClientToken = TOKEN
    ok(emu, "CreateApplication", a)
  end)

  it("lets a retried reconnect get the same answer instead of 'offer reused'", function()
    local id = start(emu)
    emu:advance(1)
    local input = { Identifier = SG, StreamSessionIdentifier = id, SignalRequest = "offer-2",
      ClientToken = "token-reconnect-0000000000000000001" }
    local st1, r1 = call(emu, "CreateStreamSessionConnection", input)
    emu:advance(0.2)
    local st2, r2 = call(emu, "CreateStreamSessionConnection", input)
    assert.equal(200, st1)
    assert.equal(st1, st2)
    assert.same(r1, r2)
    assert.equal("ACTIVE", get(emu, id).Status)  -- the replay did not reconnect again
    local _, sessions = control(emu, "GET", "/_emulator/sessions")
    assert.equal(2, sessions[1].Offers)
    -- without the token the same offer is a reuse
    input.ClientToken = nil
    fails(emu, "CreateStreamSessionConnection", input, "ValidationException", 400)
  end)

  it("covers every operation whose input has an idempotency token", function()
    local with_token = {}
    for _, op in ipairs(model.operation_names()) do
      if model.idempotency_member(op) then with_token[#with_token + 1] = op end
    end
    assert.same({ "CreateApplication", "CreateStreamGroup", "CreateStreamSessionConnection", "CreateStreamUrl",
      "StartStreamSession" }, with_token)
    local id = start(emu, { SignalRequest = "first" })
    emu:advance(1)
    for _, op in ipairs(with_token) do
      local input = sample(op)
      if input.StreamSessionIdentifier then input.StreamSessionIdentifier = id end
      if op == "StartStreamSession" then input.Locations = nil end
      input.ClientToken = ("token-%s-%s"):format(op, ("0"):rep(24))
      local st1, out1 = call(emu, op, input)
      assert(st1, op)
      local st2, out2 = call(emu, op, input)
      assert.equal(st1, st2)
      assert.same(out1, out2)
      if input.SignalRequest then input.SignalRequest = "changed" else input.Description = "changed" end
      fails(emu, op, input, "ValidationException", 400)
    end
  end)

  it("remembers at most max_tokens tokens, forgetting the oldest", function()
    local e = new_emu{ max_tokens = 2 }
    local function start_with(token)
      local _, out = call(e, "StartStreamSession", { Identifier = SG, ApplicationIdentifier = APP, Protocol = "WebRTC",
        SignalRequest = "o", ClientToken = token .. ("0"):rep(32) })
      return out.Arn
    end
    local a1, b1, c1 = start_with("a"), start_with("b"), start_with("c")
    assert.equal(c1, start_with("c"))
    assert.equal(b1, start_with("b"))
    assert.not_equal(a1, start_with("a"))  -- forgotten: a new session
    assert.equal(4, #ok(e, "ListStreamSessions", { Identifier = SG }).Items)
  end)

  it("forgets tokens after idempotency_ttl", function()
    local e = new_emu{ idempotency_ttl = 60 }
    local input = { Identifier = SG, ApplicationIdentifier = APP, Protocol = "WebRTC", SignalRequest = "o",
      ClientToken = TOKEN }
    local _, out1 = call(e, "StartStreamSession", input)
    e:advance(61)
    call(e, "StartStreamSession", { Identifier = SG, ApplicationIdentifier = APP, Protocol = "WebRTC",
      SignalRequest = "p", ClientToken = "another-token-00000000000000000000" })  -- expiry runs on insert
    local _, out2 = call(e, "StartStreamSession", input)
    assert.not_equal(out1.Arn, out2.Arn)
  end)
end)

describe("pagination", function()
  local emu
  before_each(function() emu = new_emu() end)

  local function all_pages(op, input)
    local ids, pages, token = {}, 0, nil
    repeat
      local args = {}
      for k, v in pairs(input) do args[k] = v end
      args.NextToken = token
      local out = ok(emu, op, args)
      pages = pages + 1
      for _, item in ipairs(out.Items) do ids[#ids + 1] = item.Arn end
      token = out.NextToken
    until token == nil
    return ids, pages
  end

  it("walks many sessions in pages of MaxResults, each once", function()
    local want = {}
    for i = 1, 57 do
      local id = start(emu, { SignalRequest = "offer " .. i })
      want[#want + 1] = id
    end
    local arns, pages = all_pages("ListStreamSessions", { Identifier = SG, MaxResults = 10 })
    assert.equal(6, pages)
    assert.equal(57, #arns)
    local seen = {}
    for i, arn in ipairs(arns) do
      local id = arn:match("([^/]+)$")
      assert.is_nil(seen[id])
      seen[id] = true
      assert.equal(want[i], id)
    end
    local first = ok(emu, "ListStreamSessions", { Identifier = SG })
    assert.equal(25, #first.Items)  -- the default page
    assert.is_string(first.NextToken)
    local _, pages100 = all_pages("ListStreamSessions", { Identifier = SG, MaxResults = 100 })
    assert.equal(1, pages100)
    local by_account, p2 = all_pages("ListStreamSessionsByAccount", { MaxResults = 7 })
    assert.equal(57, #by_account)
    assert.equal(9, p2)
  end)

  it("filters by status across pages", function()
    for i = 1, 30 do
      local id = start(emu, { SignalRequest = "o" .. i })
      if i % 3 == 0 then
        emu:advance(1)
        call(emu, "TerminateStreamSession", { Identifier = SG, StreamSessionIdentifier = id })
      end
    end
    emu:advance(1)
    local ended = all_pages("ListStreamSessions", { Identifier = SG, Status = "TERMINATED", MaxResults = 3 })
    assert.equal(10, #ended)
    local active = all_pages("ListStreamSessionsByAccount", { Status = "ACTIVE", MaxResults = 4 })
    assert.equal(20, #active)
    assert.equal(0, #ok(emu, "ListStreamSessions", { Identifier = SG, Status = "CONNECTED" }).Items)
  end)

  it("refuses bad tokens and out-of-range MaxResults", function()
    for i = 1, 3 do start(emu, { SignalRequest = "o" .. i }) end
    local out = ok(emu, "ListStreamSessions", { Identifier = SG, MaxResults = 1 })
    fails(emu, "ListStreamSessions", { Identifier = SG, NextToken = "garbage" }, "ValidationException", 400)
    fails(emu, "ListStreamSessions", { Identifier = SG, NextToken = out.NextToken .. "0" }, "ValidationException")
    fails(emu, "ListStreamSessionsByAccount", { NextToken = out.NextToken }, "ValidationException", 400)
    fails(emu, "ListStreamGroups", { NextToken = samples.ListStreamGroups.NextToken }, "ValidationException", 400)
    fails(emu, "ListStreamSessions", { Identifier = SG, MaxResults = 0 }, "ValidationException", 400)
    local err = fails(emu, "ListStreamSessions", { Identifier = SG, MaxResults = 101 }, "ValidationException", 400)
    assert.matches("maxResults", err.message)
    -- a token outlives the items it was made from and the next page resumes after them
    local second = ok(emu, "ListStreamSessions", { Identifier = SG, MaxResults = 1, NextToken = out.NextToken })
    assert.equal(1, #second.Items)
    assert.not_equal(out.Items[1].Arn, second.Items[1].Arn)
  end)

  it("pages applications, stream groups and stream URLs", function()
    for i = 1, 4 do
      ok(emu, "CreateApplication", { Description = "app " .. i, ExecutablePath = "x", ApplicationSourceUri = "s3://b/",
        RuntimeEnvironment = { Type = "UBUNTU", Version = "22_04_LTS" } })
      ok(emu, "CreateStreamGroup", { Description = "group " .. i, StreamClass = "gen6n_small" })
    end
    local apps, pa = all_pages("ListApplications", { MaxResults = 2 })
    assert.equal(5, #apps)
    assert.equal(3, pa)
    local groups = all_pages("ListStreamGroups", { MaxResults = 4 })
    assert.equal(5, #groups)
    for i = 1, 3 do
      ok(emu, "CreateStreamUrl", { Identifier = SG, ApplicationIdentifier = APP, Protocol = "WebRTC",
        UrlExpiresAfterMinutes = i, Locations = { REGION } })
    end
    local urls = all_pages("ListStreamUrls", { MaxResults = 2, StreamGroupIdentifier = SG })
    assert.equal(3, #urls)
  end)
end)

describe("quotas", function()
  local emu
  before_each(function() emu = new_emu() end)

  local function get_calls(n)
    local passed, throttled = 0, 0
    for _ = 1, n do
      local st, err = emu:call("GetStreamGroup", { Identifier = SG })
      if st then
        passed = passed + 1
      else
        assert.equal("ThrottlingException", err.code)
        assert.equal(429, err.status)
        assert.equal("Rate exceeded", err.message)
        throttled = throttled + 1
      end
    end
    return passed, throttled
  end

  it("lets 20 GetStreamSession calls a second through, then throttles until the clock moves", function()
    local id = start(emu)
    local input = { Identifier = SG, StreamSessionIdentifier = id }
    for i = 1, 20 do assert(emu:call("GetStreamSession", input), "call " .. i) end
    local st, err = emu:call("GetStreamSession", input)
    assert.is_nil(st)
    assert.equal("ThrottlingException", err.code)
    assert.equal(429, err.status)
    assert.equal("Rate exceeded", err.message)
    emu:advance(0.5)
    for i = 1, 10 do assert(emu:call("GetStreamSession", input), "refill " .. i) end
    assert.is_nil((emu:call("GetStreamSession", input)))
    emu:advance(1)
    for i = 1, 20 do assert(emu:call("GetStreamSession", input), "after advance " .. i) end
    assert.is_nil((emu:call("GetStreamSession", input)))
    -- other operations have their own buckets: 25/s by default
    assert.same({ 25, 5 }, { get_calls(30) })
  end)

  it("takes rates from the control API: a number, 0 or null for unlimited, * for all", function()
    local st, q = control(emu, "POST", "/_emulator/quotas", { GetStreamGroup = 5 })
    assert.equal(200, st)
    assert.equal(5, q.GetStreamGroup)
    assert.equal(20, q.StartStreamSession)
    assert.same({ 5, 5 }, { get_calls(10) })
    emu:advance(1)
    assert.same({ 5, 0 }, { get_calls(5) })
    control(emu, "POST", "/_emulator/quotas", '{"GetStreamGroup": null}')
    assert.same({ 500, 0 }, { get_calls(500) })
    control(emu, "POST", "/_emulator/quotas", { ["*"] = 1 })
    assert.same({ 1, 2 }, { get_calls(3) })
    control(emu, "POST", "/_emulator/quotas", { ["*"] = 0 })
    assert.same({ 100, 0 }, { get_calls(100) })
    local _, got = control(emu, "GET", "/_emulator/quotas")
    assert.equal(0, got.CreateStreamSessionConnection)
  end)

  it("refuses unknown operations and bad rates, naming them", function()
    local st, body = control(emu, "POST", "/_emulator/quotas", { GetStreamGroups = 5 })
    assert.equal(400, st)
    assert.matches("GetStreamGroups", body.message)
    st, body = control(emu, "POST", "/_emulator/quotas", { GetStreamGroup = -1 })
    assert.equal(400, st)
    assert.matches("GetStreamGroup", body.message)
    st = control(emu, "POST", "/_emulator/quotas", { GetStreamGroup = "fast" })
    assert.equal(400, st)
    assert.has_error(function() new_emu{ quotas = { Nope = 1 } } end)
    assert.has_error(function() new_emu{ quotas = { GetStreamGroup = -2 } } end)
  end)

  it("takes rates from opts and logs throttled calls", function()
    local e = new_emu{ quotas = { CreateStreamSessionConnection = 2 } }
    local id = start(e)
    e:advance(1)
    for i = 1, 2 do
      assert(e:call("CreateStreamSessionConnection", { Identifier = SG, StreamSessionIdentifier = id,
        SignalRequest = "offer " .. i }))
      e:advance(0.2)
    end
    e:advance(0)
    local st, err = e:call("CreateStreamSessionConnection", { Identifier = SG, StreamSessionIdentifier = id,
      SignalRequest = "offer 3" })
    -- 0.4 s passed: 0.8 tokens refilled, not enough for a call
    assert.is_nil(st)
    assert.equal("ThrottlingException", err.code)
    local _, log = control(e, "GET", "/_emulator/requests")
    local last = log[#log]
    assert.same({ operation = "CreateStreamSessionConnection", status = 429, error = "ThrottlingException",
      session = id, client_token = cjson.null, time = last.time }, last)
  end)
end)

describe("faults", function()
  local emu
  before_each(function() emu = new_emu() end)

  it("answers the next count matching calls with the fault, in order, the operation filter applied", function()
    local id = start(emu)
    emu:advance(1)
    control(emu, "POST", "/_emulator/sessions/" .. id .. "/connect")
    control(emu, "POST", "/_emulator/sessions/" .. id .. "/disconnect")
    local st = control(emu, "POST", "/_emulator/faults",
      { status = 503, count = 2, operation = "CreateStreamSessionConnection" })
    assert.equal(201, st)
    control(emu, "POST", "/_emulator/faults", { status = 500 })
    control(emu, "POST", "/_emulator/faults", { status = 429 })
    local _, pending = control(emu, "GET", "/_emulator/faults")
    assert.equal(3, #pending)
    assert.equal(2, pending[1].count)
    assert.equal("CreateStreamSessionConnection", pending[1].operation)

    local input = { Identifier = SG, StreamSessionIdentifier = id, SignalRequest = "offer-2" }
    local s1, e1 = emu:call("GetStreamGroup", { Identifier = SG })   -- skips the filtered fault
    assert.is_nil(s1)
    assert.same({ "InternalServerException", 500 }, { e1.code, e1.status })
    local s2, e2 = emu:call("CreateStreamSessionConnection", input)
    assert.is_nil(s2)
    assert.same({ "ServiceUnavailableException", 503 }, { e2.code, e2.status })
    assert.equal("PENDING_CLIENT_RECONNECTION", get(emu, id).Status)  -- faulted: nothing changed
    local s3, e3 = emu:call("CreateStreamSessionConnection", input)
    assert.is_nil(s3)
    assert.equal("ServiceUnavailableException", e3.code)
    local s4, e4 = emu:call("GetStreamGroup", { Identifier = SG })
    assert.is_nil(s4)
    assert.same({ "ThrottlingException", 429, "Rate exceeded" }, { e4.code, e4.status, e4.message })
    -- all consumed: the same offer now succeeds (the faulted calls did not use it up)
    assert.equal(200, (emu:call("CreateStreamSessionConnection", input)))
    _, pending = control(emu, "GET", "/_emulator/faults")
    assert.same({}, pending)
    local _, log = control(emu, "GET", "/_emulator/requests")
    local statuses = {}
    for i, e in ipairs(log) do statuses[i] = e.status end
    assert.same({ 500, 503, 503, 429, 200 }, statuses)
    assert.equal(id, log[2].session)
  end)

  it("lists and clears pending faults", function()
    control(emu, "POST", "/_emulator/faults", { status = 503, count = 5 })
    control(emu, "POST", "/_emulator/faults", { drop = true, operation = "GetStreamSession" })
    local st, body = control(emu, "DELETE", "/_emulator/faults")
    assert.equal(200, st)
    assert.equal(2, body.cleared)
    assert.equal(200, (emu:call("GetStreamGroup", { Identifier = SG })))
  end)

  it("refuses bad fault bodies, naming the field", function()
    local cases = {
      { { status = 200 }, "status" }, { { status = 503, count = 0 }, "count" },
      { { status = 503, operation = "Nope" }, "operation" }, { { drop = "yes" }, "drop" },
      { { count = 2 }, "status" }, { { drop = true, truncate = true }, "truncate" },
      { { latency_ms = -1 }, "latency_ms" }, { { latency_ms = 100 }, "latency_ms" },
      { { body_bytes = 7 }, "body_bytes" }, { { body_bytes = 1.5 }, "body_bytes" },
      { { body_bytes = 64 * 1024 * 1024 + 1 }, "body_bytes" }, { { body_bytes = 100, drop = true }, "body_bytes" },
    }
    for _, c in ipairs(cases) do
      local st, body = control(emu, "POST", "/_emulator/faults", c[1])
      assert.equal(400, st)
      assert.matches(c[2], body.message, 1, true)
    end
    local st = control(emu, "POST", "/_emulator/faults", "[1,2]")
    assert.equal(400, st)
    st = control(emu, "POST", "/_emulator/faults", "{not json")
    assert.equal(400, st)
  end)

  it("reports transport faults to emu:call as EmulatorFault", function()
    control(emu, "POST", "/_emulator/faults", { drop = true })
    control(emu, "POST", "/_emulator/faults", { malformed = true })
    local st, err = emu:call("GetStreamGroup", { Identifier = SG })
    assert.is_nil(st)
    assert.equal("EmulatorFault", err.code)
    assert.matches("drop", err.message)
    st, err = emu:call("GetStreamGroup", { Identifier = SG })
    assert.is_nil(st)
    assert.matches("malformed", err.message)
    local _, log = control(emu, "GET", "/_emulator/requests")
    assert.same({ cjson.null, "EmulatorFault" }, { log[1].status, log[1].error })
    assert.same({ 200, "EmulatorFault" }, { log[2].status, log[2].error })
  end)

  it("logs each request's ClientToken, faulted, throttled or served", function()
    local id = start(emu)
    emu:advance(1)
    control(emu, "POST", "/_emulator/sessions/" .. id .. "/connect")
    control(emu, "POST", "/_emulator/sessions/" .. id .. "/disconnect")
    emu:call("GetStreamSession", { Identifier = SG, StreamSessionIdentifier = id })
    control(emu, "POST", "/_emulator/faults", { status = 503, operation = "CreateStreamSessionConnection" })
    control(emu, "POST", "/_emulator/faults", { body_bytes = 64, operation = "CreateStreamSessionConnection" })
    local input = { Identifier = SG, StreamSessionIdentifier = id, SignalRequest = "o-token", ClientToken = "tok-1" }
    for _ = 1, 3 do emu:call("CreateStreamSessionConnection", input) end
    local _, log = control(emu, "GET", "/_emulator/requests")
    assert.equal(cjson.null, log[#log - 3].client_token)    -- GetStreamSession carries none
    assert.same({ 503, "tok-1" }, { log[#log - 2].status, log[#log - 2].client_token })
    assert.same({ "EmulatorFault", "tok-1" }, { log[#log - 1].error, log[#log - 1].client_token })
    assert.same({ 200, "tok-1" }, { log[#log].status, log[#log].client_token })
  end)
end)

describe("control API", function()
  local emu
  before_each(function() emu = new_emu() end)

  it("answers health and the clock", function()
    local st, h = control(emu, "GET", "/_emulator/health")
    assert.equal(200, st)
    assert.equal("ok", h.status)
    assert.equal("virtual", h.clock)
    local t0 = emu:now()
    local _, c = control(emu, "POST", "/_emulator/clock", { advance = 2.5 })
    assert.near(t0 + 2.5, c.now, 1e-3)
    assert.near(t0 + 2.5, emu:now(), 1e-6)
    local bad, body = control(emu, "POST", "/_emulator/clock", { advance = -1 })
    assert.equal(400, bad)
    assert.matches("advance", body.message)
    bad, body = control(emu, "POST", "/_emulator/clock", {})
    assert.equal(400, bad)
    assert.matches("advance", body.message)
    local _, g = control(emu, "GET", "/_emulator/clock")
    assert.near(t0 + 2.5, g.now, 1e-3)
  end)

  it("lists sessions with their state and never the offer or answer", function()
    local offer = "v=0\r\nsecret-offer-text\r\n"
    local id = start(emu, { SignalRequest = offer, UserId = "u1" })
    emu:advance(1)
    local answer = get(emu, id).SignalResponse
    local st, list, text = control(emu, "GET", "/_emulator/sessions")
    assert.equal(200, st)
    assert.equal(1, #list)
    local s = list[1]
    assert.equal(id, s.Id)
    assert.equal(SG, s.StreamGroupId)
    assert.equal("ACTIVE", s.Status)
    assert.equal(cjson.null, s.StatusReason)
    assert.equal(120, s.ConnectionTimeoutSeconds)
    assert.equal(1, s.Offers)
    assert.is_true(s.AnswerPending)
    assert.matches("streamsession/", s.Arn)
    assert.is_nil(text:find("secret-offer-text", 1, true))
    assert.is_nil(text:find(answer:sub(1, 40), 1, true))
    assert.is_nil(text:find("x-gls", 1, true))
    local _, one = control(emu, "GET", "/_emulator/sessions/" .. id)
    assert.equal(id, one.Id)
    local _, empty, etext = control(new_emu(), "GET", "/_emulator/sessions")
    assert.same({}, empty)
    assert.equal("[]", etext)
  end)

  it("ends sessions as the application or the service would", function()
    local id = start(emu)
    emu:advance(1)
    local st, s = control(emu, "POST", "/_emulator/sessions/" .. id .. "/terminate", { reason = "idleTimeout" })
    assert.equal(200, st)
    assert.equal("TERMINATED", s.Status)
    assert.equal("idleTimeout", get(emu, id).StatusReason)
    st = control(emu, "POST", "/_emulator/sessions/" .. id .. "/terminate")
    assert.equal(409, st)
    local id2 = start(emu, { SignalRequest = "2" })
    st = control(emu, "POST", "/_emulator/sessions/" .. id2 .. "/error", { reason = "placementTimeout" })
    assert.equal(200, st)
    local s2 = get(emu, id2)
    assert.same({ "ERROR", "placementTimeout" }, { s2.Status, s2.StatusReason })
    local id3 = start(emu, { SignalRequest = "3" })
    local bad, body = control(emu, "POST", "/_emulator/sessions/" .. id3 .. "/error", { reason = "apiTerminated" })
    assert.equal(400, bad)
    assert.matches("reason", body.message)
    emu:advance(1)
    local _, s3 = control(emu, "POST", "/_emulator/sessions/" .. id3 .. "/terminate")
    assert.equal("applicationExit", s3.StatusReason)
  end)

  it("keeps a request log, oldest first, and clears it", function()
    local id = start(emu)
    emu:call("GetStreamSession", { Identifier = SG, StreamSessionIdentifier = id })
    emu:call("GetStreamSession", { Identifier = SG, StreamSessionIdentifier = "NOSUCHSESSION" })
    emu:call("StartStreamSession", { Identifier = SG, ApplicationIdentifier = APP, Protocol = "WebRTC",
      SignalRequest = "o2" })
    emu:advance(3)
    emu:call("ListStreamGroups", {})
    local st, log = control(emu, "GET", "/_emulator/requests")
    assert.equal(200, st)
    assert.equal(4, #log)
    assert.same({ operation = "GetStreamSession", status = 200, error = cjson.null, session = id,
      client_token = cjson.null, time = log[1].time }, log[1])
    assert.same({ "GetStreamSession", 404, "ResourceNotFoundException", "NOSUCHSESSION" },
      { log[2].operation, log[2].status, log[2].error, log[2].session })
    assert.equal("StartStreamSession", log[3].operation)
    assert.equal(201, log[3].status)
    assert.matches("^%w+$", log[3].session)
    assert.equal(cjson.null, log[4].session)
    assert.near(log[1].time + 3, log[4].time, 1e-6)
    local _, cleared = control(emu, "DELETE", "/_emulator/requests")
    assert.equal(4, cleared.cleared)
    local _, again, text = control(emu, "GET", "/_emulator/requests")
    assert.same({}, again)
    assert.equal("[]", text)
  end)

  it("bounds the request log at max_requests, dropping the oldest", function()
    local e = new_emu{ max_requests = 3, quotas = { ["*"] = 0 } }
    for i = 1, 5 do e:call("GetStreamGroup", { Identifier = i <= 2 and "sg-none" or SG }) end
    local _, log = control(e, "GET", "/_emulator/requests")
    assert.equal(3, #log)
    assert.equal(200, log[1].status)
  end)

  it("resets to the start state", function()
    local id = start(emu)
    local g = ok(emu, "CreateStreamGroup", { Description = "x", StreamClass = "gen4n_high" })
    control(emu, "POST", "/_emulator/faults", { status = 500 })
    control(emu, "POST", "/_emulator/quotas", { GetStreamGroup = 1 })
    emu:call("ListStreamGroups", {})
    local t = emu:now()
    local st = control(emu, "POST", "/_emulator/reset")
    assert.equal(200, st)
    assert.equal(t, emu:now())
    fails(emu, "GetStreamSession", { Identifier = SG, StreamSessionIdentifier = id }, "ResourceNotFoundException")
    fails(emu, "GetStreamGroup", { Identifier = g.Id }, "ResourceNotFoundException")
    assert.equal(1, #ok(emu, "ListStreamGroups", {}).Items)
    assert.equal("ACTIVE", ok(emu, "GetStreamGroup", { Identifier = SG }).Status)
    local _, faults = control(emu, "GET", "/_emulator/faults")
    assert.same({}, faults)
    local _, log = control(emu, "GET", "/_emulator/requests")
    assert.same({}, log)
    local _, q = control(emu, "GET", "/_emulator/quotas")
    assert.equal(25, q.GetStreamGroup)
    emu:advance(10)  -- timers of the old state are gone with it
    assert.equal(0, #ok(emu, "ListStreamSessionsByAccount", {}).Items)
  end)

  it("answers unknown paths with 404 and wrong methods with 405, as JSON", function()
    local st, body = control(emu, "GET", "/_emulator/nothing")
    assert.equal(404, st)
    assert.matches("nothing", body.message)
    st = control(emu, "GET", "/_emulator/sessions/x/y/z")
    assert.equal(404, st)
    st, body = control(emu, "DELETE", "/_emulator/clock")
    assert.equal(405, st)
    assert.matches("DELETE", body.message)
    st = control(emu, "GET", "/_emulator/reset")
    assert.equal(405, st)
    st = control(emu, "POST", "/_emulator/clock", "{")
    assert.equal(400, st)
    st = control(emu, "GET", "/_emulator/health?verbose=1")
    assert.equal(200, st)
  end)
end)

describe("applications and stream groups", function()
  local emu
  before_each(function() emu = new_emu() end)

  it("creates an application that becomes READY, updates and deletes it", function()
    local a, st = ok(emu, "CreateApplication", sample("CreateApplication"))
    assert.equal(201, st)
    assert.equal("INITIALIZED", a.Status)
    assert.same({}, a.AssociatedStreamGroups)
    emu:advance(0.5)
    assert.equal("PROCESSING", ok(emu, "GetApplication", { Identifier = a.Arn }).Status)
    local err = fails(emu, "DeleteApplication", { Identifier = a.Id }, "ConflictException", 409)
    assert.matches("PROCESSING", err.message)
    emu:advance(0.5)
    local got = ok(emu, "GetApplication", { Identifier = a.Id })
    assert.equal("READY", got.Status)
    assert.equal("s3://bucket/logs/", got.ApplicationLogOutputUri)
    local u = ok(emu, "UpdateApplication", { Identifier = a.Id, Description = "My Game 1.1",
      ApplicationLogPaths = { "a/", "b/" } })
    assert.equal("My Game 1.1", u.Description)
    assert.same({ "a/", "b/" }, u.ApplicationLogPaths)
    assert.is_true(u.LastUpdatedAt >= got.LastUpdatedAt)
    local tags = ok(emu, "ListTagsForResource", { ResourceArn = a.Arn })
    assert.same({ team = "net", env = "test" }, tags.Tags)
    assert.equal(204, (call(emu, "DeleteApplication", { Identifier = a.Arn })))
    assert.equal("DELETING", ok(emu, "GetApplication", { Identifier = a.Id }).Status)
    assert.equal(204, (call(emu, "DeleteApplication", { Identifier = a.Arn })))
    emu:advance(1)
    fails(emu, "GetApplication", { Identifier = a.Id }, "ResourceNotFoundException", 404)
    fails(emu, "ListTagsForResource", { ResourceArn = a.Arn }, "ResourceNotFoundException", 404)
  end)

  it("refuses to delete an application a stream group uses or a session streams", function()
    local err = fails(emu, "DeleteApplication", { Identifier = APP }, "ConflictException", 409)
    assert.matches(SG, err.message, 1, true)
    local id = start(emu)
    emu:advance(1)
    ok(emu, "DisassociateApplications", { Identifier = SG, ApplicationIdentifiers = { APP } })
    local g = ok(emu, "GetStreamGroup", { Identifier = SG })
    assert.same({}, g.AssociatedApplications)
    assert.is_nil(g.DefaultApplication)
    assert.equal("ACTIVE", get(emu, id).Status)  -- streams in progress continue
    err = fails(emu, "DeleteApplication", { Identifier = APP }, "ConflictException", 409)
    assert.matches("stream session", err.message)
    call(emu, "TerminateStreamSession", { Identifier = SG, StreamSessionIdentifier = id })
    emu:advance(1)
    assert.equal(204, (call(emu, "DeleteApplication", { Identifier = APP })))
  end)

  it("creates a stream group that becomes ACTIVE and deletes it when no session runs", function()
    local g, st = ok(emu, "CreateStreamGroup", { Description = "EU players", StreamClass = "gen4n_high",
      DefaultApplicationIdentifier = APP_ARN,
      LocationConfigurations = { { LocationName = "eu-central-1", AlwaysOnCapacity = 4 } },
      Tags = { owner = "net" } })
    assert.equal(201, st)
    assert.equal("ACTIVATING", g.Status)
    assert.same({ REGION, "eu-central-1" }, { g.LocationStates[1].LocationName, g.LocationStates[2].LocationName })
    assert.equal("ACTIVATING", g.LocationStates[2].Status)
    assert.same({ Id = APP, Arn = APP_ARN }, g.DefaultApplication)
    emu:advance(1)
    local got = ok(emu, "GetStreamGroup", { Identifier = g.Id })
    assert.equal("ACTIVE", got.Status)
    assert.equal("ACTIVE", got.LocationStates[2].Status)
    assert.equal(4, got.LocationStates[2].AlwaysOnCapacity)
    local a = ok(emu, "GetApplication", { Identifier = APP })
    assert.equal(2, #a.AssociatedStreamGroups)
    local id = start(emu, { Identifier = g.Id })
    emu:advance(1)
    local err = fails(emu, "DeleteStreamGroup", { Identifier = g.Id }, "ConflictException", 409)
    assert.matches("session", err.message)
    call(emu, "TerminateStreamSession", { Identifier = g.Id, StreamSessionIdentifier = id })
    fails(emu, "DeleteStreamGroup", { Identifier = g.Id }, "ConflictException", 409)  -- still TERMINATING
    emu:advance(0.2)
    assert.equal(204, (call(emu, "DeleteStreamGroup", { Identifier = g.Arn })))
    assert.equal("DELETING", ok(emu, "GetStreamGroup", { Identifier = g.Id }).Status)
    fails(emu, "StartStreamSession", { Identifier = g.Id, ApplicationIdentifier = APP, Protocol = "WebRTC",
      SignalRequest = "o" }, "ConflictException", 409)
    emu:advance(1)
    fails(emu, "GetStreamGroup", { Identifier = g.Id }, "ResourceNotFoundException", 404)
    assert.same({ SG_ARN }, ok(emu, "GetApplication", { Identifier = APP }).AssociatedStreamGroups)
    assert.equal(0, #ok(emu, "ListStreamSessionsByAccount", {}).Items)
  end)

  it("checks the default application of a new stream group", function()
    fails(emu, "CreateStreamGroup", { Description = "x", StreamClass = "gen4n_high",
      DefaultApplicationIdentifier = "a-missing00" }, "ResourceNotFoundException", 404)
    local a = ok(emu, "CreateApplication", sample("CreateApplication"))
    fails(emu, "CreateStreamGroup", { Description = "x", StreamClass = "gen4n_high",
      DefaultApplicationIdentifier = a.Id }, "ValidationException", 400)
  end)

  it("associates and disassociates applications, keeping a default", function()
    local g = ok(emu, "CreateStreamGroup", { Description = "x", StreamClass = "gen4n_high" })
    fails(emu, "AssociateApplications", { Identifier = g.Id, ApplicationIdentifiers = { APP } },
      "ValidationException", 400)  -- still ACTIVATING
    local b = ok(emu, "CreateApplication", sample("CreateApplication"))
    emu:advance(1)
    assert.is_nil(ok(emu, "GetStreamGroup", { Identifier = g.Id }).DefaultApplication)
    local out = ok(emu, "AssociateApplications", { Identifier = g.Arn, ApplicationIdentifiers = { b.Arn, APP } })
    assert.equal(g.Arn, out.Arn)
    assert.same({ b.Arn, APP_ARN }, out.ApplicationArns)
    local got = ok(emu, "GetStreamGroup", { Identifier = g.Id })
    assert.equal(b.Id, got.DefaultApplication.Id)  -- the first one became the default
    ok(emu, "UpdateStreamGroup", { Identifier = g.Id, DefaultApplicationIdentifier = APP })
    assert.equal(APP, ok(emu, "GetStreamGroup", { Identifier = g.Id }).DefaultApplication.Id)
    out = ok(emu, "DisassociateApplications", { Identifier = g.Id, ApplicationIdentifiers = { APP } })
    assert.same({ APP_ARN }, out.ApplicationArns)
    assert.equal(b.Id, ok(emu, "GetStreamGroup", { Identifier = g.Id }).DefaultApplication.Id)
    fails(emu, "AssociateApplications", { Identifier = g.Id, ApplicationIdentifiers = { "a-missing00" } },
      "ResourceNotFoundException", 404)
    local c = ok(emu, "CreateApplication", sample("CreateApplication"))
    fails(emu, "AssociateApplications", { Identifier = g.Id, ApplicationIdentifiers = { c.Id } },
      "ValidationException", 400)
    fails(emu, "UpdateStreamGroup", { Identifier = g.Id, DefaultApplicationIdentifier = c.Id },
      "ValidationException", 400)
  end)

  it("adds and removes locations through UPDATING_LOCATIONS", function()
    local out = ok(emu, "AddStreamGroupLocations", { Identifier = SG, LocationConfigurations = {
      { LocationName = "us-east-1", AlwaysOnCapacity = 2, TargetIdleCapacity = 1, MaximumCapacity = 10 },
      { LocationName = "eu-central-1" } } })
    assert.equal(SG_ARN, out.Identifier)
    assert.equal(2, #out.Locations)
    assert.equal("ACTIVATING", out.Locations[1].Status)
    assert.equal(2, out.Locations[2].AlwaysOnCapacity)  -- the "high" classes' default
    assert.equal("UPDATING_LOCATIONS", ok(emu, "GetStreamGroup", { Identifier = SG }).Status)
    fails(emu, "AddStreamGroupLocations", { Identifier = SG, LocationConfigurations = {
      { LocationName = "ap-south-1" } } }, "ValidationException", 400)
    fails(emu, "UpdateStreamGroup", { Identifier = SG, Description = "x" }, "ConflictException", 409)
    emu:advance(1)
    local g = ok(emu, "GetStreamGroup", { Identifier = SG })
    assert.equal("ACTIVE", g.Status)
    assert.equal(3, #g.LocationStates)
    fails(emu, "AddStreamGroupLocations", { Identifier = SG, LocationConfigurations = {
      { LocationName = "us-east-1" } } }, "ValidationException", 400)
    local u = ok(emu, "UpdateStreamGroup", { Identifier = SG, Description = "EU and US players",
      LocationConfigurations = { { LocationName = "us-east-1", AlwaysOnCapacity = 1 } } })
    assert.equal("EU and US players", u.Description)
    assert.equal(1, u.LocationStates[2].AlwaysOnCapacity)
    fails(emu, "UpdateStreamGroup", { Identifier = SG, LocationConfigurations = { { LocationName = "sa-east-1" } } },
      "ValidationException", 400)
    fails(emu, "RemoveStreamGroupLocations", { Identifier = SG, Locations = { REGION } }, "ValidationException", 400)
    fails(emu, "RemoveStreamGroupLocations", { Identifier = SG, Locations = { "sa-east-1" } }, "ValidationException")
    assert.equal(204, (call(emu, "RemoveStreamGroupLocations", { Identifier = SG,
      Locations = { "us-east-1", "eu-central-1" } })))
    g = ok(emu, "GetStreamGroup", { Identifier = SG })
    assert.equal("REMOVING", g.LocationStates[2].Status)
    emu:advance(1)
    g = ok(emu, "GetStreamGroup", { Identifier = SG })
    assert.equal(1, #g.LocationStates)
    assert.equal("ACTIVE", g.Status)
  end)

  it("tags applications and stream groups by ARN", function()
    ok(emu, "TagResource", { ResourceArn = SG_ARN, Tags = { owner = "netcode", env = "dev" } })
    assert.same({ owner = "netcode", env = "dev" }, ok(emu, "ListTagsForResource", { ResourceArn = SG_ARN }).Tags)
    ok(emu, "UntagResource", { ResourceArn = SG_ARN, TagKeys = { "owner", "absent" } })
    assert.same({ env = "dev" }, ok(emu, "ListTagsForResource", { ResourceArn = SG_ARN }).Tags)
    ok(emu, "UntagResource", { ResourceArn = SG_ARN, TagKeys = { "env" } })
    assert.is_nil(ok(emu, "ListTagsForResource", { ResourceArn = SG_ARN }).Tags)
    assert.same({}, ok(emu, "ListTagsForResource", { ResourceArn = APP_ARN }))
    local many = {}
    for i = 1, 51 do many["k" .. i] = "v" end
    fails(emu, "TagResource", { ResourceArn = APP_ARN, Tags = many }, "ValidationException", 400)
    fails(emu, "TagResource", { ResourceArn = SG_ARN:gsub("sg%-", "sg-X"), Tags = { a = "b" } },
      "ResourceNotFoundException", 404)
  end)

  it("creates, expires and revokes stream URLs", function()
    local u, st = ok(emu, "CreateStreamUrl", sample("CreateStreamUrl"))
    assert.equal(201, st)
    assert.equal("ACTIVE", u.Status)
    assert.equal(3, u.RemainingUses)
    assert.matches("^su%-%w+$", u.StreamUrlId)
    local got = ok(emu, "GetStreamUrl", { Identifier = SG, StreamUrlIdentifier = u.Arn })
    assert.same({}, got.StreamSessions)
    emu:advance(3599)
    assert.equal("ACTIVE", ok(emu, "GetStreamUrl", { Identifier = SG, StreamUrlIdentifier = u.StreamUrlId }).Status)
    emu:advance(1.01)
    assert.equal("EXPIRED", ok(emu, "GetStreamUrl", { Identifier = SG, StreamUrlIdentifier = u.StreamUrlId }).Status)
    local v = ok(emu, "CreateStreamUrl", { Identifier = SG, ApplicationIdentifier = APP, Protocol = "WebRTC",
      UrlExpiresAfterMinutes = 5, Locations = { REGION } })
    assert.equal(1, #ok(emu, "ListStreamUrls", { Status = "ACTIVE" }).Items)
    assert.equal(1, #ok(emu, "ListStreamUrls", { Status = "EXPIRED" }).Items)
    assert.equal(204, (call(emu, "RevokeStreamUrl", { Identifier = SG, StreamUrlIdentifier = v.StreamUrlId })))
    got = ok(emu, "GetStreamUrl", { Identifier = SG, StreamUrlIdentifier = v.StreamUrlId })
    assert.same({ "REVOKED", "userRevoked" }, { got.Status, got.StatusReason })
    fails(emu, "GetStreamUrl", { Identifier = SG, StreamUrlIdentifier = "su-missing00" },
      "ResourceNotFoundException", 404)
    local a = ok(emu, "CreateApplication", sample("CreateApplication"))
    emu:advance(1)
    fails(emu, "CreateStreamUrl", { Identifier = SG, ApplicationIdentifier = a.Id, Protocol = "WebRTC",
      UrlExpiresAfterMinutes = 5, Locations = { REGION } }, "ValidationException", 400)
  end)

  it("lists shader caches of READY applications", function()
    local out = ok(emu, "ListApplicationShaderCaches", { Identifier = APP })
    assert.equal(1, #out.Items)
    assert.equal(APP_ARN, out.Items[1].ApplicationArn)
    assert.matches("^%x+$", out.Items[1].Identifier)
    assert.equal(32, #out.Items[1].Identifier)
    local a = ok(emu, "CreateApplication", sample("CreateApplication"))
    assert.same({ Items = {} }, ok(emu, "ListApplicationShaderCaches", { Identifier = a.Id }))
  end)
end)

describe("every operation of the model", function()
  it("is known to the emulator, with the model's required members", function()
    assert.same(model.operation_names(), emulator.operations)
    local emu = new_emu()
    for _, op in ipairs(model.operation_names()) do
      local required = model.required_inputs(op)
      local st, err = emu:dispatch(op, {})
      if #required > 0 then
        assert.is_nil(st, op)
        assert.equal("ValidationException", err.code)
        assert.matches(("^%d validation errors? detected"):format(#required), err.message)
        for _, name in ipairs(required) do
          assert.truthy(err.message:find("'" .. name:gsub("^%u", string.lower) .. "'", 1, true), op .. " " .. name)
        end
      else
        assert.truthy(st, op)
      end
    end
    assert.has_error(function() emu:dispatch("NoSuchOperation", {}) end)
    assert.has_error(function() emu:dispatch("GetStreamGroup", "sg-1") end)
  end)

  -- An emulator with one of everything the sample inputs name.
  local function fixture()
    local emu = new_emu()
    ok(emu, "AddStreamGroupLocations", { Identifier = SG, LocationConfigurations = {
      { LocationName = "us-east-1" }, { LocationName = "eu-central-1" } } })
    local spare_app = ok(emu, "CreateApplication", sample("CreateApplication"))
    local spare_group = ok(emu, "CreateStreamGroup", { Description = "spare", StreamClass = "gen4n_high" })
    emu:advance(1)
    local id = start(emu, { SignalRequest = "fixture offer" })
    emu:advance(1)
    local url = ok(emu, "CreateStreamUrl", { Identifier = SG, ApplicationIdentifier = APP, Protocol = "WebRTC",
      UrlExpiresAfterMinutes = 60, Locations = { REGION } })
    return emu, { session = id, url = url.StreamUrlId, app = spare_app.Id, group = spare_group.Id }
  end

  local function adapt(v, ids)
    if type(v) == "string" then
      return (v:gsub("111122223333", ACCOUNT):gsub("ABC123def4567", ids.session):gsub("url%-1A2b3C", ids.url))
    elseif type(v) == "table" then
      local t = {}
      for k, x in pairs(v) do t[k] = adapt(x, ids) end
      return t
    end
    return v
  end

  local OVERRIDES = {
    AddStreamGroupLocations = function(input)
      input.LocationConfigurations[1].LocationName = "ap-northeast-1"
    end,
    DeleteApplication = function(input, ids) input.Identifier = ids.app end,
    DeleteStreamGroup = function(input, ids) input.Identifier = ids.group end,
    ListStreamGroups = function(input) input.NextToken = nil end,  -- the sample's token is not ours
  }

  for _, op in ipairs(model.operation_names()) do
    it(op .. " answers a model-valid success to the sample input", function()
      assert.is_table(samples[op], "no sample input for " .. op)
      local emu, ids = fixture()
      local input = adapt(samples[op], ids)
      if OVERRIDES[op] then OVERRIDES[op](input, ids) end
      assert.same({}, model.check_input(op, input))
      local status, out = call(emu, op, input)
      assert(status, op .. ": " .. tostring(out))
      -- and again after every timer has run: the state it left behind still answers
      emu:advance(5)
      assert.equal(200, (call(emu, "GetStreamGroup", { Identifier = SG })))
      assert.equal(200, (call(emu, "ListStreamSessionsByAccount", {})))
      assert.equal(200, (call(emu, "ListApplications", {})))
    end)
  end
end)

describe("clock", function()
  it("starts the virtual clock at the real time's whole second and moves it only on advance", function()
    local t = 1000.25
    local emu = emulator.new{ clock = "virtual", time_source = function() return t end }
    assert.equal(1000, emu:now())
    t = 2000
    assert.equal(1000, emu:now())
    assert.equal(1010, emu:advance(10))
    assert.has_error(function() emu:advance(-1) end)
    assert.has_error(function() emu:advance("1") end)
  end)

  it("runs timers on the real clock from tick and reports when the next is due", function()
    local t = 5000
    local emu = emulator.new{ clock = "real", time_source = function() return t end }
    assert.is_nil(emu:next_timer())
    local id = start(emu)
    assert.near(1, emu:next_timer(), 1e-9)
    t = t + 0.4
    emu:tick()
    assert.near(0.6, emu:next_timer(), 1e-9)
    assert.equal("ACTIVATING", get(emu, id).Status)
    t = t + 0.6
    assert.equal(0, emu:next_timer())
    emu:tick()
    assert.equal("ACTIVE", get(emu, id).Status)
    assert.near(120, emu:next_timer(), 1e-9)
    -- advance works on the real clock too, as an offset
    emu:advance(120)
    assert.equal("connectionTimeout", get(emu, id).StatusReason)
    assert.equal(5120 + 1, emu:now())
  end)

  it("reports no wait for a virtual clock unless something is due now", function()
    local emu = new_emu()
    start(emu)
    assert.is_nil(emu:next_timer())
    control(emu, "POST", "/_emulator/delays", { activation = 0 })
    start(emu, { SignalRequest = "x" })
    assert.equal(0, emu:next_timer())
    emu:tick()
    assert.is_nil(emu:next_timer())
  end)

  it("does not pile up cancelled timers under a stream of reconnects", function()
    local emu = new_emu{ quotas = { ["*"] = 0 } }
    local id = start(emu, { ConnectionTimeoutSeconds = 3600 })
    emu:advance(1)
    for i = 1, 5000 do
      assert.equal(200, (reconnect(emu, id, "offer " .. i)))
      emu:advance(0.2)
    end
    assert.equal("ACTIVE", get(emu, id).Status)
    assert.is_true(#emu.timers < 2200, "timers in the heap: " .. #emu.timers)
    emu:advance(3600)
    assert.equal("connectionTimeout", get(emu, id).StatusReason)
  end)

  it("uses sub-second timestamps", function()
    local emu = new_emu()
    local _, s = start(emu)
    emu:advance(0.25)
    local g = ok(emu, "GetStreamGroup", { Identifier = SG })
    assert.is_number(s.CreatedAt)
    assert.is_true(g.CreatedAt <= s.CreatedAt)
  end)

  it("refuses bad options", function()
    assert.has_error(function() emulator.new{ clock = "fast" } end)
    assert.has_error(function() emulator.new{ region = "US WEST" } end)
    assert.has_error(function() emulator.new{ account = "123" } end)
    assert.has_error(function() emulator.new("virtual") end)
  end)
end)
