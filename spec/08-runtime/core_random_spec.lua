-- core.random_hex and core.equal_ct: what the runtime's session tokens are made
-- and checked with.
local core = require "gameliftstreams.core"

describe("core.random_hex", function()
  it("gives 2*n lower-case hex characters", function()
    for _, n in ipairs({ 1, 16, 32, 1024 }) do
      local s = core.random_hex(n)
      assert.equal(2 * n, #s)
      assert.is_nil(s:find("[^0-9a-f]"))
    end
  end)

  it("does not repeat itself and uses every digit", function()
    local seen, digits = {}, {}
    for _ = 1, 1000 do
      local s = core.random_hex(32)
      assert.is_nil(seen[s])
      seen[s] = true
      for c in s:gmatch(".") do digits[c] = (digits[c] or 0) + 1 end
    end
    -- 64000 digits: each of the 16 expected 4000 times; a broken generator
    -- (constant, or a skewed nibble) falls far outside 3000..5000.
    for c in ("0123456789abcdef"):gmatch(".") do
      assert.is_true(digits[c] > 3000 and digits[c] < 5000, c .. ": " .. tostring(digits[c]))
    end
  end)

  it("raises on a bad byte count", function()
    assert.has_error(function() core.random_hex(0) end)
    assert.has_error(function() core.random_hex(1025) end)
    assert.has_error(function() core.random_hex("x") end)
    assert.has_error(function() core.random_hex(1.5) end)
  end)
end)

describe("core.equal_ct", function()
  it("says whether two strings are equal, lengths included", function()
    assert.is_true(core.equal_ct("", ""))
    local a = core.sha256_hex("a")
    assert.is_true(core.equal_ct(a, core.sha256_hex("a")))
    assert.is_false(core.equal_ct(a, core.sha256_hex("b")))
    assert.is_false(core.equal_ct(a, a:sub(1, 63)))
    assert.is_false(core.equal_ct(a:sub(1, 63) .. "0", a:sub(1, 63) .. "1"))
    assert.is_false(core.equal_ct("a\0b", "a\0c"))
    assert.is_true(core.equal_ct("a\0b", "a\0b"))
  end)

  it("raises on non-strings", function()
    assert.has_error(function() core.equal_ct({}, "a") end)
    assert.has_error(function() core.equal_ct("a", nil) end)
  end)
end)
