-- examples/luv.lua: gls inside a libuv loop (luv).
--
--   lua5.4 examples/luv.lua ENDPOINT_URL [N]
--
-- gls never owns the loop: a poll handle watches client:pollfd() and a timer
-- follows client:timeout(); both call client:step(0). attach() below is all
-- the glue there is. A coroutine wrapper then makes each call read like a
-- blocking one.
local uv = require "luv"
local gls = require "gameliftstreams"

local endpoint = assert(arg[1], "usage: luv.lua ENDPOINT_URL [N]")
local n = tonumber(arg[2] or "20")

-- Drive a gls client from the luv loop.
local function attach(client)
  local poll = uv.new_poll(client:pollfd())
  local timer = uv.new_timer()
  local rearm
  local function step()
    client:step(0)
    rearm()
  end
  function rearm()
    timer:stop()
    if client:in_flight() == 0 then
      poll:stop()
      return
    end
    poll:start("r", step)
    local t = client:timeout()
    if t then timer:start(math.ceil(t * 1000), 0, step) end
  end
  return { kick = rearm, close = function() poll:close(); timer:close() end }
end

-- Run fn(...) as a coroutine in which call(client, op, input) waits without blocking.
local function call(client, driver, op, input)
  local co = coroutine.running()
  client:start(op, input, function(out, err) assert(coroutine.resume(co, out, err)) end)
  driver.kick()
  return coroutine.yield()
end

local client = gls.client{
  endpoint_url = endpoint, region = "us-west-2",
  credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
}
local driver = attach(client)

local answered = 0
for i = 1, n do
  coroutine.wrap(function()
    local out, err = call(client, driver, "create_stream_session_connection", {
      Identifier = "sg-1AB2C3De4", StreamSessionIdentifier = ("player%04d"):format(i),
      SignalRequest = "offer-" .. i })
    if out then
      answered = answered + 1
      print(("player %d: answer of %d bytes"):format(i, #out.SignalResponse))
    else
      print(("player %d: %s"):format(i, tostring(err)))
    end
  end)()
end
uv.run()
print(("%d of %d answered"):format(answered, n))
driver.close()
uv.run() -- let the handles' close callbacks run before the loop goes away
client:close()
