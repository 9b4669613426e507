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
--     s:take(op, now, rate, burst) -> true | seconds to wait for the next call
--
-- `id` is a session ARN; `hash` the SHA-256 hex of a token (tokens themselves
-- are never stored). A record holds only strings, numbers, booleans and
-- flat tables of those (see runtime.lua), so it can be serialized; the
-- runtime calls put_session after every change it makes to a record.
-- `take` is a token bucket per operation: `burst` calls at most at once,
-- refilled at `rate` calls per second on the caller's clock (a call takes
-- a ten-thousandth of a token more than one, against rounding).
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

function Memory:take(op, now, rate, burst)
  local b = self._buckets[op]
  if not b then
    b = { tokens = burst, last = now }
    self._buckets[op] = b
  end
  local tokens = b.tokens
  if now > b.last then
    tokens = tokens + (now - b.last) * rate
    b.last = now
  end
  if tokens > burst then tokens = burst end
  -- A call needs a hair more than one token: clocks in epoch seconds carry
  -- ~1e-7 s of rounding, and the service's bucket rounds too; erring late by
  -- a few microseconds keeps us from ever being the one that is early.
  if tokens >= 1 + 1e-4 then
    b.tokens = tokens - 1
    return true
  end
  b.tokens = tokens
  return (1 + 1e-4 - tokens) / rate
end

return M
