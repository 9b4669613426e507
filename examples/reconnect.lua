-- examples/reconnect.lua: reconnect a dropped player.
--
--   glsrun examples/reconnect.lua ENDPOINT_URL
--   lua5.4 examples/reconnect.lua ENDPOINT_URL
--
-- A game client lost its connection; it sends the backend a *new* WebRTC
-- offer. The backend calls CreateStreamSessionConnection with that offer and
-- hands the answer back to that client. Region and credentials come from the
-- environment when set, else the well-known example key that local test
-- servers accept.
local gls = require "gameliftstreams"

local endpoint = arg and arg[1] or os.getenv("GLS_ENDPOINT_URL")
if not endpoint then
  io.stderr:write("usage: reconnect.lua ENDPOINT_URL\n")
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

local group, session = "sg-1AB2C3De4", "ABC123def4567"

local status = client:get_stream_session{ Identifier = group, StreamSessionIdentifier = session }
if status then print(("session %s is %s"):format(session, status.Status)) end

-- The player's device made a fresh offer after its network came back.
local offer = table.concat({
  "v=0", "o=- " .. os.time() .. " 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
  "a=group:BUNDLE 0", "m=video 9 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0",
}, "\r\n") .. "\r\n"

local out, err = client:create_stream_session_connection{
  Identifier = group,
  StreamSessionIdentifier = session,
  SignalRequest = offer,
}
if not out then
  io.stderr:write(("reconnect failed: %s (status %s, request id %s, retryable %s)\n")
    :format(tostring(err), tostring(err.status), tostring(err.request_id), tostring(err.retryable)))
  os.exit(1)
end
-- Never log an answer or an offer: they are secrets of the player's stream.
print(("reconnected: answer of %d bytes for the %d-byte offer (request id %s, %d retries)")
  :format(#out.SignalResponse, #offer, out.ResponseMetadata.RequestId, out.ResponseMetadata.RetryAttempts))
client:close()
