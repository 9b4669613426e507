-- bench/storm_run.lua URL: the storm of bench/storm against the emulator at URL
-- (`glsrun emulator --clock virtual`, started by bench/storm). Environment:
--   N=1000,5000,20000   storm sizes to run (comma-separated)
--   BACKENDS=gls,plain  which backends (both by default)
--   SEED=1              the storm's seed (same storm for every backend)
--   STORM_DT=0.025      virtual seconds per clock step while anything is due
--   GC_EVERY=5          virtual seconds between memory samples (full collections) in
--                       the first minute of the storm, 4 times that afterwards
--   PLAIN_RETRY_QUOTA=1 0 = the plain backend ignores the SDK's retry quota
--   STATUS_INTERVAL=    the runtime's status_interval (seconds between sweeps; its default)
--   ANSWER_LATENCY=     the runtime's answer_latency (default: learnt from its calls)
--   LIST_RATE=20        ListStreamSessions calls/s (the emulator's quota and the runtime's rate)
--   STORM_DIAG=1        the high-priority players the optimum over them alone saves and
--                       gls lost, by window and first error; per window, that optimum
--                       against gls's saved players of each class; and per 10 s of the
--                       storm, gls's calls to each class against that optimum's; and
--                       earliest-deadline-first over the high-priority players in the
--                       instants gls called for them, and in all its call instants
--                       (below the optimum over high priority alone: the instants lost
--                       calls; between the two: low-priority work took calls they needed)
--   STORM_DUMP=FILE     with STORM_DIAG: one line per player to FILE: i, high (1/0),
--                       notice, close, the virtual second gls saved it (or -), ARN
--   STORM_DIAG=2        also one line per savable high-priority player lost and per
--                       player saved from a window under 300 s at low priority, with
--                       every error it was told (code@virtual second(offer/live offer))
-- See bench/storm for what is measured and printed.
package.path = "bench/?.lua;" .. package.path
local core = require "gameliftstreams.core"
local gls = require "gameliftstreams"
local control = require "gameliftstreams.control"
local model = require "storm_model"
local backends = require "storm_backends"

local URL = assert(arg[1], "usage: storm_run.lua EMULATOR_URL")
local KEY = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }
local SG, APP = "sg-1AB2C3De4", "a-9ZY8X7Wv6"
local QUOTA = 20
local CSSC = "CreateStreamSessionConnection"

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

