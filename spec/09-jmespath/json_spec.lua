-- gameliftstreams.json: ordered JSON values, decoded by jansson, encoded as
-- Python's json.dumps writes (AWS CLI v2's --output json).
local json = require "gameliftstreams.json"
local helper = require "spec.helper"

describe("json", function()
  it("null is cjson.null and gameliftstreams.null", function()
    assert.equal(require("cjson").null, json.null)
    assert.equal(require("gameliftstreams").null, json.null)
    assert.equal(json.null, json.decode("null"))
  end)

  it("keeps [] and {} apart, both ways", function()
    local v = assert(json.decode('{"a": [], "b": {}, "c": [{}], "d": [[]]}'))
    assert.is_true(json.is_array(v.a))
    assert.is_true(json.is_object(v.b))
    assert.is_false(json.is_array(v.b))
    assert.is_false(json.is_object(v.a))
    assert.equal('{"a": [], "b": {}, "c": [{}], "d": [[]]}', json.encode(v))
    assert.equal("{}", json.encode({}))
    assert.equal("[]", json.encode(json.array()))
    assert.equal("[]", json.encode(json.array({})))
  end)

  it("keeps object keys in document order, duplicates in first place", function()
    local v = assert(json.decode('{"z": 1, "a": 2, "m": 3, "a": 4}'))
    assert.same({ "z", "a", "m" }, json.keys(v))
    assert.equal(4, v.a)
    assert.equal('{"z": 1, "a": 4, "m": 3}', json.encode(v))
    assert.equal('{"a": 4, "m": 3, "z": 1}', json.encode(v, { sort_keys = true }))
    local seen = {}
    for k, x in pairs(v) do seen[#seen + 1] = k .. "=" .. x end
    assert.same({ "z=1", "a=4", "m=3" }, seen)
  end)

  it("set records insertion order; existing keys keep their place; nil removes", function()
    local o = json.object()
    json.set(o, "b", 1)
    json.set(o, "a", 2)
    o.c = 3                       -- plain assignment records the order too
    json.set(o, "b", 10)
    assert.same({ "b", "a", "c" }, json.keys(o))
    json.set(o, "a", nil)
    assert.same({ "b", "c" }, json.keys(o))
    json.set(o, "a", 5)
    assert.same({ "b", "c", "a" }, json.keys(o))
    o.c = nil
    o.c = 7
    assert.same({ "b", "a", "c" }, json.keys(o))
    assert.equal(10, o.b)
    assert.equal('{"b": 10, "a": 5, "c": 7}', json.encode(o))
    -- a key such as a would-be order field is only data
    json.set(o, "__order", 1)
    assert.same({ "b", "a", "c", "__order" }, json.keys(o))
  end)

  it("classifies plain tables: sequence = array, string keys = object, {} = object", function()
    assert.is_true(json.is_array({ 1, 2 }))
    assert.is_true(json.is_object({ a = 1 }))
    assert.is_true(json.is_object({}))
    assert.is_false(json.is_array({}))
    assert.is_false(json.is_array({ 1, x = 2 }))
    assert.is_false(json.is_object({ 1, x = 2 }))
    assert.same({ "a", "b", "c" }, json.keys({ c = 1, a = 2, b = 3 }))
    assert.has_error(function() json.encode({ 1, x = 2 }) end)
    local cyc = {}
    cyc[1] = cyc
    assert.has_error(function() json.encode(cyc) end)
  end)

  it("decodes integers as integers and the rest as floats", function()
    local v = assert(json.decode("[1, -0, 1.0, 1e2, 9223372036854775807, -9223372036854775808]"))
    assert.equal("integer", math.type(v[1]))
    assert.equal("float", math.type(v[3]))
    assert.equal("float", math.type(v[4]))
    assert.equal(math.maxinteger, v[5])
    assert.equal(math.mininteger, v[6])
    assert.equal("float", math.type(json.decode("18446744073709551616")))
    assert.equal("[1, 0, 1.0, 100.0]", json.encode(json.decode("[1, -0, 1.0, 1e2]")))
  end)

  it("returns nil, err on bad JSON and raises on misuse", function()
    local v, err = json.decode('{"a": ')
    assert.is_nil(v)
    assert.equal("InvalidJSON", err.code)
    assert.matches("line 1", err.message)
    assert.has_error(function() json.decode(42) end)
    assert.has_error(function() json.encode(print) end)
    assert.has_error(function() json.encode({}, { indent = "x" }) end)
  end)

  it("writes indent as Python does, strings escaped as ensure_ascii=False", function()
    local v = assert(json.decode('{"a": [1, {"b": null}], "e": [], "s": "é\\u0001\\t\\"\\\\/\\u007f"}'))
    assert.equal('{\n    "a": [\n        1,\n        {\n            "b": null\n        }\n    ],\n'
      .. '    "e": [],\n    "s": "é\\u0001\\t\\"\\\\/\127"\n}', json.encode(v, { indent = 4 }))
    assert.equal("[\n1\n]", json.encode(json.array({ 1 }), { indent = 0 }))
  end)

  -- fuzz/regressions/jmespath and fuzz/regressions/cli
  it("writes bytes that are not UTF-8 as U+FFFD, so what it writes is JSON", function()
    assert.equal('"ACT\u{FFFD}IVE"', json.encode("ACT\255IVE"))
    assert.equal('["\u{FFFD}\u{FFFD}x\u{FFFD}"]', json.encode(json.array({ "\226\156x\200" })))
    assert.equal('"ok \u{E9}"', json.encode("ok \u{E9}"))
    local text = json.encode({ ["k\255"] = "\237\160\128" }) -- a key, and a UTF-8 surrogate
    local back = assert(json.decode(text))
    assert.equal("\u{FFFD}\u{FFFD}\u{FFFD}", back["k\u{FFFD}"])
    -- a raw string literal in a --query carries the stray byte to the output
    local jmespath = require "gameliftstreams.jmespath"
    local out = assert(jmespath.search_json("'\226cts'", "{}"))
    assert.equal('"\u{FFFD}cts"', out)
    assert.truthy(json.decode(out))
  end)

  it("writes floats as Python's repr", function()
    -- pairs, not table keys: Lua turns integral float keys into integers
    local cases = { { 1e16, "1e+16" }, { 1e15, "1000000000000000.0" }, { 0.0001, "0.0001" },
      { 0.00001, "1e-05" }, { 0.1, "0.1" }, { -2.5, "-2.5" }, { 5e-324, "5e-324" },
      { 1.7976931348623157e308, "1.7976931348623157e+308" }, { 123456789.125, "123456789.125" },
      { 3.0, "3.0" }, { math.huge, "Infinity" }, { -math.huge, "-Infinity" },
      { 2.2250738585072014e-308, "2.2250738585072014e-308" }, { 1e-310, "1e-310" },
      { 0.1 + 0.2, "0.30000000000000004" }, { 1e22, "1e+22" }, { 2.0 ^ 53, "9007199254740992.0" },
      { 1.5e-7, "1.5e-07" }, { 1.5e-323, "1.5e-323" } }
    for _, c in ipairs(cases) do assert.equal(c[2], json.encode(c[1])) end
    assert.equal("-0.0", json.encode(-0.0))
    assert.equal("NaN", json.encode(0 / 0))
  end)

  describe("against Python's json.dumps", function()
    local seed = tonumber(os.getenv("GLS_SEED")) or os.time()
    local rnd = math.random
    -- keys never hold NUL: jansson refuses it there (values may)
    local words = { "", "a", "Key", "é", "日本", "tab\t", "q\"", "b\\s", "\127", "\1\31", "𝄞" }

    local function gen_float()
      local r = rnd(6)
      if r == 1 then return rnd(-1000, 1000) + 0.0 end
      if r == 2 then return (rnd() - 0.5) * 10.0 ^ rnd(-30, 30) end
      local x
      repeat
        x = string.unpack("<d", string.pack("<I4I4", rnd(0, 0xffffffff), rnd(0, 0xffffffff)))
      until x == x and x ~= math.huge and x ~= -math.huge
      return x
    end

    local function gen(depth)
      local r = rnd(depth > 3 and 6 or 9)
      if r == 1 then return json.null
      elseif r == 2 then return rnd(2) == 1
      elseif r == 3 then return rnd(2) == 1 and rnd(-100, 100) or math.random(math.mininteger, math.maxinteger)
      elseif r == 4 then return gen_float()
      elseif r <= 6 then return words[rnd(#words)] .. (rnd(4) == 1 and "\0" or words[rnd(#words)])
      elseif r <= 7 then
        local t = json.array()
        for i = 1, rnd(0, 4) do t[i] = gen(depth + 1) end
        return t
      end
      local o = json.object()
      for _ = 1, rnd(0, 5) do json.set(o, words[rnd(#words)] .. words[rnd(#words)], gen(depth + 1)) end
      return o
    end

    it("gives the same text for 1500 generated values (seed printed on failure)", function()
      local ok = os.execute("python3 -c 'import json' >/dev/null 2>&1")
      if not ok then return pending("needs python3") end
      math.randomseed(seed)
      local cases, values = {}, {}
      for i = 1, 1500 do
        values[i] = gen(0)
        cases[i] = { text = json.encode(values[i]), indent = ({ false, 4, 2, 0 })[rnd(4)] or nil,
                     sort_keys = rnd(2) == 1 }
      end
      local want = helper.python_json("spec/support/json_dumps.py", cases)
      for i, case in ipairs(cases) do
        local opts = { indent = case.indent, sort_keys = case.sort_keys }
        local got = json.encode(values[i], opts)
        assert.equal(want[i], got, ("seed %d, case %d: %s"):format(seed, i, case.text))
        -- and back: Python's text decodes to a value written the same again
        local back, err = json.decode(want[i])
        assert.is_nil(err)
        assert.equal(want[i], json.encode(back, opts),
          ("seed %d, case %d round trip"):format(seed, i))
      end
    end)
  end)
end)
