-- luacheck: std +busted
-- Valgrind over the two programs that host gls for a long time: a whole
-- `glsrun serve` session (start, answer, drop, reconnect, delete over HTTP,
-- then SIGTERM) and examples/host.c's own main (the embedding API) against
-- the emulator. Zero memcheck errors and no definite (or indirect) leak.
-- Tagged #valgrind: tools/check.sh runs it apart from the main busted run
-- (and never over the ASan build); skipped when valgrind is not installed.
local core = require "gameliftstreams.core"
local emulator = require "spec.support.emulator"
local serve = require "spec.support.serve"
local helper = require "spec.helper"
local q = helper.quote

local function have(cmd) return os.execute("command -v " .. cmd .. " >/dev/null 2>&1") == true end

local VALGRIND = { "valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                   "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect" }

local offers = require "spec.support.offers"

local function offer() return offers.new("valgrind-offer") end
local answered_offer = offers.answered

describe("under valgrind #valgrind", function()
  if not have("valgrind") then
    it("needs valgrind (not installed: skipped)", function() pending("valgrind is not installed") end)
    return
  end
  local emu
  setup(function() emu = emulator.start{} end)
  teardown(function() if emu then emu.stop() end end)

  it("a glsrun serve session, SIGTERM: no memcheck error, no definite leak", function()
    local log = os.tmpname()
    local wrap = { table.unpack(VALGRIND) }
    wrap[#wrap + 1] = "--log-file=" .. log
    local s = serve.start{ endpoint_url = emu.url, wrap = wrap, start_seconds = 60 }
    local ok, err = pcall(function()
      local me = { ["X-Gls-Client-Id"] = "player-v" }
      local offer1 = offer()
      local st, body = s.request{ method = "POST", path = "/v1/sessions", headers = me,
                                  body = { SignalRequest = offer1 } }
      assert.equal(201, st)
      local token, arn = body.Token, body.SessionArn
      st, body = s.request{ path = "/v1/sessions/" .. token .. "/answer?wait=20", timeout = 60 }
      assert.equal(200, st)
      assert.equal(core.sha256_hex(offer1), answered_offer(body.SignalResponse))
      assert(emu.control:connect(arn))
      assert(emu.control:disconnect(arn))
      local offer2 = offer()
      st, body = s.request{ method = "POST", path = "/v1/sessions/" .. token .. "/reconnect", headers = me,
                            body = { SignalRequest = offer2 }, timeout = 60 }
      assert.equal(200, st)
      assert.equal(core.sha256_hex(offer2), answered_offer(body.SignalResponse))
      local token2 = body.Token
      -- the dead token, a malformed body, the metrics page: the error paths run too
      assert.equal(404, (s.request{ method = "DELETE", path = "/v1/sessions/" .. token }))
      assert.equal(400, (s.request{ method = "POST", path = "/v1/sessions", body = "{not json" }))
      assert.equal(200, (s.request{ path = "/metrics" }))
      st = s.request{ method = "DELETE", path = "/v1/sessions/" .. token2, headers = me, timeout = 60 }
      assert.equal(204, st)
    end)
    local code, _, stderr = s.stop()
    local vlog = helper.read_file(log)
    os.remove(log)
    assert(ok, err)
    assert.equal(0, code, stderr .. vlog)
    assert.equal("", vlog)
  end)

  it("examples/host.c's main, against the emulator: no memcheck error, no definite leak", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. q(dir)))
    finally(function() os.execute("rm -rf " .. q(dir)) end)
    local log = dir .. "/valgrind.log"
    local cmd = ([[cc -std=c11 -Wall -Wextra -Werror -g -Isrc -o %s/host examples/host.c build/libgls.a \
      $(pkg-config --libs lua5.4 libcurl openssl jansson expat libmicrohttpd) -lm -ldl &&
      env -u AWS_ACCESS_KEY_ID %s --log-file=%s %s/host %s >%s/out 2>&1]]):format(
      q(dir), table.concat(VALGRIND, " "), q(log), q(dir), q(emu.url), q(dir))
    local ok, _, code = os.execute(cmd)
    local out = helper.read_file(dir .. "/out")
    assert.is_true(ok, ("exit %s: %s\n%s"):format(code, out, helper.read_file(log)))
    assert.matches("host: the token rotated: yes\n", out)
    assert.matches("host: player%-1 left; session terminated\n", out)
    assert.equal("", helper.read_file(log))
  end)
end)
