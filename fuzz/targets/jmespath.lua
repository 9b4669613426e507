-- fuzz/targets/jmespath.lua - JMESPath (gameliftstreams.jmespath: lexer,
-- Pratt parser, evaluation, every built-in function) and the JSON texts it
-- reads and writes (gameliftstreams.json).
--
-- Input: the expression, a NUL byte, the JSON document (none: {}).
--
-- Bugs (raised as {bug=}), by DESIGN.md's contract: search_json raising on
-- a string expression; an error that is not a table with a code among
-- syntax, invalid-type, invalid-value, invalid-arity, unknown-function and a
-- string message; a result that is not a string of JSON that reads back;
-- search on the decoded document disagreeing with search_json.
local jmespath = require "gameliftstreams.jmespath"
local json = require "gameliftstreams.json"

local function bug(fmt, ...) error({ bug = fmt:format(...) }, 2) end

local CODES = { syntax = true, ["invalid-type"] = true, ["invalid-value"] = true,
                ["invalid-arity"] = true, ["unknown-function"] = true }

local function check_err(err, what)
  if type(err) ~= "table" or not CODES[err.code] or type(err.message) ~= "string" then
    bug("%s: an error outside the contract: %s", what,
        type(err) == "table" and ("code=" .. tostring(err.code)) or tostring(err))
  end
end

return function(data)
  local expr, doc = data:match("^([^%z]*)%z(.*)$")
  if not expr then expr, doc = data, "{}" end
  local ok, text, err = pcall(jmespath.search_json, expr, doc)
  if not ok then bug("search_json raised: %s", tostring(text)) end
  if text == nil then
    check_err(err, "search_json")
    return
  end
  if type(text) ~= "string" then bug("search_json gave a %s", type(text)) end
  local back, jerr = json.decode(text)
  if jerr then bug("search_json's result is not JSON: %q", text) end
  -- the same on Lua values
  local value = json.decode(doc)
  local ok2, result, err2 = pcall(jmespath.search, expr, value)
  if not ok2 then bug("search raised where search_json did not: %s", tostring(result)) end
  if result == nil then
    check_err(err2, "search")
    bug("search failed (%s) where search_json gave %q", tostring(err2.code), text)
  end
  if jmespath.type(result) ~= "expref" and json.encode(result) ~= text then
    bug("search and search_json disagree: %q vs %q", json.encode(result), text)
  end
  local _ = back
end
