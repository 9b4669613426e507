std = "lua54"
max_line_length = 120
files["lua/gameliftstreams/model.lua"] = { max_line_length = false }
files["spec/"] = { std = "+busted" }
exclude_files = { "build/", "lua_modules/", ".luarocks/" }

-- Policy scripts (examples/policies/) see only what gameliftstreams.policy's
-- sandbox gives them: lint them against exactly that.
local function fields(list)
  local t = {}
  for _, k in ipairs(list) do t[k] = {} end
  return { fields = t }
end
stds.glspolicy = {
  read_globals = {
    "assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget", "rawlen", "rawset", "select",
    "setmetatable", "getmetatable", "tonumber", "tostring", "type", "xpcall", "_G",
    string = fields({ "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "pack",
                      "packsize", "rep", "reverse", "sub", "unpack", "upper" }),
    table = fields({ "concat", "insert", "move", "pack", "remove", "sort", "unpack" }),
    math = fields({ "abs", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge", "log", "max", "maxinteger",
                    "min", "mininteger", "modf", "pi", "rad", "random", "sin", "sqrt", "tan", "tointeger",
                    "type", "ult", "acos", "asin", "atan" }),
    utf8 = fields({ "char", "charpattern", "codepoint", "codes", "len", "offset" }),
    os = fields({ "time", "clock", "date" }),
    gls = { fields = { json = fields({ "encode", "decode", "null" }), sha256_hex = {}, log = {}, now = {} } },
  },
}
files["examples/policies/"] = { std = "glspolicy" }
