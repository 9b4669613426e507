--- gameliftstreams.sigv4: AWS Signature Version 4 as a pure function.
--
-- local r = require("gameliftstreams.sigv4").sign{ method = "GET", path = "/", ... }
-- See DESIGN.md ("SigV4 as a pure function") for the fields. Misuse raises;
-- the C core (gameliftstreams.core.sigv4_sign) does the work.
local core = require("gameliftstreams.core")

local sigv4 = {
  sign = core.sigv4_sign,
}

return sigv4
