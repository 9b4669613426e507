-- gameliftstreams.jmespath against Python's jmespath package on generated
-- expressions (valid and broken, every construct and every function) over
-- generated documents: same JSON text out, or the same class of error.
-- GLS_SEED=N replays a run; the seed is in every failure message.
local json = require "gameliftstreams.json"
local jmespath = require "gameliftstreams.jmespath"
local helper = require "spec.helper"

local N = 3000
local seed = tonumber(os.getenv("GLS_SEED")) or os.time()
local rnd = math.random

local function choose(list) return list[rnd(#list)] end

local KEYS = { "a", "b", "c", "foo", "bar", "é" }

local function gen_doc(depth)
  local r = rnd(depth >= 3 and 7 or 10)
  if depth == 0 then r = 10 end
  if r == 1 then return json.null
  elseif r == 2 then return rnd(2) == 1
  elseif r == 3 then return rnd(-5, 10)
  elseif r == 4 then return choose { 0.5, -1.25, 2.0, 1e20, 3.75 }
  elseif r <= 6 then
    return choose { "", "a", "foo", "bar", "Foo", "é日", "1", "2.5", " 3 ", "b", "1.0", "1e3", "-0",
                    "1_000", "inf", "0x1" }
  elseif r == 7 then return rnd(-3, 3)
  elseif r <= 8 then
    local t = json.array()
    local numbers = rnd(2) == 1   -- arrays of numbers, for the functions that want them
    for i = 1, rnd(0, 5) do
      t[i] = numbers and rnd(-9, 9) * (rnd(2) == 1 and 1 or 0.5) or gen_doc(depth + 1)
    end
    return t
  end
  local o = json.object()
  for _, k in ipairs(KEYS) do
    if rnd(10) <= (depth == 0 and 9 or 5) then json.set(o, k, gen_doc(depth + 1)) end
  end
  return o
end

-- Each function's arguments, by the type they want ("*" any, "&" an
-- expression reference, "..." more of the last one).
local FUNCS = {
  abs = { "n" }, avg = { "an" }, ceil = { "n" }, contains = { "as", "*" }, ends_with = { "s", "s" },
  floor = { "n" }, join = { "s", "as" }, keys = { "o" }, length = { "*" }, map = { "&", "a" },
  max = { "an" }, max_by = { "a", "&" }, merge = { "o", "..." }, min = { "as" }, min_by = { "a", "&" },
  not_null = { "*", "..." }, reverse = { "as" }, sort = { "an" }, sort_by = { "a", "&" },
  starts_with = { "s", "s" }, sum = { "an" }, to_array = { "*" }, to_string = { "*" },
  to_number = { "ns" }, type = { "*" }, values = { "o" },
}
local FUNC_NAMES = {}
for name in pairs(FUNCS) do FUNC_NAMES[#FUNC_NAMES + 1] = name end
table.sort(FUNC_NAMES)
local TYPED = {
  n = { "`1`", "`-2`", "`2.5`", "length(@)", "`-0.5`", "c" },
  s = { "'foo'", "'a'", "''", "`\"é\"`", "'o'", "to_string(a)" },
  o = { "@", "`{\"a\": 1}`", "{x: a, a: b}", "`{}`", "foo" },
  a = { "@", "`[1, 2, 3]`", "`[\"b\", \"a\"]`", "foo", "[a, b]", "*", "bar[]", "`[]`" },
  an = { "`[3, 1.5, 2]`", "`[1, 2, 3]`", "`[]`", "foo[?@ > `0`]", "[length(@), `1`]" },
  as = { "`[\"b\", \"a\"]`", "'foo'", "keys(@)", "[a, 'z']", "`[]`" },
  ns = { "'1.0'", "' -4 '", "'.5'", "'5.'", "'1e-3'", "'-inf'", "'1_000'", "'12'", "a", "`\"1\"`",
    "'1__0'", "'+7'", "'0x1'", "'1e'", "`2.5`", "`true`" },
  ["&"] = { "&a", "&length(@)", "&to_string(@)", "&foo", "&@", "&b.c", "&[a]" },
}
local LITERALS = { "`1`", "`-2`", "`2.5`", "`\"a\"`", "`[1, 2, 3]`", "`[\"b\", \"a\"]`", "`{\"a\": 1}`",
  "`null`", "`true`", "`false`", "`[]`", "`{}`", "'foo'", "'a'", "''", "`[3, 1.5, 2]`", "`\"1\"`",
  "`\"é\"`", "` 5 `", "`foo`", "'it\\'s'", "`[[1, 2], 3, [4]]`", "'1.0'", "' -4 '", "'.5'", "'5.'", "'1e-3'",
  "'-inf'", "`1e20`", "`12345678.5`", "`-0.0`" }

local expr

local function ident()
  local k = choose(KEYS)
  if rnd(5) == 1 or k == "é" then return '"' .. k .. '"' end
  if rnd(8) == 1 then return choose { "missing", "\"with space\"", "\"a\\\"b\"", "_x", "A" } end
  return k
end

local function call(d)
  local name = rnd(40) == 1 and "no_such_fn" or choose(FUNC_NAMES)
  local sig = FUNCS[name] or { "*" }
  local kinds = {}
  for i, k in ipairs(sig) do
    if k == "..." then
      for _ = 1, rnd(0, 2) do kinds[#kinds + 1] = sig[i - 1] end
    else
      kinds[#kinds + 1] = k
    end
  end
  if rnd(20) == 1 then kinds[#kinds + (rnd(2) == 1 and 1 or 0)] = rnd(2) == 1 and "*" or nil end
  local args = {}
  for i, k in ipairs(kinds) do
    if TYPED[k] and rnd(4) > 1 then args[i] = choose(TYPED[k])
    elseif k == "&" then args[i] = "&" .. expr(d + 1)
    elseif rnd(3) == 1 then args[i] = choose(LITERALS)
    else args[i] = expr(d + 1) end
  end
  return name .. "(" .. table.concat(args, ", ") .. ")"
end

local function slice()
  local function num() return rnd(3) == 1 and "" or tostring(rnd(-4, 4)) end
  local s = "[" .. num() .. ":" .. num()
  if rnd(2) == 1 then s = s .. ":" .. (rnd(12) == 1 and "0" or num()) end
  return s .. "]"
end

local function comparison(d)
  return expr(d + 1) .. " " .. choose { "==", "!=", "<", "<=", ">", ">=" } .. " "
    .. (rnd(2) == 1 and choose(LITERALS) or expr(d + 1))
end

expr = function(d)
  if d > 3 then
    return choose { ident(), "@", choose(LITERALS), ident() }
  end
  local r = rnd(28)
  if r <= 4 then return ident()
  elseif r == 5 then return expr(d + 1) .. "." .. ident()
  elseif r == 6 then return expr(d + 1) .. "[" .. rnd(-3, 3) .. "]"
  elseif r == 7 then return expr(d + 1) .. slice()
  elseif r == 8 then return expr(d + 1) .. "[*]" .. (rnd(2) == 1 and "." .. ident() or "")
  elseif r == 9 then return expr(d + 1) .. ".*" .. (rnd(2) == 1 and "." .. ident() or "")
  elseif r == 10 then return expr(d + 1) .. "[]"
  elseif r == 11 then return expr(d + 1) .. "[?" .. comparison(d) .. "]"
  elseif r == 12 then return expr(d + 1) .. " | " .. expr(d + 1)
  elseif r == 13 then return expr(d + 1) .. " || " .. expr(d + 1)
  elseif r == 14 then return expr(d + 1) .. " && " .. expr(d + 1)
  elseif r == 15 then return "!" .. expr(d + 1)
  elseif r == 16 then return comparison(d)
  elseif r == 17 then return choose(LITERALS)
  elseif r == 18 then return "@"
  elseif r == 19 then return "[" .. expr(d + 1) .. ", " .. expr(d + 1) .. "]"
  elseif r == 20 then return "{" .. ident() .. ": " .. expr(d + 1) .. ", x: " .. expr(d + 1) .. "}"
  elseif r <= 23 then return call(d)
  elseif r == 24 then return "(" .. expr(d + 1) .. ")"
  elseif r == 25 then return expr(d + 1) .. ".[" .. expr(d + 1) .. "]"
  elseif r == 26 then return expr(d + 1) .. ".{k: " .. expr(d + 1) .. "}"
  elseif r == 27 then return "[?" .. expr(d + 1) .. "]." .. ident()
  end
  return expr(d + 1) .. "." .. call(d)
end

-- Breaks an expression: a character dropped, doubled or a token inserted.
local function mutate(e)
  if not e:find("[\1-\127]") then return e end
  local i   -- an ASCII character followed by a character's start: UTF-8 stays whole
  repeat
    i = rnd(1, #e)
  until e:byte(i) < 128 and (i == #e or e:byte(i + 1) < 128 or e:byte(i + 1) >= 192)
  local r = rnd(3)
  if r == 1 then return e:sub(1, i - 1) .. e:sub(i + 1) end
  if r == 2 then return e:sub(1, i) .. e:sub(i) end
  return e:sub(1, i) .. choose { "[", "]", ".", "|", "(", ",", ":", "{", "'", "`", "\"", "=", "-", "&",
    "!", "?", "*", "1", " ", "@", "<" } .. e:sub(i + 1)
end

describe("JMESPath against Python's jmespath", function()
  it(("agrees on %d generated expressions"):format(N), function()
    local ok = os.execute("python3 -c 'import jmespath' >/dev/null 2>&1")
    if not ok then return pending("needs python3 with the jmespath package (import jmespath failed)") end
    math.randomseed(seed)
    local docs = {}
    for i = 1, 25 do
      docs[i] = json.encode(gen_doc(0))
    end
    local cases = {}
    for i = 1, N do
      local e = expr(0)
      if rnd(6) == 1 then e = mutate(e) end
      cases[i] = { expression = e, data = choose(docs) }
    end
    local reply = helper.python_json("spec/support/jmespath_eval.py", cases)
    local compared, errors, skipped, quirks, values, bigints = 0, 0, 0, 0, 0, 0
    for i, case in ipairs(cases) do
      local want = reply.results[i]
      local where = ("seed %d (GLS_SEED=%d replays), case %d: %s on %s"):format(seed, seed, i,
        case.expression, case.data)
      if want.error and want.error:find("^other:") then
        skipped = skipped + 1
      else
        local got, err = jmespath.search_json(case.expression, case.data)
        if want.json and want.json:find(("%d"):rep(19)) then
          -- Python's integers have no bounds: ceil(`1e20`) is 100000000000000000000
          bigints = bigints + 1
          compared = compared - 1
        elseif err and err.code == "invalid-type" and case.expression:find("merge(", 1, true)
            and err.message:find("merge", 1, true) and want.error ~= "syntax" then
          -- Python type-checks merge's first argument only, then fails (or
          -- not: merge({}, '') is {}) on what dict.update makes of the others
          quirks = quirks + 1
          compared = compared - 1
        elseif want.error then
          assert.equal(want.error, err and err.code, where .. " -> " .. tostring(got))
          errors = errors + 1
        else
          assert.is_nil(err and err.message, where)
          assert.equal(want.json, got, where)
          if got ~= "null" then values = values + 1 end
        end
        compared = compared + 1
      end
    end
    print(("\njmespath diff: python jmespath %s, seed %d: %d compared (%d errors, %d non-null values), %d left out"
      .. " (Python's own exceptions), %d merge() arguments Python does not check, %d integers beyond 64 bits"):format(
      reply.version, seed, compared, errors, values, skipped, quirks, bigints))
    assert.is_true(compared > N * 0.9)
    assert.is_true(errors > N * 0.05 and errors < N * 0.7, "a generator that says nothing")
    assert.is_true(values > N * 0.2, "a generator that finds nothing")
  end)
end)
