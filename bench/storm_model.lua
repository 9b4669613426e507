-- bench/storm_model.lua: the storm of bench/storm as data, and the offline
-- optimum over it. Pure Lua, no I/O: the same seed gives the same storm, so
-- both backends (and the optimum) face exactly the same players.
--
--   local model = require "storm_model"
--   local storm = model.generate{ n = 5000, seed = 1 }
--   storm.players[i] = { i =, drop =, notice =, close =, timeout =, high = }
--       drop     seconds after the storm starts (uniform over 0..30)
--       notice   drop + 1..5 s: the client asks for the first time
--       close    drop + timeout: the window (ConnectionTimeoutSeconds) closes
--       timeout  one of 30, 60, 120, 300 (uniform)
--       high     true for exactly a quarter of the players (a random quarter)
--   model.optimum(storm.players, { rate = 20, burst = 20 [, only_high = true] })
--       -> saved, saved_high
--
-- The optimum is earliest-deadline-first over the account's budget, knowing
-- every request in advance. A player is one unit job: it can be served by one
-- call made at any time t with notice <= t < close (the client always has a
-- live offer from its notice until its window closes, and the emulator answers
-- at once). The budget is the emulator's token bucket for
-- CreateStreamSessionConnection: `rate` tokens a second, at most `burst` held,
-- full when the storm starts. Whenever a token is there and some released
-- player's window is still open, EDF serves the one whose window closes first.
-- For unit jobs with release times and deadlines this greedy maximises the
-- number of jobs done (an exchange argument: any schedule can be rewritten
-- into the EDF one without losing a job), and spending a token as soon as one
-- can be spent never hurts, since an idle bucket only loses tokens at its cap.
local M = {}

M.TIMEOUTS = { 30, 60, 120, 300 }
M.DROP_SPREAD = 30        -- seconds over which the sessions drop
M.NOTICE_MIN, M.NOTICE_MAX = 1, 5
M.ABANDON = 10            -- seconds a client waits for an answer to one offer

-- A small deterministic generator (splitmix64 over Lua 5.4 integers): the
-- storm must not depend on how often anything else calls math.random.
local function rng(seed)
  local s = seed * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
  return function()
    s = s + 0x9E3779B97F4A7C15
    local z = s
    z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ~ (z >> 27)) * 0x94D049BB133111EB
    z = z ~ (z >> 31)
    return (z >> 11) * 0x1.0p-53        -- [0, 1)
  end
end
M.rng = rng

