-- gameliftstreams.shorthand and gameliftstreams.argvalue against the AWS CLI
-- v2's own shorthand.py and argprocess.py (run by /usr/bin/python3 through
-- spec/support/awscli_output.py): values and error texts, byte for byte, on
-- seeded valid and invalid inputs. GLS_CLI_SEED=N repeats a run.
local helper = require "spec.helper"
local json = require "gameliftstreams.json"
local shorthand = require "gameliftstreams.shorthand"
local argvalue = require "gameliftstreams.argvalue"
local diff = require "spec.support.cli_diff"

local SEED = tonumber(os.getenv("GLS_CLI_SEED") or "") or os.time()
local NTEXTS = tonumber(os.getenv("GLS_CLI_DOCS") or "") or 3000
local MODEL = helper.shared .. "/reference/gameliftstreams/service-2.json"

local available, why = diff.available()

local function show(s)
  if s == nil then return "nil" end
  return string.format("%q", s)
end

local function report(bad, what)
  if #bad > 0 then
    local shown = {}
    for i = 1, math.min(#bad, 6) do shown[i] = bad[i] end
    error(string.format("%d %s differ from awscli (seed %d, GLS_CLI_SEED=%d to repeat):\n%s",
      #bad, what, SEED, SEED, table.concat(shown, "\n")), 0)
  end
end

-- Python's json error text after "Invalid JSON: " is not reproduced (the
-- decoder is jansson): compare everything else.
local function normalise(msg)
  if not msg then return msg end
  return (msg:gsub("(Invalid JSON: ).-(\nJSON received: )", "%1<decoder message>%2"))
end

describe("shorthand syntax against awscli v2's shorthand.py #cli", function()
  setup(function() math.randomseed(SEED) end)

  it("parses documented and edge-case inputs to the same values and errors", function()
    if not available then return pending(why) end
    local texts = {
      "a=b", "a=b,c", "a=b,c=d", "a=b,c,d=e,f", "a=[b,c]", "a=[]", "a={}", "a={b=c,d=[e,f]}",
      "a=[{b=c},{d=e}]", "a='x,y'", 'a="x,y"', "a='it\\'s'", 'a="say \\"hi\\""', "a=b\\,c",
      "a=b,,c", "a=b,", "a", "=", "", " a = b , c = d ", "a=b,a=c", "a=b\nc=d", "a=b,\nb==c",
      "a=[b", "a={b=c", "a={b}", "a=[b,]", "a=b c", "a=é日本,b=😀", "a=\u{3000}x\u{3000}",
      "a=x\t", "a=[ b , c ]", "a={ b = c }", "a=[[x],[y,z]]", "a='unterminated", 'a="',
      "a=''", 'a=""', "a=\\", "a=]", "a=}", "a=b]", "a=[b]c", "k-1.x/y#z:w=v", "a b=c",
      "a=b,c='d',e", "a=1,2,3", "a=true", "a=b=c", "a={b=[c,{d=e}]}", "a=𝄞,b=c",
    }
    for _ = 1, NTEXTS do texts[#texts + 1] = diff.gen_shorthand() end
    local reqs = {}
    for i, t in ipairs(texts) do reqs[i] = { kind = "shorthand", text = t } end
    local answers = diff.run(reqs)
    local bad, nerr, nok = {}, 0, 0
    for i, t in ipairs(texts) do
      local a = answers[i]
      local v, err = shorthand.parse(t)
      local got = v and json.encode(v, { indent = 4 }) or nil
      local got_err = err and err.message or nil
      local want = type(a.json) == "string" and a.json or nil
      local want_err = type(a.err) == "string" and a.err or nil
      if want_err then nerr = nerr + 1 else nok = nok + 1 end
      if got ~= want or got_err ~= want_err then
        bad[#bad + 1] = string.format("input %s\n  awscli: %s %s\n  gls:    %s %s", show(t),
          show(want), show(want_err), show(got), show(got_err))
      end
    end
    report(bad, "of " .. #texts .. " shorthand inputs")
    -- the generator must exercise both outcomes
    assert.is_true(nerr > #texts // 10 and nok > #texts // 10,
      ("errors %d, values %d"):format(nerr, nok))
  end)

  it("raises on a non-string argument (misuse)", function()
    assert.has_error(function() shorthand.parse(42) end)
  end)
end)

-- Synthetic shapes, in service-2.json form, for the conversions the
-- GameLift Streams model does not have.
local SYNTH = {
  Str = { type = "string" }, Int = { type = "integer" }, Lng = { type = "long" },
  Flt = { type = "float" }, Dbl = { type = "double" }, Bool = { type = "boolean" },
  Ts = { type = "timestamp" },
  IntList = { type = "list", member = { shape = "Int" } },
  BoolList = { type = "list", member = { shape = "Bool" } },
  DblList = { type = "list", member = { shape = "Dbl" } },
  StrList = { type = "list", member = { shape = "Str" } },
  Inner = { type = "structure", members = { N = { shape = "Int" }, B = { shape = "Bool" },
    S = { shape = "Str" }, L = { shape = "StrList" }, D = { shape = "Dbl" } } },
  InnerList = { type = "list", member = { shape = "Inner" } },
  IntMap = { type = "map", key = { shape = "Str" }, value = { shape = "Int" } },
  Outer = { type = "structure", members = { Count = { shape = "Int" }, Big = { shape = "Lng" },
    Ratio = { shape = "Flt" }, On = { shape = "Bool" }, Name = { shape = "Str" },
    Ints = { shape = "IntList" }, Flags = { shape = "BoolList" }, Inner = { shape = "Inner" },
    Inners = { shape = "InnerList" }, Map = { shape = "IntMap" }, When = { shape = "Ts" } } },
  ValueOnly = { type = "structure", members = { Value = { shape = "Str" } } },
  ListOfLists = { type = "list", member = { shape = "IntList" } },
}

local R = math.random
local function pick(l) return l[R(#l)] end

local NUMS = { "1", "0", "-5", "+7", " 12 ", "1_000", "1__0", "_1", "x", "", "1.5", "1e3",
  ".5", "5.", "inf", "-Infinity", "nan", "0x10", "１２", "9223372036854775807", "true", "False",
  "TRUE", "yes" }

local function synth_value(shape)
  local t = SYNTH[shape].type
  if t == "structure" and shape == "Outer" then
    local parts = {}
    local members = { "Count", "Big", "Ratio", "On", "Name", "Ints", "Flags", "Inner", "Map", "When" }
    for i = 1, R(1, 4) do
      local m = pick(members)
      local v
      if m == "Ints" or m == "Flags" then
        v = R(2) == 1 and ("[" .. pick(NUMS) .. "," .. pick(NUMS) .. "]") or pick(NUMS)
      elseif m == "Inner" then
        v = "{N=" .. pick(NUMS) .. ",B=" .. pick(NUMS) .. ",L=" .. pick({ "x", "[x,y]", "{a=b}" }) .. "}"
      elseif m == "Map" then
        v = "{k=" .. pick(NUMS) .. ",j=" .. pick({ "[1]", "{a=1}", "2" }) .. "}"
      else
        v = pick(NUMS)
      end
      parts[i] = m .. "=" .. v
    end
    return table.concat(parts, ",")
  elseif shape == "InnerList" then
    local words = {}
    for i = 1, R(1, 3) do words[i] = "N=" .. pick(NUMS) .. ",S=" .. pick({ "a", "b c", "'q'" }) end
    if R(6) == 1 then words = { '[{"N": 1, "B": true}]' } end
    return json.array(words)
  elseif t == "list" then
    local words = {}
    for i = 1, R(1, 3) do words[i] = pick(NUMS) end
    if R(5) == 1 then words = { pick({ "[1, 2]", "[1.5]", "[true]", "[", " [1]" }) } end
    return json.array(words)
  elseif shape == "IntMap" then
    return pick({ "a=1,b=2", "a=x", "a=[1,2]", '{"a": 1}', "{", "", "a=1_0" })
  elseif shape == "ValueOnly" then
    return pick({ "plain text", "Value=x", "Other=y", "" })
  end
  return pick(NUMS)
end

local function model_value(model, shape_name)
  local def = model.shapes[shape_name]
  if def.type == "structure" then
    local parts = {}
    for _, m in ipairs(json.keys(def.members)) do
      if R(3) > 1 then
        local ms = model.shapes[def.members[m].shape]
        local v
        if ms.type == "integer" then v = pick(NUMS)
        elseif ms.type == "boolean" then v = pick({ "true", "False", "maybe" })
        elseif ms.type == "list" then v = pick({ "a,b", "[x]", "single" })
        elseif ms.type == "map" then v = "{K=v}"
        elseif ms.enum then v = pick(ms.enum)
        else v = pick({ "us-west-2", "a b", "'quoted,comma'", "x\\,y" }) end
        parts[#parts + 1] = m .. "=" .. v
      end
    end
    if R(8) == 1 then return '{"' .. (json.keys(def.members)[1] or "x") .. '": 1}' end
    return table.concat(parts, pick({ ",", ", " }))
  elseif def.type == "list" then
    local member = model.shapes[def.member.shape]
    local words = {}
    for i = 1, R(1, 3) do
      if member.type == "structure" then words[i] = model_value(model, def.member.shape)
      else words[i] = pick({ "a-1", "arn:aws:x", "x y", "[", "1" }) end
    end
    if R(6) == 1 then words = { '["a", "b"]' } end
    return json.array(words)
  elseif def.type == "map" then
    return pick({ "team=red,env=prod", "K=V", '{"a": "b"}', "a", "a=[b,c]", "a={b=c}" })
  end
  return pick(NUMS)
end

describe("option values (argvalue) against awscli v2's argprocess.py #cli", function()
  setup(function() math.randomseed(SEED) end)

  local function check(cases, what)
    local reqs = {}
    for i, c in ipairs(cases) do
      reqs[i] = { kind = "unpack", shape = c.shape, value = c.value, cli_name = "--param",
                  shapes = c.shapes, model_path = c.model_path }
    end
    local answers = diff.run(reqs)
    local bad = {}
    for i, c in ipairs(cases) do
      local a = answers[i]
      local v, err = argvalue.unpack(c.resolved, c.value, "--param")
      local got = v ~= nil and json.encode(v, { indent = 4 }) or nil
      local want = type(a.json) == "string" and a.json or nil
      local want_err = normalise(type(a.err) == "string" and a.err or nil)
      local got_err = normalise(err and err.message)
      -- exit status: ParamError 252, any other exception 255
      local want_rc = want_err and (a.type == "ParamError" and 252 or 255)
      if got ~= want or got_err ~= want_err or (err and err.rc) ~= want_rc then
        bad[#bad + 1] = string.format("shape %s value %s\n  awscli: %s %s %s\n  gls:    %s %s %s",
          c.shape, json.encode(c.value), show(want), show(want_err), tostring(a.type),
          show(got), show(got_err), err and err.code or "")
      end
    end
    report(bad, "of " .. #cases .. " " .. what)
  end

  it("reads GameLift Streams parameters (shorthand, JSON, words) as awscli does", function()
    if not available then return pending(why) end
    local model = diff.load_model(MODEL)
    local cases = {}
    local params = {}
    for _, op in ipairs(json.keys(model.operations)) do
      local o = model.operations[op]
      if o.input then
        local input = model.shapes[o.input.shape]
        for _, m in ipairs(json.keys(input.members)) do
          local sname = input.members[m].shape
          local t = model.shapes[sname].type
          if t ~= "string" then params[sname] = true end
        end
      end
    end
    local names = {}
    for n in pairs(params) do names[#names + 1] = n end
    table.sort(names)
    assert.is_true(#names >= 8, "few non-string parameters in the model")
    for _, n in ipairs(names) do
      local resolved = argvalue.resolve(model.shapes, n)
      for _ = 1, 40 do
        cases[#cases + 1] = { shape = n, resolved = resolved, model_path = MODEL,
                              value = model_value(model, n) }
      end
    end
    check(cases, "model parameters")
  end)

  it("converts integers, floats, booleans and lists by shape, with awscli's errors", function()
    if not available then return pending(why) end
    local shapes = json.decode(json.encode(SYNTH))
    local cases = {}
    local names = {}
    for n in pairs(SYNTH) do names[#names + 1] = n end
    table.sort(names)
    for _, n in ipairs(names) do
      local resolved = argvalue.resolve(shapes, n)
      for _ = 1, 60 do
        cases[#cases + 1] = { shape = n, resolved = resolved, shapes = shapes,
                              value = synth_value(n) }
      end
    end
    check(cases, "synthetic parameters")
  end)
end)

describe("argvalue.load (file:// and fileb://)", function()
  it("reads a file:// parameter as text and fileb:// as bytes, and leaves others alone", function()
    local path = os.tmpname()
    helper.write_file(path, "Key=Value\r\nx")
    assert.are.equal("Key=Value\nx", argvalue.load("file://" .. path, "--p"))
    assert.are.equal("Key=Value\r\nx", argvalue.load({ "fileb://" .. path }, "--p"))
    assert.is_nil(argvalue.load("Key=Value", "--p"))
    assert.is_nil(argvalue.load({ "file://" .. path, "x" }, "--p"))
    os.remove(path)
  end)

  it("reports a missing file as awscli does", function()
    local v, err = argvalue.load("file:///nonexistent/x.json", "--tags")
    assert.is_nil(v)
    assert.are.equal("ParamError", err.code)
    assert.are.equal(252, err.rc)
    assert.are.equal("Error parsing parameter '--tags': Unable to load paramfile "
      .. "file:///nonexistent/x.json: [Errno 2] No such file or directory: '/nonexistent/x.json'",
      err.message)
  end)

  it("expands ~ and $VARS in the path as awscli does", function()
    local path = os.tmpname()
    helper.write_file(path, "abc")
    local dir, base = path:match("^(.*)/([^/]+)$")
    local env = { HOME = dir, NAME = base }
    local getenv = function(k) return env[k] end
    assert.are.equal("abc", argvalue.load("file://~/$NAME", "--p", getenv))
    assert.are.equal("abc", argvalue.load("file://~/${NAME}", "--p", getenv))
    os.remove(path)
  end)
end)