local SIZES = {}
for n in env("N", "1000,5000,20000"):gmatch("[^,%s]+") do
  SIZES[#SIZES + 1] = assert(math.tointeger(tonumber(n)), "N: integers expected, got " .. n)
end
local WANT = {}
for b in env("BACKENDS", "gls,plain"):gmatch("[^,%s]+") do WANT[b] = true end
local SEED = assert(math.tointeger(tonumber(env("SEED", "1"))), "SEED: integer expected")
local DT = assert(tonumber(env("STORM_DT", "0.025")), "STORM_DT: seconds expected")
local GC_EVERY = assert(tonumber(env("GC_EVERY", "5")), "GC_EVERY: seconds expected")
local PLAIN_QUOTA = env("PLAIN_RETRY_QUOTA", "1") ~= "0"
local STATUS_INTERVAL = tonumber(env("STATUS_INTERVAL", ""))
local DIAG = env("STORM_DIAG", "0") ~= "0"
local DIAG_PLAYERS = env("STORM_DIAG", "0") == "2"
local ANSWER_LATENCY = tonumber(env("ANSWER_LATENCY", ""))
local LIST_RATE = tonumber(env("LIST_RATE", ""))

local ctl = control.new(URL, { keep_alive = true })
-- Wall time spent in control calls (blocking HTTP to the emulator), so the
-- report can tell the storm's own cost from the harness's.
local T = { control = 0 }
local function timed(fn, ...)
  local t0 = core.time()
  local a, b = fn(ctl, ...)
  T.control = T.control + (core.time() - t0)
  return a, b
end
local function check(v, err, what)
  if not v then error(("%s: %s"):format(what or "emulator", tostring(err)), 2) end
  return v
end

local function client()
  return gls.client{ endpoint_url = URL, region = "us-west-2", credentials = KEY,
                     retry_mode = "standard", max_attempts = 1 }
end

local function has_runtime()
  local ok, rt = pcall(require, "gameliftstreams.runtime")
  return ok and type(rt) == "table" and type(rt.new) == "function"
end

local out = io.stdout
local function say(fmt, ...)
  out:write(fmt:format(...), "\n")
  out:flush()
end

---------------------------------------------------------------- setup

-- Fresh emulator state; N sessions started (StartStreamSession unthrottled,
-- activation instant for the setup), each CONNECTED; then the default quota
-- of 20 calls/s is back for StartStreamSession and CreateStreamSessionConnection.
-- Fills p.sid and p.arn of every player; returns the storm's start (epoch s).
local function setup(storm)
  local t0 = core.time()
  check(ctl:reset(), nil, "reset")
  check(ctl:quotas{ StartStreamSession = 0, CreateStreamSessionConnection = 0 })
  check(ctl:request("POST", "/delays", { activation = 0 }))
  local c = client()
  local players, n = storm.players, storm.n
  local next_i, inflight, done, failed = 1, 0, 0, nil
  while done < n do
    while inflight < 64 and next_i <= n do
      local p = players[next_i]
      next_i = next_i + 1
      inflight = inflight + 1
      c:start("StartStreamSession", {
        Identifier = SG, ApplicationIdentifier = APP, Protocol = "WebRTC",
        SignalRequest = model.offer(storm.seed, p.i, 0), ConnectionTimeoutSeconds = p.timeout,
      }, function(o, err)
        inflight, done = inflight - 1, done + 1
        if not o then
          failed = failed or err
          return
        end
        p.arn = o.Arn
        p.sid = o.Arn:match("([^/]+)$")
      end)
    end
    c:step(0.01)
  end
  c:close()
  check(not failed, failed, "StartStreamSession")
  T.setup_start = core.time() - t0
  check(ctl:advance(0))                       -- activation (delay 0) runs now
  for _, p in ipairs(players) do check(ctl:connect(p.sid), nil, "connect") end
  T.setup_connect = core.time() - t0 - T.setup_start
  check(ctl:quotas{ StartStreamSession = QUOTA, CreateStreamSessionConnection = QUOTA,
                    ListStreamSessions = LIST_RATE or QUOTA })
  check(ctl:request("POST", "/delays", { activation = 1 }))
  return check(ctl:request("GET", "/clock")).now
end

---------------------------------------------------------------- one run

-- The harness's own footprint per outstanding ask (its callback closure and
-- the digest it keeps), measured, so that it is not counted as the backend's.
local function make_cb(run, p, seq, digest, t)
  return function(answer, err) run:answered(p, seq, digest, t, answer, err) end
end

local function ask_overhead()
  local keep = table.move({}, 1, 0, 1, {})
  for k = 1, 10000 do keep[k] = false end
  collectgarbage("collect")
  local before = collectgarbage("count")
  local run, p = {}, {}
  for k = 1, 10000 do keep[k] = make_cb(run, p, k, core.sha256_hex(tostring(k)), k + 0.5) end
  collectgarbage("collect")
  local per = (collectgarbage("count") - before) * 1024 / #keep
  return per
end
local ASK_OVERHEAD = ask_overhead()

local Run = {}
Run.__index = Run

