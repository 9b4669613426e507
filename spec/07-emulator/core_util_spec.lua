-- luacheck: std +busted
-- core.sha256_hex and core.time: the two helpers the emulator needs from C.
local core = require "gameliftstreams.core"

describe("core.sha256_hex", function()
  it("matches the FIPS 180-2 examples", function()
    assert.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", core.sha256_hex("abc"))
    assert.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", core.sha256_hex(""))
    assert.equal("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
      core.sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
    assert.equal("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
      core.sha256_hex(("a"):rep(1000000)))
  end)

  it("hashes every byte, NULs included, as sha256sum does", function()
    local s = "v=0\r\n\0o=- 1 2 IN IP4 127.0.0.1\r\n\255"
    local tmp = os.tmpname()
    local f = assert(io.open(tmp, "wb"))
    f:write(s)
    f:close()
    local p = assert(io.popen("sha256sum " .. tmp))
    local want = p:read("a"):match("^(%x+)")
    p:close()
    os.remove(tmp)
    assert.equal(want, core.sha256_hex(s))
    assert.not_equal(core.sha256_hex("v=0\r\n"), core.sha256_hex(s))
  end)

  it("raises on a non-string", function()
    assert.has_error(function() core.sha256_hex({}) end)
  end)
end)

describe("core.time", function()
  it("is the epoch in seconds with a fractional part, agreeing with os.time", function()
    local t = core.time()
    assert.equal("float", math.type(t))
    assert.is_true(math.abs(t - os.time()) <= 1)
    local t2 = core.time()
    assert.is_true(t2 >= t)
  end)
end)
