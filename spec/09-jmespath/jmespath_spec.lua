-- gameliftstreams.jmespath: the DESIGN.md contract (search, search_json,
-- errors) and the points where JSON types matter.
local json = require "gameliftstreams.json"
local jmespath = require "gameliftstreams.jmespath"

describe("jmespath", function()
  it("searches plain Lua tables and json values alike", function()
    local plain = { Sessions = { { Id = "a", Status = "ACTIVE" }, { Id = "b", Status = "ERROR" } } }
    assert.same({ "a" }, jmespath.search("Sessions[?Status=='ACTIVE'].Id", plain))
    local doc = assert(json.decode('{"Sessions": [{"Id": "a", "Status": "ACTIVE"}, {"Id": "b"}]}'))
    local ids = jmespath.search("Sessions[].Id", doc)
    assert.is_true(json.is_array(ids))
    assert.same({ "a", "b" }, ids)
    assert.equal(json.null, jmespath.search("missing", doc))
  end)

  it("keeps a multi-select hash in expression order, and [] apart from {}", function()
    local doc = assert(json.decode('{"z": 1, "a": {}, "m": []}'))
    local out = jmespath.search("{z: z, a: a, m: m, y: missing}", doc)
    assert.same({ "z", "a", "m", "y" }, json.keys(out))
    assert.equal('{"z": 1, "a": {}, "m": [], "y": null}', json.encode(out))
    assert.equal('{"k": [], "o": {}}', jmespath.search_json("{k: m, o: a}", '{"m": [], "a": {}}'))
  end)

  it("gives Python's integers and floats", function()
    local function ty(e, doc) return math.type(jmespath.search(e, doc or {})) end
    assert.equal("integer", ty("length('abc')"))
    assert.equal("float", ty("avg(`[1, 2]`)"))
    assert.equal("integer", ty("to_number('1')"))
    assert.equal("float", ty("to_number('1.0')"))
    assert.equal("integer", ty("ceil(`1.5`)"))
    assert.equal("integer", ty("sum(`[1, 2]`)"))
    assert.equal("float", ty("sum(`[1, 2.0]`)"))
    assert.equal("[1, 1.0, 1.5]", jmespath.search_json("sort(@)", "[1.5, 1, 1.0]"))
    assert.equal('"[1,\\"\\\\u00e9\\"]"', jmespath.search_json("to_string(@)", '[1, "é"]'))
  end)

  it("returns nil, err with the error class", function()
    local cases = {
      { "foo.", "syntax" }, { "", "syntax" }, { "a[?b", "syntax" }, { "`\"a`", "syntax" },
      { "abs('x')", "invalid-type" }, { "length(`1`, `2`)", "invalid-arity" },
      { "nope(@)", "unknown-function" }, { "[1:2:0]", "invalid-value" },
      { "`1` < 'a'", "invalid-type" },
    }
    for _, c in ipairs(cases) do
      local result, err = jmespath.search(c[1], json.array { 1, 2, 3 })
      assert.is_nil(result, c[1])
      assert.equal(c[2], err.code, c[1])
      assert.is_string(err.message)
      assert.matches(c[2], tostring(err), 1, true)
      local text, err2 = jmespath.search_json(c[1], "[1, 2, 3]")
      assert.is_nil(text)
      assert.equal(c[2], err2.code)
    end
    local text, err = jmespath.search_json("a", "{")
    assert.is_nil(text)
    assert.equal("invalid-value", err.code)
  end)

  it("raises on a non-string expression or text", function()
    assert.has_error(function() jmespath.search(42, {}) end)
    assert.has_error(function() jmespath.search_json(nil, "{}") end)
    assert.has_error(function() jmespath.search_json("a", {}) end)
  end)

  it("turns a nesting too deep for Lua into an error, not a crash", function()
    local e = ("["):rep(100000) .. "a" .. ("]"):rep(100000)
    local text, err = jmespath.search_json(e, '{"a": 1}')
    assert.is_nil(text)
    assert.equal("invalid-value", err.code)
  end)

  it("compiles each expression once, and keeps the cache bounded", function()
    assert.is_true(jmespath.compile("a.b"))
    local _, err = jmespath.compile("a.")
    assert.equal("syntax", err.code)
    for i = 1, 2000 do assert.equal(i, jmespath.search("to_number('" .. i .. "')", {})) end
    assert.is_true(jmespath.cache_size() <= 512)
  end)

  -- fuzz/regressions/jmespath/expref-in-list: json.encode raised on "[&*.*]"
  it("writes an expression reference as null wherever search_json meets one", function()
    assert.equal("null", jmespath.search_json("&foo", "{}"))
    assert.equal("[null]", jmespath.search_json("[&*.*]", "[]"))
    assert.equal('{"a": null, "b": [1, null], "c": 2}',
                 jmespath.search_json("{a: &foo, b: [`1`, &x], c: `2`}", "{}"))
    assert.equal('{"z": 1, "a": [1, {"q": 2}]}', jmespath.search_json("foo", '{"foo": {"z": 1, "a": [1, {"q": 2}]}}'))
  end)
end)
