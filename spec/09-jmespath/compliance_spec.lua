-- The JMESPath compliance suite (jmespath/jmespath.test, in shared/):
-- every case of every file, each its own test.
local json = require "gameliftstreams.json"
local jmespath = require "gameliftstreams.jmespath"
local helper = require "spec.helper"

local dir = helper.shared .. "/jmespath-compliance"
local files = {}
do
  local p = io.popen("ls " .. helper.quote(dir) .. "/*.json 2>/dev/null")
  for line in p:lines() do files[#files + 1] = line end
  p:close()
end

-- JSON text with every object's keys sorted: compares objects by content,
-- arrays by content and order.
local function canon(v) return json.encode(v, { sort_keys = true }) end

describe("JMESPath compliance", function()
  it("finds the suite in " .. dir, function()
    assert.is_true(#files >= 13, "no compliance files under " .. dir)
  end)

  for _, path in ipairs(files) do
    local name = path:match("([^/]+)%.json$")
    local groups = assert(json.decode(helper.read_file(path)))
    for g, group in ipairs(groups) do
      for _, case in ipairs(group.cases) do
        it(("%s #%d %s"):format(name, g, case.expression), function()
          local result, err = jmespath.search(case.expression, group.given)
          if case.error then
            assert.is_nil(result)
            assert.is_table(err, "expected a " .. case.error .. " error, got " .. canon(result))
            assert.equal(case.error, err.code)
            assert.is_string(err.message)
          elseif case.bench then
            assert.is_nil(err and err.message)   -- timing cases: run once, as smoke
          else
            assert.is_nil(err and err.message)
            assert.equal(canon(case.result), canon(result))
          end
        end)
      end
    end
  end
end)
