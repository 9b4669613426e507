-- luacheck: std +busted
-- `glsrun serve`'s front against hostile HTTP: slow-drip (slowloris: headers
-- or body trickled byte by byte, each byte inside the idle timeout) is cut
-- off once the whole request has not come within --idle-timeout; oversized
-- and malformed requests are refused; and after hundreds of such connections
-- (and dozens held open at once) the server's memory (VmRSS from /proc) and
-- open descriptors are back where they were, and it still answers.
local core = require "gameliftstreams.core"
local serve = require "spec.support.serve"

local has_cqueues, socket = pcall(require, "cqueues.socket")

local function proc_status(pid, field)
  local f = assert(io.open("/proc/" .. pid .. "/status"))
  local text = f:read("a")
  f:close()
  return tonumber(text:match(field .. ":%s*(%d+)"))
end

local function open_fds(pid)
  local p = assert(io.popen("ls /proc/" .. pid .. "/fd | wc -l"))
  local n = tonumber(p:read("a"))
  p:close()
  return n
end

-- Is build/glsrun built with AddressSanitizer?
local sanitized = require("spec.support.faults").sanitized

describe("the front under hostile clients #security", function()
  if not has_cqueues then
    it("needs lua-cqueues (not installed: skipped)", function() pending("lua-cqueues is not installed") end)
    return
  end
  local s, port
  setup(function()
    s = serve.start{ endpoint_url = "http://127.0.0.1:9", args = { "--idle-timeout", "2", "--max-body", "1024" } }
    port = tonumber(s.url:match(":(%d+)$"))
  end)
  teardown(function() if s then s.stop() end end)

  local function connect()
    local c = socket.connect("127.0.0.1", port)
    c:setmode("b", "b")
    c:settimeout(10)
    return c
  end

  -- How many of conns the server has closed. A read does not tell here
  -- (cqueues reports a timeout): a write to a socket the server has closed
  -- fails (the first one may still go out and draw the reset, so two rounds).
  local function count_closed(conns)
    local gone = {}
    for _ = 1, 2 do
      for i, c in ipairs(conns) do
        if not gone[i] then
          local ok = c:write("x")
          if not (ok and c:flush()) then gone[i] = true end
        end
      end
      core.sleep(0.1)
    end
    local n = 0
    for _ in pairs(gone) do n = n + 1 end
    return n
  end

  -- Sends head, then the bytes of drip one at a time, every `every` seconds,
  -- until the server closes the connection. -> seconds it took, bytes dripped
  local function drip(head, every, max_seconds)
    local c = connect()
    assert(c:write(head))
    c:flush()
    local t0, n = core.time(), 0
    while core.time() - t0 < max_seconds do
      core.sleep(every)
      local ok = c:write("x")
      if not (ok and c:flush()) then break end
      n = n + 1
    end
    local took = core.time() - t0
    c:close()
    return took, n
  end

  -- One raw request; -> status line's code (or nil when closed without one)
  local function raw(text)
    local c = connect()
    c:write(text)
    c:flush()
    local line = c:xread("*l", "b", 5)
    c:close()
    return line and tonumber(line:match("^HTTP/1%.%d (%d%d%d)"))
  end

  it("cuts off headers dripped a byte every 0.5 s (idle timeout 2 s)", function()
    local took, n = drip("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", 0.5, 15)
    assert.is_true(took < 5, ("still open after %.1f s"):format(took))
    assert.is_true(took >= 1.5, ("closed after %.1f s"):format(took))
    assert.is_true(n >= 2, "the bytes did go in one by one")
    -- the drip's timing: the connection lived past one idle period only because of the bytes

  end)

  it("cuts off a body dripped a byte every 0.5 s", function()
    local took = drip("POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      .. "Content-Length: 900\r\n\r\n{\"SignalRequest\": \"", 0.5, 15)
    assert.is_true(took < 5, ("still open after %.1f s"):format(took))
  end)

  it("cuts off a request line dripped from the first byte", function()
    local took = drip("G", 0.5, 15)
    assert.is_true(took < 5, ("still open after %.1f s"):format(took))
  end)

  it("keeps a keep-alive client that sends each request in time, however long it stays", function()
    local c = connect()
    for _ = 1, 3 do
      c:write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
      c:flush()
      local line = c:xread("*l", "b", 5)
      assert.matches("^HTTP/1%.1 200", line)
      local len, h
      repeat
        h = assert(c:xread("*l", "b", 5)):gsub("\r$", "")
        len = len or tonumber(h:match("^[Cc]ontent%-[Ll]ength: (%d+)"))
      until h == ""
      assert.equal(len, #assert(c:xread(len, "b", 5)))
      core.sleep(1.2)      -- 3.6 s in all: more than the timeout, never between request and reply
    end
    c:close()
  end)

  it("refuses oversized and malformed requests", function()
    assert.equal(413, raw("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n"))
    assert.equal(413, raw("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      .. "800\r\n" .. ("a"):rep(2048) .. "\r\n0\r\n\r\n"))
    local huge = raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " .. ("h"):rep(200000) .. "\r\n\r\n")
    assert.is_true(huge == nil or huge >= 400, tostring(huge))
    local long_target = raw("GET /" .. ("p"):rep(100000) .. " HTTP/1.1\r\nHost: x\r\n\r\n")
    assert.is_true(long_target == nil or long_target >= 400, tostring(long_target))
    for _, bad in ipairs({ "\0\1\2\3\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
                           "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                           "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 12x\r\n\r\n" }) do
      local st = raw(bad)
      assert.is_true(st == nil or st >= 400, ("%q -> %s"):format(bad, tostring(st)))
    end
    assert.equal(400, raw("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n{\"a\":[1,2"))
    assert.equal(200, (s.request{ path = "/healthz" }))
  end)

  it("holds memory and descriptors bounded across hundreds of such connections", function()
    local rounds = function(n)
      for i = 1, n do
        raw("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n")
        raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " .. ("h"):rep(40000 + i) .. "\r\n\r\n")
        raw("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" .. ("{"):rep(1000))
        raw("GET\r\n\r\n" .. i)
        local c = connect()            -- a half request, then gone
        c:write("POST /v1/sessions HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{\"Sig")
        c:flush()
        c:close()
      end
    end
    -- 100 slow connections held open at once, each with a part of a request;
    -- the server lets go of them all at the idle timeout (2 s)
    local function hold()
      local held = {}
      for i = 1, 100 do
        local c = connect()
        c:write("POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" .. ("x"):rep(i))
        c:flush()
        held[i] = c
      end
      core.sleep(0.5)
      local fds_held = open_fds(s.pid)
      core.sleep(3)
      local n = count_closed(held)
      for _, c in ipairs(held) do c:close() end
      core.sleep(0.3)
      return fds_held, n
    end
    -- a first pass brings the allocator's and the GC's steady state
    rounds(200)
    hold()
    local rss0, fds0 = proc_status(s.pid, "VmRSS"), open_fds(s.pid)
    rounds(300)
    local fds_held, n = hold()
    assert.is_true(fds_held >= fds0 + 90, ("%d descriptors with 100 held, %d before"):format(fds_held, fds0))
    assert.equal(100, n)
    rounds(300)
    hold()
    local rss1, fds1 = proc_status(s.pid, "VmRSS"), open_fds(s.pid)
    assert.is_true(fds1 <= fds0 + 2, ("descriptors: %d before, %d after"):format(fds0, fds1))
    -- The connections a client half-sends and drops linger until the idle
    -- timeout (libmicrohttpd does not notice the client's close while it
    -- waits for a body), each with its 32 KB memory pool: a few hundred at
    -- once here. glibc keeps part of that heap once freed, so VmRSS may creep
    -- by a few MB, far from the 3,200 connections' worth it would hold if any
    -- were kept (valgrind_spec shows none is leaked).
    -- (Under AddressSanitizer, make check's 4b, freed memory sits in its
    -- quarantine: the descriptors are the measure there.)
    if not sanitized() then
      assert.is_true(rss1 < 64 * 1024, ("VmRSS %d kB"):format(rss1))
      assert.is_true(rss1 - rss0 < 6144,
        ("VmRSS grew by %d kB over 3,200 more hostile connections"):format(rss1 - rss0))
    end
    assert.equal(200, (s.request{ path = "/healthz" }))
  end)
end)
