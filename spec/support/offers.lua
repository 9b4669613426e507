-- spec/support/offers.lua: WebRTC-like offers for specs that talk to the
-- emulator, and what its answers say.
--
--   local offers = require "spec.support.offers"
--   local o = offers.new("my-spec")     -- fresh each call (the emulator refuses
--                                       -- an offer used before)
--   offers.answered(answer)             -- the SHA-256 of the offer it answers
--   offers.session(answer)              -- the ID of the session it is for
local core = require "gameliftstreams.core"

local M = {}

local seq = 0
function M.new(tag)
  seq = seq + 1
  return ("v=0\r\no=- %d 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=x-%s:%d-%s\r\n")
    :format(seq, tag or "spec-offer", seq, core.random_hex(8))
end

function M.answered(answer)
  return type(answer) == "string" and answer:match("a=x%-gls%-offer%-sha256:(%x+)") or nil
end

function M.session(answer)
  local v = type(answer) == "string" and answer:match("a=x%-gls%-session:([^\r\n]+)")
  return v and v:match("[^/]+$") or nil
end

return M
