-- spec/support/faults.lua: what the fault-injection suite (spec/11-faults) shares.
--
--   local faults = require "spec.support.faults"
--   faults.offer(tag)              a fresh SDP-like offer (the emulator refuses a used one)
--   faults.names(answer, offer)    does answer name offer (a=x-gls-offer-sha256:<hex>)?
--   faults.pending(e, c)           a session on emulator e (virtual clock) started with
--                                  client c, attached and dropped: its ARN
--   faults.box()                   a callback that counts its calls: box.cb, box.n, box.out, box.err
--   faults.drive(c, boxes, secs)   steps c (a client or runtime) until every box ran (real seconds)
--   faults.by_token(log, op)       the request log's entries of op grouped by client_token
--   faults.rss_kb(pid)             a process's resident set (KB)
--   faults.lua_kb()                the Lua heap after two full collections (KB)
--   faults.rejoin(env, s)          a runtime session (spec.support.runtime) drops and gets back in
--   faults.parallel(url, reqs[, { background = true }])
--                                  HTTP requests sent at once (one curl each);
--                                  each req { method, path, body = table, headers = {} }
--                                  -> list of { status, body (decoded JSON or text) }
--                                  (background: returns a function that waits for that list)
local core = require "gameliftstreams.core"
local cjson = require "cjson"
local helper = require "spec.helper"

local M = { CSSC = "CreateStreamSessionConnection", SG = "sg-1AB2C3De4", APP = "a-9ZY8X7Wv6" }

-- Players of glsrun serve s (spec.support.serve), over HTTP:
--   faults.players(s, n)           n players start sessions at once and wait for their
--                                  answers: a list of { id, offer, token, arn }
--   faults.drop_all(control, list) each player's device attaches, then all drop
--   faults.reconnects(s, list)     every player reconnects at once with a fresh offer
--                                  (p.offer2): the replies { status, body }; each 200 must
--                                  answer that player's offer and rotate its token
--                                  (p.token becomes the new one)

local nonce = 0
function M.offer(tag)
  nonce = nonce + 1
  return ("v=0\r\no=- %d 2 IN IP4 127.0.0.1\r\ns=%s\r\na=x-fault-nonce:%s\r\n")
    :format(nonce, tag or "fault", core.random_hex(12))
end

function M.names(answer, offer)
  return type(answer) == "string" and answer:match("a=x%-gls%-offer%-sha256:(%x+)") == core.sha256_hex(offer)
end

function M.pending(e, c)
  local s = assert(c:start_stream_session{ Identifier = M.SG, ApplicationIdentifier = M.APP, Protocol = "WebRTC",
                                            SignalRequest = M.offer("start") })
  assert(e.control:advance(1))
  assert(e.control:connect(s.Arn))
  assert(e.control:disconnect(s.Arn))
  return s.Arn
end

function M.box()
  local b = { n = 0 }
  function b.cb(out, err)
    b.n = b.n + 1
    b.out, b.err = out, err
  end
  return b
end

local function all_ran(boxes)
  for _, b in pairs(boxes) do if b.n == 0 then return false end end
  return true
end

function M.drive(c, boxes, secs)
  local deadline = core.time() + (secs or 30)
  while not all_ran(boxes) do
    if core.time() > deadline then error("callbacks missing after " .. (secs or 30) .. " s", 2) end
    c:step(0.02)
  end
end

function M.by_token(log, op)
  local out = {}
  for _, r in ipairs(log) do
    if r.operation == (op or M.CSSC) then
      local t = r.client_token
      assert(type(t) == "string", "a request without a ClientToken")
      out[t] = out[t] or {}
      table.insert(out[t], r)
    end
  end
  return out
end

function M.rss_kb(pid)
  local f = io.open("/proc/" .. pid .. "/status")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return tonumber(text:match("VmRSS:%s*(%d+)"))
end