function M.generate(opts)
  local n = assert(math.tointeger(opts.n), "n: integer expected")
  local r = rng(opts.seed or 1)
  local players = {}
  for i = 1, n do
    local drop = r() * M.DROP_SPREAD
    local timeout = M.TIMEOUTS[1 + math.floor(r() * #M.TIMEOUTS)]
    players[i] = {
      i = i, drop = drop, timeout = timeout,
      notice = drop + M.NOTICE_MIN + r() * (M.NOTICE_MAX - M.NOTICE_MIN),
      close = drop + timeout, high = false,
    }
  end
  -- Exactly a quarter carry the higher priority: the first n/4 of a shuffle.
  local order = {}
  for i = 1, n do order[i] = i end
  for i = n, 2, -1 do
    local j = 1 + math.floor(r() * i)
    order[i], order[j] = order[j], order[i]
  end
  local high = n // 4
  for k = 1, high do players[order[k]].high = true end
  return { n = n, high = high, players = players, seed = opts.seed or 1 }
end

---------------------------------------------------------------- min-heap

local function heap_push(h, v, key)
  local n = #h + 1
  h[n] = v
  while n > 1 do
    local p = n // 2
    if key(h[p]) <= key(v) then break end
    h[n], h[p] = h[p], v
    n = p
  end
end

local function heap_pop(h, key)
  local top, n = h[1], #h
  local last = h[n]
  h[n] = nil
  n = n - 1
  if n == 0 then return top end
  local i = 1
  while true do
    local l, best = 2 * i, i
    local kb = key(last)
    if l <= n and key(h[l]) < kb then best, kb = l, key(h[l]) end
    if l + 1 <= n and key(h[l + 1]) < kb then best = l + 1 end
    if best == i then break end
    h[i] = h[best]
    i = best
  end
  h[i] = last
  return top
end
M.heap_push, M.heap_pop = heap_push, heap_pop

local function by_close(p) return p.close end

local function by_notice(list)
  local jobs = table.move(list, 1, #list, 1, {})
  table.sort(jobs, function(a, b) return a.notice < b.notice end)
  return jobs
end

-- Puts the jobs asked by t (jobs[k..], in notice order) on the heap and drops
-- those whose window has closed by t; returns the next k.
local function release(heap, jobs, k, t)
  while k <= #jobs and jobs[k].notice <= t do
    heap_push(heap, jobs[k], by_close)
    k = k + 1
  end
  while heap[1] and heap[1].close <= t do heap_pop(heap, by_close) end
  return k
end

--- model.optimum(players, {rate=, burst=, only_high=}) -> saved, saved_high, served
-- served[i] = the time the optimum serves player i (nil: not saved).
function M.optimum(players, opts)
  local rate, burst = opts.rate or 20, opts.burst or opts.rate or 20
  local jobs = {}
  for _, p in ipairs(players) do
    if not opts.only_high or p.high then jobs[#jobs + 1] = p end
  end
  jobs = by_notice(jobs)
  local heap, served = {}, {}
  local t, tokens, last = 0, burst, 0
  local saved, saved_high, k = 0, 0, 1
  while true do
    if heap[1] == nil then
      if k > #jobs then break end
      if jobs[k].notice > t then t = jobs[k].notice end
    end
    k = release(heap, jobs, k, t)
    if heap[1] then
      tokens = math.min(burst, tokens + (t - last) * rate)
      last = t
      if tokens >= 1 - 1e-9 then
        local p = heap_pop(heap, by_close)
        tokens = math.max(0, tokens - 1)
        saved = saved + 1
        if p.high then saved_high = saved_high + 1 end
        served[p.i] = t
      else
        t = t + (1 - tokens) / rate
      end
    end
  end
  return saved, saved_high, served
end

--- model.edf_in(players, instants) -> how many players earliest-deadline-first
-- saves with one call at each of the given instants (seconds, any order).
function M.edf_in(players, instants)
  local jobs = by_notice(players)
  local times = table.move(instants, 1, #instants, 1, {})
  table.sort(times)
  local heap, k, saved = {}, 1, 0
  for _, t in ipairs(times) do
    k = release(heap, jobs, k, t)
    if heap[1] then
      heap_pop(heap, by_close)
      saved = saved + 1
    end
  end
  return saved
end

---------------------------------------------------------------- figures

--- The q-quantile (0..1) of a list of numbers (nearest rank), or nil.
function M.quantile(list, q)
  if #list == 0 then return nil end
  local s = table.move(list, 1, #list, 1, {})
  table.sort(s)
  local rank = math.max(1, math.ceil(q * #s))
  return s[rank]
end

-- An SDP-like WebRTC offer of realistic size (~1.3 KB), unique per (storm
-- seed, player, offer number). Its contents only need to differ: the emulator
-- answers an offer by naming its SHA-256. Built from a template (a storm
-- makes a few hundred thousand offers).
local OFFER = table.concat({
  "v=0",
  "o=- %d%06d 2 IN IP4 127.0.0.1",
  "s=-", "t=0 0", "a=group:BUNDLE 0 1 2", "a=extmap-allow-mixed", "a=msid-semantic: WMS",
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0",
  "a=ice-ufrag:%s", "a=ice-pwd:storm%s", "a=ice-options:trickle",
  "a=fingerprint:sha-256 %s",
  "a=setup:actpass", "a=mid:0", "a=sctp-port:5000", "a=max-message-size:262144",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 127 121 125 107 108 109 124 120 123 119 114 115 116",
  "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0", "a=ice-ufrag:%s",
  "a=ice-pwd:storm%s", "a=mid:1", "a=recvonly", "a=rtcp-mux", "a=rtcp-rsize",
  "a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 goog-remb", "a=rtcp-fb:96 transport-cc", "a=rtcp-fb:96 ccm fir",
  "a=rtcp-fb:96 nack", "a=rtcp-fb:96 nack pli", "a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96",
  "a=rtpmap:98 VP9/90000", "a=fmtp:98 profile-id=0", "a=rtpmap:100 H264/90000",
  "a=fmtp:100 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126", "c=IN IP4 0.0.0.0",
  "a=rtcp:9 IN IP4 0.0.0.0", "a=ice-ufrag:%s", "a=ice-pwd:storm%s",
  "a=mid:2", "a=recvonly", "a=rtcp-mux", "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1",
  "",
}, "\r\n")

function M.offer(seed, i, n)
  local h = ("%08x%08x%08x"):format(seed, i, n)
  local ufrag = h:sub(17, 24)
  local fp = (h .. h):upper():gsub("(%x%x)", "%1:"):sub(1, -2)
  return OFFER:format(i, n, ufrag, h, fp, ufrag, h, ufrag, h)
end

return M
