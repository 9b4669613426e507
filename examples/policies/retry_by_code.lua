-- retry_by_code.lua: retries tuned per error code. The runtime's default gives
-- 5xx and transport errors 3 attempts; a service having a bad minute deserves
-- more, as long as the player's window allows them. Throttling is retried
-- quickly (the scheduler already paces calls to the learnt rate), a session in
-- transition (ConflictException) after it settles, and mistakes never.
local RULES = {
  ThrottlingException = { attempts = 20, delay = 0.05 },
  ServiceUnavailableException = { attempts = 6, base = 0.2 },
  InternalServerException = { attempts = 6, base = 0.2 },
  ConflictException = { attempts = 8, delay = 0.3 },
  ValidationException = { attempts = 1 },
  AccessDeniedException = { attempts = 1 },
  ResourceNotFoundException = { attempts = 1 },
}
local TRANSPORT = { attempts = 4, base = 0.1 }     -- no HTTP status: connection reset, timeout
local OTHER = { attempts = 1 }
local LATENCY = 0.5

return {
  name = "retry_by_code",

  on_retry = function(ctx, err, attempt)
    local rule = RULES[err.code] or (err.status == nil and TRANSPORT) or OTHER
    if attempt >= rule.attempts then return { retry = false } end
    local delay = rule.delay or rule.base * 2 ^ (attempt - 1)
    if ctx.deadline ~= nil and ctx.now + delay + LATENCY > ctx.deadline then return { retry = false } end
    return { retry = true, delay = delay }
  end,
}