function Run:answered(p, seq, digest, t, answer, err)
  self.outstanding_bytes = self.outstanding_bytes - p.offer_len
  if not answer then
    local code = err and err.code or "none"
    self.errors[code] = (self.errors[code] or 0) + 1
    if DIAG and p.seq == seq and code ~= "Superseded" and not p.diag_err then
      p.diag_err, p.diag_err_at = code, self.s
    end
    if DIAG_PLAYERS then
      p.dlog = p.dlog or {}
      p.dlog[#p.dlog + 1] = ("%s@%.2f(seq%d/%d)"):format(code, self.s, seq, p.seq)
    end
    return
  end
  self.answers = self.answers + 1
  self.answer_bytes = self.answer_bytes + #answer
  if not p.answered then
    p.answered = true
    self.answered_sessions = self.answered_sessions + 1
  end
  local named = answer:match("a=x%-gls%-offer%-sha256:(%x+)")
  local session = answer:match("a=x%-gls%-session:([%w]+)")
  if named ~= digest or session ~= p.sid then
    -- Not the answer to the offer this request carried: a stranger's stream
    -- (or an old offer's answer passed off as the new one's).
    self.misrouted = self.misrouted + 1
    return
  end
  if p.seq ~= seq then
    self.stale = self.stale + 1           -- the client had abandoned that offer
    return
  end
  local now = self.s
  if p.saved then
    self.duplicate = self.duplicate + 1
    return
  end
  if now >= p.close then
    self.late = self.late + 1
    return
  end
  p.saved, p.saved_at = true, now
  self.saved = self.saved + 1
  if p.high then self.saved_high = self.saved_high + 1 end
  self.lat[#self.lat + 1] = (now - t) * 1000
  self.recovery[#self.recovery + 1] = now - p.drop
  -- The device uses its answer: the session is CONNECTED again.
  local ok = timed(ctl.connect, p.sid)
  if not ok then self.connect_failed = self.connect_failed + 1 end
end

local function run_backend(storm, name)
  local wall0 = core.time()
  local t_start = setup(storm)
  local setup_s = core.time() - wall0
  local players, n = storm.players, storm.n
  for _, p in ipairs(players) do
    -- Every field the storm will set exists now, with a value of the same size,
    -- so the baseline below already holds the harness's per-player state.
    p.id = "player-" .. p.i
    p.who = { id = p.id, device = "storm" }
    p.token = ("%064d"):format(p.i)
    p.digest = ("%064d"):format(p.i + 1)
    p.seq, p.asks, p.offer_len = 0, 0, 0
    p.next_ask = p.notice
    p.saved, p.answered = false, false
  end
  local s = 0
  -- gls reads the emulator's own clock: the same double, moved by the same
  -- additions (each step as JSON carries it). t_start + s rounds otherwise at
  -- epoch magnitude, and drifts from the emulator's by ~4 ppm at 25 ms steps:
  -- enough for the two buckets to disagree about when a call is whole.
  local vnow = t_start
  local function clock() return vnow end
  local run = setmetatable({
    s = 0, saved = 0, saved_high = 0, misrouted = 0, stale = 0, late = 0, duplicate = 0,
    answers = 0, answer_bytes = 0, answered_sessions = 0, connect_failed = 0, asks = 0,
    errors = {}, lat = {}, recovery = {}, outstanding_bytes = 0, peak = 0, samples = 0, steps = 0,
  }, Run)
  local counting = backends.counting(client())
  collectgarbage("collect")
  collectgarbage("collect")
  local base = collectgarbage("count") * 1024
  local backend
  if name == "gls" then
    backend = backends.gls{ client = counting, clock = clock, stream_group = SG, application = APP,
                            status_interval = STATUS_INTERVAL, answer_latency = ANSWER_LATENCY,
                            rates = LIST_RATE and { ListStreamSessions = LIST_RATE } or nil,
                            random = model.rng(SEED * 7907 + n) }
    for _, p in ipairs(players) do backend:track(p, p.arn) end
  else
    backend = backends.plain{ client = counting, clock = clock, stream_group = SG, retry_quota = PLAIN_QUOTA,
                              random = model.rng(SEED * 7919 + n) }
  end

  local function sample()
    collectgarbage("collect")
    local held = run.outstanding_bytes + backend:outstanding() * ASK_OVERHEAD
    if run.answers > 0 then
      held = held + run.answered_sessions * (run.answer_bytes / run.answers + 25)
    end
    local used = collectgarbage("count") * 1024 - base - held
    if used > run.peak then run.peak, run.peak_at = used, s end
    run.samples = run.samples + 1
  end

  local drops = table.move(players, 1, n, 1, {})
  table.sort(drops, function(a, b) return a.drop < b.drop end)
  local heap = {}
  local function by_ask(p) return p.next_ask end
  for _, p in ipairs(players) do model.heap_push(heap, p, by_ask) end
  local last_close = 0
  for _, p in ipairs(players) do last_close = math.max(last_close, p.close) end

  local k, next_gc = 1, 0
  T.control, T.backend, T.backend_control, T.gc = 0, 0, 0, 0
  local storm0 = core.time()
  while true do
    run.s = s
    while k <= n and drops[k].drop <= s do
      check(timed(ctl.disconnect, drops[k].sid), nil, "disconnect")
      k = k + 1
    end
    while heap[1] and heap[1].next_ask <= s do
      local p = model.heap_pop(heap, by_ask)
      if not p.saved and s < p.close then
        p.seq = p.seq + 1
        p.asks = p.asks + 1
        run.asks = run.asks + 1
        local offer = model.offer(storm.seed, p.i, p.seq)
        p.offer_len = #offer + 25
        run.outstanding_bytes = run.outstanding_bytes + p.offer_len
        p.digest = core.sha256_hex(offer)
        backend:ask(p, offer, make_cb(run, p, p.seq, p.digest, s))
        p.next_ask = p.next_ask + model.ABANDON
        if p.next_ask < p.close then model.heap_push(heap, p, by_ask) end
      end
    end
    local tb, cb0 = core.time(), T.control
    backend:pump()
    local tg = core.time()
    T.backend = T.backend + (tg - tb)
    T.backend_control = T.backend_control + (T.control - cb0)
    run.steps = run.steps + 1
    if s >= next_gc then
      sample()
      -- The queues (and memory) peak while the sessions drop and the first
      -- asks pile up; later a sparser sample still sees any plateau.
      next_gc = s + (s < 60 and GC_EVERY or 4 * GC_EVERY)
      T.gc = T.gc + (core.time() - tg)
    end
    if k > n and not heap[1] and (backend:outstanding() == 0 or s > last_close + 30) then break end
    -- The next step: DT, or straight to the next thing due when nothing is
    -- (the buckets refill by elapsed time, so skipping idle time is exact).
    local nxt = math.huge
    if k <= n then nxt = drops[k].drop end
    if heap[1] then nxt = math.min(nxt, heap[1].next_ask) end
    local due = backend:next_due()
    if due then nxt = math.min(nxt, s + due) end
    if nxt == math.huge then nxt = s + 1 end
    local step = DT
    if nxt > s + DT then step = math.ceil((nxt - s) / DT) * DT end
    local sent = tonumber(("%.14g"):format(step))     -- what cjson sends
    check(timed(ctl.advance, sent))
    s = s + step
    vnow = vnow + sent
  end
  sample()
  local storm_s = core.time() - storm0
  local stats = backend:stats()
  backend:close()
  counting:close()
  local c = counting.op(CSSC)
  local others = {}
  for op, v in pairs(counting.counts) do
    if op ~= CSSC then others[#others + 1] = ("%s %d (%d throttled)"):format(op, v.calls, v.throttled) end
  end
  table.sort(others)
  local r = {
    name = name, saved = run.saved, saved_high = run.saved_high, calls = c.calls, throttled = c.throttled,
    failed = c.failed, misrouted = run.misrouted, stale = run.stale, late = run.late, duplicate = run.duplicate,
    p50_ms = model.quantile(run.lat, 0.5) or 0, p99_ms = model.quantile(run.lat, 0.99) or 0,
    rec_p50 = model.quantile(run.recovery, 0.5) or 0, rec_p99 = model.quantile(run.recovery, 0.99) or 0,
    bytes_per_session = math.max(0, math.floor(run.peak / n + 0.5)), asks = run.asks, errors = run.errors,
    peak_at = run.peak_at or 0, near_abandon = 0,
    others = others, stats = stats, steps = run.steps, samples = run.samples, virtual_s = s,
    setup_s = setup_s, storm_s = storm_s, wall_s = core.time() - wall0, connect_failed = run.connect_failed,
    setup_start = T.setup_start, setup_connect = T.setup_connect, t_control = T.control, t_backend = T.backend,
    t_backend_control = T.backend_control, t_gc = T.gc,
  }
  for _, ms in ipairs(run.lat) do
    if ms > (model.ABANDON - 0.5) * 1000 then r.near_abandon = r.near_abandon + 1 end
  end
  -- Cross-check the call counts with the emulator's own request log when it
  -- holds the whole run (it keeps the newest 100000 requests).
  local total = 0
  for _, v in pairs(counting.counts) do total = total + v.calls end
  if total + n < 100000 then
    local log = check(ctl:requests())
    local calls, throttled = 0, 0
    for _, e in ipairs(log) do
      if e.operation == CSSC then
        calls = calls + 1
        if e.status == 429 then throttled = throttled + 1 end
      end
    end
    r.log_check = (calls == c.calls and throttled == c.throttled) and "agrees"
      or ("DISAGREES (log: %d calls, %d throttled)"):format(calls, throttled)
  else
    r.log_check = "not checked (the log keeps the newest 100000 requests)"
  end
  return r
end

---------------------------------------------------------------- report

local function pct(a, b) return b > 0 and 100 * a / b or 0 end

local function codes(t)
  local list = {}
  for code, v in pairs(t) do list[#list + 1] = ("%s %d"):format(code, v) end
  table.sort(list)
  return #list > 0 and table.concat(list, ", ") or "none"
end

local function print_backend(r, opt, high_savable, storm)
  say("  %-5s saved %d = %.1f%% of optimum; high-priority saved %d of %d (%d savable)",
    r.name, r.saved, pct(r.saved, opt), r.saved_high, storm.high, high_savable)
  say("        API calls %d (throttled %d, failed otherwise %d) = %.2f per saved player; %.1f throttled per saved",
    r.calls, r.throttled, r.failed, r.saved > 0 and r.calls / r.saved or 0,
    r.saved > 0 and r.throttled / r.saved or 0)
  say("        misrouted answers %d; answers to abandoned offers %d; too late %d", r.misrouted, r.stale, r.late)
  say("        time to answer p50 %d ms, p99 %d ms; drop to saved p50 %.1f s, p99 %.1f s",
    math.floor(r.p50_ms + 0.5), math.floor(r.p99_ms + 0.5), r.rec_p50, r.rec_p99)
  say("        %d answers (%.1f%%) came in the last 0.5 s before the client would have abandoned the offer",
    r.near_abandon, pct(r.near_abandon, r.saved))
  say("        peak memory per tracked session %d bytes (beyond offers and answers; %d samples, peak at %.0f s)",
    r.bytes_per_session, r.samples, r.peak_at)
  say("        %d asks; errors to clients: %s", r.asks, codes(r.errors))
  if #r.others > 0 then say("        other calls: %s", table.concat(r.others, "; ")) end
  if r.name == "plain" then
    say("        SDK retries %d; retry quota left %d, refused %d retries", r.stats.retries, r.stats.quota_left,
      r.stats.quota_refusals)
  elseif r.stats then
    local st = r.stats
    say("        runtime: superseded %s, refused %s, deadline misses %s",
      tostring(st.superseded), tostring(st.refused), tostring(st.deadline_misses))
  end
  say("        emulator request log %s", r.log_check)
  say("        wall %.1f s: setup %.1f s (sessions started %.1f s, connected %.1f s), storm %.1f s for %.0f virtual s"
    .. " in %d steps (control calls %.1f s, backend %.1f s of which control %.1f s, memory samples %.1f s)",
    r.wall_s, r.setup_s, r.setup_start, r.setup_connect, r.storm_s, r.virtual_s, r.steps, r.t_control, r.t_backend,
    r.t_backend_control, r.t_gc)
end

local KEYS = { "saved", "optimum", "saved_high", "high", "calls", "throttled", "misrouted", "p99_ms",
               "bytes_per_session" }

local function keyvals(prefix, r, opt, high)
  local v = { saved = r.saved, optimum = opt, saved_high = r.saved_high, high = high, calls = r.calls,
              throttled = r.throttled, misrouted = r.misrouted, p99_ms = math.floor(r.p99_ms + 0.5),
              bytes_per_session = r.bytes_per_session }
  local parts = {}
  for _, key in ipairs(KEYS) do parts[#parts + 1] = ("%s%s=%s"):format(prefix, key, v[key]) end
  return table.concat(parts, " ")
end

-- STORM_DIAG=1: why the high-priority players that the optimum over them
-- alone saves were lost (window, first error and when, relative to close).
local function diagnose(storm)
  local _, _, served = model.optimum(storm.players, { rate = QUOTA, burst = QUOTA, only_high = true })
  local by, lost = {}, 0
  for _, p in ipairs(storm.players) do
    if p.high and served[p.i] and not p.saved then
      lost = lost + 1
      local key = ("window %3d s, %s"):format(p.timeout, p.diag_err and
        ("%s %.1f s before close"):format(p.diag_err, p.close - p.diag_err_at) or "no error")
      by[key] = (by[key] or 0) + 1
      if not p.diag_err then say("    lost %d: drop %.2f notice %.2f close %.2f optimum serves at %.2f asks %d",
        p.i, p.drop, p.notice, p.close, served[p.i], p.asks) end
      p.diag_err = nil
    end
    p.diag_err = nil
  end
  local keys = {}
  for k in pairs(by) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do say("    lost savable high: %s: %d", k, by[k]) end
  -- Per window: the optimum over high priority alone, and what gls saved.
  local win = {}
  for _, p in ipairs(storm.players) do
    local w = win[p.timeout] or { opt = 0, high = 0, low = 0 }
    win[p.timeout] = w
    if p.high and served[p.i] then w.opt = w.opt + 1 end
    if p.saved then
      if p.high then w.high = w.high + 1 else w.low = w.low + 1 end
    end
  end
  if DIAG_PLAYERS and lost > 0 then
    -- Each player the trade was about: a savable high one lost, or a low one
    -- saved from a window that closes before the last (300 s) one.
    for _, p in ipairs(storm.players) do
      if p.timeout < 300 and ((p.saved and not p.high) or (p.high and not p.saved and served[p.i])) then
        say("    %s %d: window %d s, drop %.2f notice %.2f close %.2f saved at %s, optimum serves at %s; %d asks: %s",
          p.high and "lost high" or "saved low", p.i, p.timeout, p.drop, p.notice, p.close,
          p.saved_at and ("%.3f"):format(p.saved_at) or "-", served[p.i] and ("%.3f"):format(served[p.i]) or "-",
          p.asks, table.concat(p.dlog or {}, " "))
      end
    end
  end
  for _, t in ipairs{ 30, 60, 120, 300 } do
    local w = win[t]
    if w then say("    window %3d s: high-only optimum %d, gls high %d, gls low %d", t, w.opt, w.high, w.low) end
  end
  -- When gls's calls went to each class, by 10 s of the storm.
  local bins = {}
  for _, p in ipairs(storm.players) do
    if p.saved_at then
      local b = math.floor(p.saved_at / 10)
      local x = bins[b] or { high = 0, low = 0, opt = 0 }
      bins[b] = x
      if p.high then x.high = x.high + 1 else x.low = x.low + 1 end
    end
    if p.high and served[p.i] then
      local b = math.floor(served[p.i] / 10)
      local x = bins[b] or { high = 0, low = 0, opt = 0 }
      bins[b] = x
      x.opt = x.opt + 1
    end
  end
  local line = {}
  for b = 0, 33 do
    local x = bins[b]
    if x then line[#line + 1] = ("%d:%d/%d/%d"):format(b * 10, x.high, x.low, x.opt) end
  end
  say("    gls high/low saved and high-only optimum served, by 10 s: %s", table.concat(line, " "))
  -- Where the difference comes from: earliest-deadline-first over the high
  -- priority players in the instants gls made its high-priority calls (the
  -- order gls served them in), and in the instants of all its calls (the
  -- calls low-priority players took). A call takes no virtual time, so the
  -- instant a player was saved is the instant of its call; a call that saved
  -- no one (calls > saved) is not counted.
  local highs, slots_high, slots_all = {}, {}, {}
  for _, p in ipairs(storm.players) do
    if p.high then highs[#highs + 1] = p end
    if p.saved_at then
      slots_all[#slots_all + 1] = p.saved_at
      if p.high then slots_high[#slots_high + 1] = p.saved_at end
    end
  end
  local dump = os.getenv("STORM_DUMP")
  if dump then
    local f = assert(io.open(dump, "w"))
    for _, p in ipairs(storm.players) do
      f:write(("%d %s %.17g %.17g %s %s\n"):format(p.i, p.high and 1 or 0, p.notice, p.close,
        p.saved_at and ("%.17g"):format(p.saved_at) or "-", p.arn))
    end
    f:close()
  end
  say("    high-only EDF in gls's high-priority call instants %d, in all its call instants %d",
    model.edf_in(highs, slots_high), model.edf_in(highs, slots_all))
end

local function main()
  local t0 = core.time()
  local order = {}
  if WANT.gls then
    if has_runtime() then
      order[#order + 1] = "gls"
    else
      say("gls: skipped: the runtime (gameliftstreams.runtime) is not built in this tree")
    end
  end
  if WANT.plain then order[#order + 1] = "plain" end
  if #order == 0 then error("nothing to run (BACKENDS=" .. env("BACKENDS", "") .. ")") end
  say("storm: %s sessions drop over %d s; windows %s s; a quarter high priority; %d calls/s; step %g s; seed %d",
    table.concat(SIZES, ", "), model.DROP_SPREAD, table.concat(model.TIMEOUTS, "/"), QUOTA, DT, SEED)
  local lines = {}
  for _, n in ipairs(SIZES) do
    local storm = model.generate{ n = n, seed = SEED }
    local opt = model.optimum(storm.players, { rate = QUOTA, burst = QUOTA })
    local high_savable = model.optimum(storm.players, { rate = QUOTA, burst = QUOTA, only_high = true })
    say("n=%d: optimum (offline EDF over %d calls/s) saves %d of %d; high priority alone: %d of %d",
      n, QUOTA, opt, n, high_savable, storm.high)
    local res = {}
    for _, name in ipairs(order) do
      res[name] = run_backend(storm, name)
      print_backend(res[name], opt, high_savable, storm)
      if DIAG then diagnose(storm) end
    end
    if res.gls and res.plain then
      local g, p = res.gls, res.plain
      say("  gls/plain: %.2fx the players saved, %.2fx the high-priority ones, %.3fx the API calls "
        .. "(gls %.2f calls per saved player against %.2f)", p.saved > 0 and g.saved / p.saved or 0,
        p.saved_high > 0 and g.saved_high / p.saved_high or 0, p.calls > 0 and g.calls / p.calls or 0,
        g.saved > 0 and g.calls / g.saved or 0, p.saved > 0 and p.calls / p.saved or 0)
    end
    if res.gls then
      local g = res.gls
      local function met(ok) return ok and "met" or "NOT met" end
      say("  targets for gls: >= 98%% of the optimum %s; every high-priority player the budget allows "
        .. "(%d) %s; < 1.05 calls per saved player %s; < 2 KB per tracked session %s; no misrouted answer %s",
        met(g.saved >= 0.98 * opt), high_savable, met(g.saved_high >= high_savable),
        met(g.saved > 0 and g.calls < 1.05 * g.saved), met(g.bytes_per_session < 2048), met(g.misrouted == 0))
    end
    local parts = { ("n=%d"):format(n) }
    if res.gls then parts[#parts + 1] = keyvals("", res.gls, opt, storm.high) end
    if res.plain then parts[#parts + 1] = keyvals("plain_", res.plain, opt, storm.high) end
    lines[#lines + 1] = table.concat(parts, " ")
  end
  say("total wall %.1f s", core.time() - t0)
  for _, l in ipairs(lines) do say("%s", l) end
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  io.stderr:write("storm: ", tostring(err), "\n")
  os.exit(1)
end