--- Is build/glsrun built with AddressSanitizer (make check's ASan run)?
function M.sanitized()
  local p = assert(io.popen("ldd build/glsrun 2>/dev/null"))
  local text = p:read("a")
  p:close()
  return text:find("libasan", 1, true) ~= nil
end

function M.lua_kb()
  collectgarbage()
  collectgarbage()
  return collectgarbage("count")
end

function M.parallel(url, reqs, opts)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. helper.quote(dir)))
  local cmds = {}
  for i, r in ipairs(reqs) do
    local args = { "curl -s --max-time 60 -X", r.method or "GET", "-o", dir .. "/" .. i .. ".body",
                   "-w '%{http_code}'" }
    if r.body then
      helper.write_file(dir .. "/" .. i .. ".in", cjson.encode(r.body))
      args[#args + 1] = "-H 'Content-Type: application/json' --data-binary @" .. dir .. "/" .. i .. ".in"
    end
    for k, v in pairs(r.headers or {}) do args[#args + 1] = "-H " .. helper.quote(k .. ": " .. v) end
    args[#args + 1] = helper.quote(url .. r.path)
    cmds[i] = ("(%s > %s/%d.code) &"):format(table.concat(args, " "), dir, i)
  end
  if opts and opts.background then
    -- returns at once; the function returned waits for the replies
    assert(os.execute("(" .. table.concat(cmds, " ") .. " wait; touch " .. dir .. "/done) >/dev/null 2>&1 &"))
    return function()
      local deadline = core.time() + 90
      while true do
        local f = io.open(dir .. "/done")
        if f then
          f:close()
          break
        end
        assert(core.time() < deadline, "replies missing")
        os.execute("sleep 0.05")
      end
      return M.collect(dir, #reqs)
    end
  end
  assert(os.execute(table.concat(cmds, " ") .. " wait"))
  return M.collect(dir, #reqs)
end

-- The replies parallel() left in dir (and dir goes).
function M.collect(dir, n)
  local out = {}
  for i = 1, n do
    local code = helper.read_file(dir .. "/" .. i .. ".code")
    local f = io.open(dir .. "/" .. i .. ".body", "rb")
    local text = f and f:read("a") or ""
    if f then f:close() end
    local ok, doc = pcall(cjson.decode, text)
    out[i] = { status = tonumber(code), body = (ok and text ~= "") and doc or text }
  end
  os.execute("rm -rf " .. helper.quote(dir))
  return out
end

local function why(r)
  return tostring(r.status) .. " " .. (type(r.body) == "table" and tostring(r.body.code) or tostring(r.body))
end

function M.players(s, n)
  local list, reqs = {}, {}
  for i = 1, n do
    list[i] = { id = "player-" .. core.random_hex(4), offer = M.offer("start" .. i) }
    reqs[i] = { method = "POST", path = "/v1/sessions", headers = { ["X-Gls-Client-Id"] = list[i].id },
                body = { SignalRequest = list[i].offer } }
  end
  for i, r in ipairs(M.parallel(s.url, reqs)) do
    assert(r.status == 201, "start: " .. why(r))
    list[i].token, list[i].arn = r.body.Token, r.body.SessionArn
    reqs[i] = { path = "/v1/sessions/" .. list[i].token .. "/answer?wait=10" }
  end
  for i, r in ipairs(M.parallel(s.url, reqs)) do
    assert(r.status == 200, "answer: " .. why(r))
    assert(M.names(r.body.SignalResponse, list[i].offer), "an answer to another player's offer")
  end
  return list
end

function M.drop_all(control, list)
  for _, p in ipairs(list) do assert(control:connect(p.arn)) end
  for _, p in ipairs(list) do assert(control:disconnect(p.arn)) end
end

function M.reconnects(s, list, opts)
  local reqs = {}
  for i, p in ipairs(list) do
    p.offer2 = M.offer("re" .. i)
    reqs[i] = { method = "POST", path = "/v1/sessions/" .. p.token .. "/reconnect",
                headers = { ["X-Gls-Client-Id"] = p.id }, body = { SignalRequest = p.offer2 } }
  end
  local replies
  if #reqs == 1 and not (opts and opts.background) then   -- one player: no need for a curl process
    local st, body = s.request(reqs[1])
    replies = { { status = st, body = body } }
  else
    replies = M.parallel(s.url, reqs, opts)
    if opts and opts.background then return replies end
  end
  M.check_reconnects(list, replies)
  return replies
end

-- Each 200 of replies answers its player's new offer and rotates its token.
function M.check_reconnects(list, replies)
  assert(#replies == #list, "a reply for every request")
  for i, r in ipairs(replies) do
    assert(type(r.status) == "number", "a reply for every request")
    if r.status == 200 then
      assert(M.names(r.body.SignalResponse, list[i].offer2), "an answer to another player's offer")
      assert(r.body.Token ~= list[i].token, "the token did not rotate")
      list[i].token = r.body.Token
    end
  end
end

M.why = why

--- The runtime of env (spec.support.runtime) still serves: session s ({ arn,
-- token, client }) drops again and reconnects with a fresh offer.
function M.rejoin(env, s)
  env.drop(s.arn)
  local o = env.offer("after")
  local r = env.call(env.rt, "reconnect", s.token, o, s.client)
  env.run(function() return r.done end)
  assert(r.res, r.err and tostring(r.err))
  assert(env.names(r.res.SignalResponse, o), "an answer to another offer")
  s.token = r.res.token
  assert(env.rt:in_flight() == 0, "calls left in flight")
end

return M
