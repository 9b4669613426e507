-- fuzz/targets/serve.lua - the reconnect front's request handling
-- (gameliftstreams.serve, front:handle: routing, body decoding, member
-- checks, token shape, wait parsing, replies, logging) over a stand-in
-- runtime whose behaviour the input picks.
--
-- Input: one byte choosing the runtime's behaviour (% 6: answers, fails with
-- an error table, NotReady, raises, never answers, fails with a string),
-- then an HTTP request as text: "METHOD PATH[?QUERY]\n", header lines
-- "Name: value\n", an empty line, the body.
--
-- Bugs (raised as {bug=}): handle raising; a reply that is not a status
-- 100..599 with a headers table and a string body; a JSON reply whose body
-- is not a JSON object; a request answered twice or never (after drain);
-- the runtime handed an empty offer or a token of the wrong shape; a log
-- line holding the request's offer, token or a secret header.
local serve = require "gameliftstreams.serve"
local cjson = require "cjson"
local http = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib/http.lua")

local function bug(fmt, ...) error({ bug = fmt:format(...) }, 2) end

local MODES = { "ok", "error", "not_ready", "raise", "silent", "string" }

local function fake_runtime(mode)
  local rt = { calls = 0 }
  local function finish(cb, res)
    rt.calls = rt.calls + 1
    if mode == "ok" then return cb(res) end
    if mode == "error" then
      return cb(nil, { code = "ConflictException", message = "busy", status = 409, retryable = false })
    end
    if mode == "not_ready" then return cb(nil, { code = "NotReady", message = "not yet" }) end
    if mode == "raise" then error("runtime bug") end
    if mode == "string" then return cb(nil, "a string error") end
    -- silent: never answers
  end
  local function check_token(token)
    if type(token) ~= "string" or #token == 0 or #token > 256 or token:find("[^%w%-_]") then
      bug("the runtime got a token of the wrong shape: %q", tostring(token))
    end
  end
  function rt.start(_, input, client, cb)
    if type(input.SignalRequest) ~= "string" or input.SignalRequest == "" then
      bug("start without an offer")
    end
    if type(client) ~= "table" then bug("start without a requester") end
    return finish(cb, { token = "tok-" .. ("a"):rep(40),
                        session = "arn:aws:gameliftstreams:us-west-2:1:streamsession/sg-1/s" })
  end
  function rt.answer(_, token, wait, cb)
    check_token(token)
    if type(wait) ~= "number" or wait < 0 or wait > 30 then bug("answer with wait %s", tostring(wait)) end
    return finish(cb, { SignalResponse = "answer-sdp" })
  end
  function rt.reconnect(_, token, offer, client, cb)
    check_token(token)
    if type(offer) ~= "string" or offer == "" then bug("reconnect without an offer") end
    if type(client) ~= "table" then bug("reconnect without a requester") end
    return finish(cb, { SignalResponse = "answer-sdp", token = "tok-" .. ("b"):rep(40) })
  end
  function rt.terminate(_, token, client, cb)
    check_token(token)
    if type(client) ~= "table" then bug("terminate without a requester") end
    return finish(cb, true)
  end
  function rt.stats() return { sessions = 1, queue = 0, calls = { StartStreamSession = { ok = 1 } } } end
  return rt
end

local function parse(data)
  local mode = MODES[(data:byte(1) or 0) % #MODES + 1]
  local method, path, query, list, body = http.parse(data:sub(2))
  return mode, { id = 1, method = method, path = path, query = query, body = body, remote = "127.0.0.1",
                 headers = http.header_map(list), header_list = list }
end

local function check_reply(status, headers, body, where)
  if math.type(status) ~= "integer" or status < 100 or status > 599 then
    bug("%s: status %s", where, tostring(status))
  end
  if type(headers) ~= "table" then bug("%s: headers %s", where, type(headers)) end
  if type(body) ~= "string" then bug("%s: body %s", where, type(body)) end
  local ct = headers["Content-Type"]
  if ct == "application/json" and body ~= "" then
    local ok, v = pcall(cjson.decode, body)
    if not ok or type(v) ~= "table" then bug("%s: a JSON reply that is not a JSON object: %q", where, body) end
  end
end

-- Request texts a log line must never hold: the offer, the token, secret headers.
local function secrets_of(req)
  local out = {}
  local ok, o = pcall(cjson.decode, req.body)
  if ok and type(o) == "table" then
    for _, k in ipairs{ "SignalRequest", "Token" } do
      if type(o[k]) == "string" and #o[k] >= 12 then out[#out + 1] = o[k] end
    end
  end
  local token = req.path:match("^/v1/sessions/([^/]+)")
  if token and #token >= 12 then out[#out + 1] = token end
  local auth = req.headers.authorization
  if auth and #auth >= 12 then out[#out + 1] = auth end
  return out
end

return function(data)
  local mode, req = parse(data)
  local lines = {}
  local sink = { write = function(self, ...)
    for _, s in ipairs{ ... } do lines[#lines + 1] = s end
    return self
  end, flush = function() end }
  local replies = {}
  local front = serve.new{ runtime = fake_runtime(mode), log = serve.json_logger(sink, function() return 0 end),
                           now = function() return 0 end,
                           respond = function(id, status, headers, body)
                             replies[#replies + 1] = { id, status, headers, body }
                             return true
                           end }
  local ok, status, headers, body = pcall(front.handle, front, req)
  if not ok then bug("handle raised: %s", tostring(status)) end
  if status ~= nil then
    check_reply(status, headers, body, "immediate reply")
    if #replies > 0 then bug("answered now and deferred too") end
  else
    if mode ~= "silent" and #replies ~= 1 then bug("a deferred request answered %d times", #replies) end
    if mode == "silent" then
      if #replies ~= 0 then bug("answered without the runtime") end
      front:drain()
      if #replies ~= 1 or replies[1][2] ~= 503 then bug("drain did not answer 503 once") end
    end
    if front.npending ~= 0 then bug("%d requests still pending", front.npending) end
    check_reply(replies[1][2], replies[1][3], replies[1][4], "deferred reply")
  end
  local logged = table.concat(lines)
  for _, s in ipairs(secrets_of(req)) do
    if logged:find(s, 1, true) then bug("the log holds a secret of the request: %q", s) end
  end
end
