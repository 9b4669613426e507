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
-- can spare: from a full bucket (one that would otherwise overflow) that has
-- spilled a whole call since the last call taken without spare, or from one
-- already down to its last call; never from a burst being spent, nor from
-- one that work without spare has just drawn on and that has only now filled
-- again (that work is arriving: its next call may come before a refill). A
-- store that ignores spare gives that call anyway.
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

-- Refilled calls are taken only with a billionth of a call to spare: a
-- caller on the service's own clock (bench/storm on the emulator's virtual
-- one) computes its bucket from the same readings, and the two can differ
-- only by how the sums round (~1e-14); when both land exactly on a whole call,
-- ours must be the one short. The margin is per call, not a slower refill, so
-- it does not add up over a long overload, and it is small enough that a call
-- is never put off to a later step by it (a margin of 1e-5 did that on a 25 ms
-- clock: every call in an overload went 25 ms late). The calls of a full
-- bucket are whole on both sides and need none.
local SPARE = 1e-9

function Memory:take(op, now, rate, burst, spare)
  local b = self._buckets[op]
  if not b then
    -- spilled: calls' worth the full bucket has overflowed since the last
    -- call taken without spare (a new bucket counts as long full)
    b = { tokens = burst, last = now, whole = true, spilled = 1 }
    self._buckets[op] = b
  end
  local tokens = b.tokens
  if now > b.last then
    tokens = tokens + (now - b.last) * rate
    b.last = now
    b.whole = false
  end
  if tokens >= burst then
    b.spilled = b.spilled + (tokens - burst)
    tokens, b.whole = burst, true
  end
  if spare and tokens >= 2 then
    b.tokens = tokens
    if tokens < burst - 0.01 then return (burst - 0.01 - tokens) / rate end
    if b.spilled < 1 - SPARE then return (1 - b.spilled) / rate end
  end
  if tokens >= 1 + SPARE or (b.whole and tokens >= 1) then
    b.tokens = tokens - 1
    if not spare then b.spilled = 0 end
    return true
  end
  b.tokens = tokens
  return (1 + SPARE - tokens) / rate
end

return M
