-- examples/cqueues.lua: many reconnects at once under cqueues.
--
--   lua5.4 examples/cqueues.lua ENDPOINT_URL [N]
--
-- Each player's reconnect runs in its own coroutine and reads like a
-- blocking call; inside a cqueues coroutine the client yields to the loop
-- (it is a cqueues pollable: pollfd/events/timeout), so one thread keeps
-- every call in flight at once.
local cqueues = require "cqueues"
local gls = require "gameliftstreams"

local endpoint = assert(arg[1], "usage: cqueues.lua ENDPOINT_URL [N]")
local n = tonumber(arg[2] or "20")

local client = gls.client{
  endpoint_url = endpoint, region = "us-west-2",
  credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
}

local loop = cqueues.new()
local answered, most_in_flight = 0, 0
for i = 1, n do
  loop:wrap(function()
    local out, err = client:create_stream_session_connection{
      Identifier = "sg-1AB2C3De4", StreamSessionIdentifier = ("player%04d"):format(i),
      SignalRequest = "offer-" .. i,
    }
    if out then
      answered = answered + 1
      print(("player %d: answer of %d bytes"):format(i, #out.SignalResponse))
    else
      print(("player %d: %s"):format(i, tostring(err)))
    end
  end)
end
-- a watcher coroutine: how many calls were in flight together
loop:wrap(function()
  repeat
    most_in_flight = math.max(most_in_flight, client:in_flight())
    cqueues.sleep(0.001)
  until answered == n or loop:count() == 1
end)
assert(loop:loop())
print(("%d of %d answered; at most %d in flight at once"):format(answered, n, most_in_flight))
client:close()
