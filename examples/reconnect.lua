-- examples/reconnect.lua: keep a player in the game through a dropped connection.
--
--   glsrun emulator &                  # prints "listening on URL"
--   glsrun examples/reconnect.lua URL
--   lua5.4 examples/reconnect.lua URL  # with LUA_PATH/LUA_CPATH set
--
-- Against the local emulator (`glsrun emulator`): start a stream session with
-- the player's first WebRTC offer, wait until it is ACTIVE, let the player's
-- device attach, drop it (the emulator's control API stands in for the
-- network), then do what a game backend does when the player comes back:
-- call CreateStreamSessionConnection with the device's *new* offer and hand
-- the answer to that device. Each answer names the offer it answers (its
-- SHA-256), so the example shows which offer got which answer.
--
-- Region and credentials come from the environment when set, else the
-- well-known example key that the emulator accepts.
local gls = require "gameliftstreams"
local control = require "gameliftstreams.control"
local core = require "gameliftstreams.core"

local endpoint = arg and arg[1] or os.getenv("GLS_ENDPOINT_URL")
if not endpoint then
  io.stderr:write("usage: reconnect.lua EMULATOR_URL\n")
  os.exit(2)
end

local client = gls.client{
  endpoint_url = endpoint,
  region = os.getenv("AWS_REGION") or "us-west-2",
  credentials = os.getenv("AWS_ACCESS_KEY_ID") and {
    access_key_id = os.getenv("AWS_ACCESS_KEY_ID"),
    secret_access_key = os.getenv("AWS_SECRET_ACCESS_KEY"),
    session_token = os.getenv("AWS_SESSION_TOKEN"),
  } or { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
}
local emu = control.new(endpoint)

local function check(what, out, err)
  if out then return out end
  io.stderr:write(("%s failed: %s (status %s, request id %s)\n")
    :format(what, tostring(err), tostring(err.status), tostring(err.request_id)))
  os.exit(1)
end

local t0 = os.time()
local function say(fmt, ...)
  print(("[+%2ds] " .. fmt):format(os.time() - t0, ...))
end

-- A stand-in for the offer a browser's RTCPeerConnection makes; a real one is
-- a long SDP text, and a reconnect needs a newly generated one.
local generation = 0
local function new_offer()
  generation = generation + 1
  return table.concat({
    "v=0", ("o=- %d%04d %d IN IP4 127.0.0.1"):format(os.time(), math.random(0, 9999), generation),
    "s=-", "t=0 0", "a=group:BUNDLE 0", "m=video 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0",
  }, "\r\n") .. "\r\n"
end

-- Which offer does an answer answer? Never print either text: they are
-- secrets of the player's stream. Their digests are safe to show.
local function short(hex) return hex:sub(1, 12) end
local function answers(answer, offer)
  local named = answer:match("a=x%-gls%-offer%-sha256:(%x+)")
  return named ~= nil and named == core.sha256_hex(offer), named or "?"
end

local function status_of(group, id)
  return check("GetStreamSession",
               client:get_stream_session{ Identifier = group, StreamSessionIdentifier = id })
end

-- 1. The stream group and application the emulator starts with.
local groups = check("ListStreamGroups", client:list_stream_groups{})
local group
for _, g in ipairs(groups.Items) do
  if g.Status == "ACTIVE" then group = g; break end
end
if not group then io.stderr:write("no ACTIVE stream group\n"); os.exit(1) end
local app = group.DefaultApplication.Id
say("stream group %s is ACTIVE, application %s", group.Id, app)

-- 2. The player asks to play: start a session with the device's first offer.
local offer1 = new_offer()
local started = check("StartStreamSession", client:start_stream_session{
  Identifier = group.Id, ApplicationIdentifier = app, Protocol = "WebRTC",
  SignalRequest = offer1, ConnectionTimeoutSeconds = 120,
})
local id = started.Arn:match("([^/]+)$")
say("started session %s: %s", id, started.Status)

local active = check("waiting for ACTIVE", client:wait("StreamSessionActive",
  { Identifier = group.Id, StreamSessionIdentifier = id }, { delay = 0.25, max_attempts = 120 }))
local ok, named = answers(active.SignalResponse, offer1)
say("session %s is %s; answer names offer %s (offer 1 is %s): %s", id, active.Status,
    short(named), short(core.sha256_hex(offer1)), ok and "match" or "MISMATCH")
if not ok then os.exit(1) end

-- 3. The device takes the answer and attaches.
check("connect", emu:connect(id))
say("player attached: %s", status_of(group.Id, id).Status)

-- 4. The player's network drops.
check("disconnect", emu:disconnect(id))
local pending = status_of(group.Id, id)
say("player dropped: %s, %d s to come back", pending.Status, pending.ConnectionTimeoutSeconds)

-- 5. The device is back with a newly generated offer: reconnect it.
local offer2 = new_offer()
local out = check("CreateStreamSessionConnection", client:create_stream_session_connection{
  Identifier = group.Id, StreamSessionIdentifier = id, SignalRequest = offer2,
})
ok, named = answers(out.SignalResponse, offer2)
say("reconnected (request id %s, %d retries): answer names offer %s (offer 2 is %s): %s",
    out.ResponseMetadata.RequestId, out.ResponseMetadata.RetryAttempts, short(named),
    short(core.sha256_hex(offer2)), ok and "match" or "MISMATCH")
if not ok then os.exit(1) end
say("session is %s", status_of(group.Id, id).Status)

-- 6. The device attaches with the new answer, plays, and quits.
check("connect", emu:connect(id))
say("player attached again: %s", status_of(group.Id, id).Status)
check("TerminateStreamSession",
      client:terminate_stream_session{ Identifier = group.Id, StreamSessionIdentifier = id })
local final = status_of(group.Id, id)
say("terminate requested: %s", final.Status)
for _ = 1, 120 do
  if final.Status == "TERMINATED" then break end
  core.sleep(0.25)
  final = status_of(group.Id, id)
end
say("session %s is %s (%s)", id, final.Status, tostring(final.StatusReason))
client:close()
