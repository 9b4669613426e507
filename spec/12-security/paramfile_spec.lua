-- luacheck: std +busted
-- `glsrun OPERATION`'s file:// reads only the file it is given: its exact
-- contents go out (as awscli: text, universal newlines); a file:// inside the
-- file, inside --cli-input-json or anywhere but the start of a value is sent
-- as text and reads nothing; a missing file or a directory is an error (252)
-- naming the path, and nothing is sent. The emulator's StartStreamSession
-- reply echoes the SignalRequest it received, so the output shows what went.
local helper = require "spec.helper"
local emulator = require "spec.support.emulator"
local json = require "gameliftstreams.json"
local clisup = require "spec.support.cli"

local q = helper.quote

describe("file:// reads only what it is given #security", function()
  local e, home, dir
  local SECRET = "contents of a file nobody named: zzPARAMFILEzz"

  setup(function()
    home = clisup.scratch_home()
    dir = home .. "/files"
    assert(os.execute("mkdir -p " .. q(dir .. "/adir")))
    helper.write_file(dir .. "/secret.txt", SECRET)
    helper.write_file(dir .. "/offer.sdp", "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=x-paramfile\r\n")
    helper.write_file(dir .. "/nested.txt", "file://" .. dir .. "/secret.txt")
    helper.write_file(dir .. "/input.json", json.encode{ Identifier = "sg-1AB2C3De4", Protocol = "WebRTC",
      ApplicationIdentifier = "a-9ZY8X7Wv6", SignalRequest = "file://" .. dir .. "/secret.txt" })
    e = emulator.start{ clock = "virtual" }
  end)
  teardown(function()
    if e then e.stop() end
    if home then os.execute("rm -rf " .. q(home)) end
  end)

  local function start(argv)
    local full = { "start-stream-session", "--endpoint-url", e.url }
    for _, a in ipairs(argv) do full[#full + 1] = a end
    local out, err, code = clisup.run("glsrun", full, clisup.env(home, emulator.KEY))
    assert.is_nil((out .. err):find(SECRET, 1, true), "the unnamed file was read")
    return out, err, code
  end
  local function sent(out) return json.decode(out).SignalRequest end
  local base = { "--identifier", "sg-1AB2C3De4", "--protocol", "WebRTC", "--application-identifier", "a-9ZY8X7Wv6" }
  local function with(...)
    local t = { table.unpack(base) }
    for _, a in ipairs({ ... }) do t[#t + 1] = a end
    return t
  end

  it("sends the named file's contents, exactly (text: CRLF as LF, as awscli)", function()
    local out, err, code = start(with("--signal-request", "file://" .. dir .. "/offer.sdp"))
    assert.equal(0, code, err)
    assert.equal("v=0\no=- 1 2 IN IP4 127.0.0.1\na=x-paramfile\n", sent(out))
  end)

  it("reads no file:// inside the file, inside --cli-input-json, or past a value's start", function()
    local out, err, code = start(with("--signal-request", "file://" .. dir .. "/nested.txt"))
    assert.equal(0, code, err)
    assert.equal("file://" .. dir .. "/secret.txt", sent(out))
    out, err, code = start({ "--cli-input-json", "file://" .. dir .. "/input.json" })
    assert.equal(0, code, err)
    assert.equal("file://" .. dir .. "/secret.txt", sent(out))
    for _, v in ipairs({ " file://" .. dir .. "/secret.txt", "xfile://" .. dir .. "/secret.txt",
                         "FILE://" .. dir .. "/secret.txt" }) do
      out, err, code = start(with("--signal-request", v))
      assert.equal(0, code, err)
      assert.equal(v, sent(out))
    end
  end)

  it("refuses a missing file or a directory with 252, naming it, and sends nothing", function()
    local before = #assert(e.control:requests())
    local _, err, code = start(with("--signal-request", "file://" .. dir .. "/missing.sdp"))
    assert.equal(252, code)
    assert.matches("Unable to load paramfile file://" .. dir:gsub("%p", "%%%0") .. "/missing%.sdp", err)
    assert.matches("No such file or directory", err)
    _, err, code = start(with("--signal-request", "file://" .. dir .. "/adir"))
    assert.equal(252, code)
    assert.matches("Is a directory", err)
    assert.equal(before, #assert(e.control:requests()), "a request went out")
  end)
end)
