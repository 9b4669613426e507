--- gameliftstreams.store: where the runtime keeps its session registry, its
-- token index and the account's call budget.
--
--     local store = require "gameliftstreams.store"
--     local s = store.memory()        -- the in-process store (the default)
--
-- The interface is small on purpose, so that a shared store (Redis, for
-- several runtimes spending one account's budget) can implement it later:
--
--     s:session(id) -> rec | nil          s:put_session(id, rec)   s:drop_session(id)
--     s:sessions() -> iterator of id, rec  s:count() -> number of sessions
--     s:token(hash) -> session id | nil    s:put_token(hash, id)    s:drop_token(hash)
--     s:take(op, now, rate, burst, spare) -> true | seconds to wait for the next call
--
-- `id` is a session ARN; `hash` the SHA-256 hex of a token (tokens themselves
-- are never stored). A record holds only strings, numbers, booleans and
-- flat tables of those (see runtime.lua), so it can be serialized; the
-- runtime calls put_session after every change it makes to a record.
-- `take` is a token bucket per operation: `burst` calls at most at once,
-- refilled at `rate` calls per second on the caller's clock (a hair slower in
-- the memory store, against rounding). With `spare`, only a call the burst
-- can spare: from a full bucket (one that would otherwise overflow) or from
-- one already down to its last call, never from a burst being spent. A store
-- that ignores spare gives that call anyway.
local M = { _NAME = "gameliftstreams.store" }

local Memory = {}
Memory.__index = Memory
Memory.__name = "gameliftstreams.store.memory"

--- The in-process store.
function M.memory()
  return setmetatable({ _sessions = {}, _tokens = {}, _buckets = {}, _n = 0 }, Memory)
end

function Memory:session(id) return self._sessions[id] end

function Memory:put_session(id, rec)
  if self._sessions[id] == nil then self._n = self._n + 1 end
  self._sessions[id] = rec
end

function Memory:drop_session(id)
  if self._sessions[id] ~= nil then
    self._n = self._n - 1
    self._sessions[id] = nil
  end
end

--- for id, rec in s:sessions() do ... end (dropping the current one is allowed)
function Memory:sessions() return next, self._sessions, nil end

function Memory:count() return self._n end

function Memory:token(hash) return self._tokens[hash] end
function Memory:put_token(hash, id) self._tokens[hash] = id end
function Memory:drop_token(hash) self._tokens[hash] = nil end

-- Refilled calls are taken only with a hundred-thousandth of a call to spare:
-- the service's bucket and ours see the same elapsed time up to rounding
-- (clocks in epoch seconds carry ~1e-7 s of it), and when both land exactly
-- on a whole call, ours must be the one short. The margin is per call, not a
-- slower refill, so it does not add up over a long overload. The calls of a
-- full bucket are whole on both sides and need none.
local SPARE = 1e-5

function Memory:take(op, now, rate, burst, spare)
  local b = self._buckets[op]
  if not b then
    b = { tokens = burst, last = now, whole = true }
    self._buckets[op] = b
  end
  local tokens = b.tokens
  if now > b.last then
    tokens = tokens + (now - b.last) * rate
    b.last = now
    b.whole = false
  end
  if tokens >= burst then tokens, b.whole = burst, true end
  if spare and tokens >= 2 and tokens < burst - 0.01 then
    b.tokens = tokens
    return (burst - 0.01 - tokens) / rate
  end
  if tokens >= 1 + SPARE or (b.whole and tokens >= 1) then
    b.tokens = tokens - 1
    return true
  end
  b.tokens = tokens
  return (1 + SPARE - tokens) / rate
end

return M
