-- gameliftstreams.clioutput against the real `aws gameliftstreams ...`
-- (/usr/bin/aws, AWS CLI v2, taught the model with `aws configure add-model`
-- in a scratch HOME) talking to spec/support/fake_service.py: what the
-- whole CLI prints to a pipe (colorama's resets, the 80-column width when
-- stdout is not a terminal, pages of a listing) equals what clioutput makes
-- of the same responses.
local helper = require "spec.helper"
local json = require "gameliftstreams.json"
local clioutput = require "gameliftstreams.clioutput"
local server_mod = require "spec.support.server"

local REF = helper.shared .. "/reference/gameliftstreams/"
local quote = helper.quote

local function sh(cmd)
  local f = assert(io.popen(cmd))
  local out = f:read("a")
  local ok, _, code = f:close()
  return ok and 0 or code, out
end

local function available()
  local ok, why = server_mod.available()
  if not ok then return false, why end
  local code, out = sh("/usr/bin/aws --version 2>&1")
  if code ~= 0 or not out:match("^aws%-cli/2") then
    return false, "no AWS CLI v2 at /usr/bin/aws (apt-get install awscli)"
  end
  return true
end

describe("clioutput against the whole aws CLI v2 #cli", function()
  local server, home, env
  local ok, why = available()

  setup(function()
    if not ok then return end
    server = server_mod.start()
    home = os.tmpname()
    os.remove(home)
    assert(os.execute("mkdir -p " .. quote(home)))
    env = "HOME=" .. quote(home) .. " AWS_ACCESS_KEY_ID=AKIDEXAMPLE"
      .. " AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
      .. " AWS_DEFAULT_REGION=us-west-2 AWS_PAGER= AWS_CONFIG_FILE=/dev/null"
      .. " AWS_SHARED_CREDENTIALS_FILE=/dev/null"
    local code, out = sh(env .. " /usr/bin/aws configure add-model --service-model "
      .. quote("file://" .. REF .. "service-2.json") .. " --service-name gameliftstreams 2>&1")
    assert(code == 0, "aws configure add-model: " .. out)
    assert(os.execute("cp " .. quote(REF .. "paginators-1.json") .. " "
      .. quote(home .. "/.aws/models/gameliftstreams/2018-05-10/")))
  end)

  teardown(function()
    if server then server.stop() end
    if home then os.execute("rm -rf " .. quote(home)) end
  end)

  local function aws(args)
    local code, out = sh(env .. " /usr/bin/aws gameliftstreams " .. args .. " --endpoint-url "
      .. server.url .. " 2>/dev/null")
    assert(code == 0, "aws gameliftstreams " .. args .. " exited " .. tostring(code))
    return out
  end

  -- each aws run costs seconds of CPU: few, chosen to cover a structure, a
  -- paginated listing, and a scalar --query result
  local CALLS = {
    { "GetStreamGroup", "get-stream-group --identifier sg-1AB2C3De4" },
    { "ListApplications", "list-applications --page-size 2" },
    { "ListStreamGroups", "list-stream-groups --query Items[0].Arn" },
  }

  it("prints json, yaml and table (colour on and off) as aws does", function()
    if not ok then return pending(why) end
    local n = 0
    for _, c in ipairs(CALLS) do
      local text = aws(c[2] .. " --output json")
      local v = assert(json.decode(text))
      assert.are.equal(text, clioutput.format("json", v), c[2] .. " --output json")
      for _, f in ipairs({ { "yaml", "off" }, { "table", "on" }, { "table", "off" } }) do
        local want = aws(c[2] .. " --output " .. f[1] .. " --color " .. f[2])
        -- the query already ran in aws --output json
        local got = assert(clioutput.format(f[1], v, { title = c[1], color = f[2] == "on" }))
        assert.are.equal(want, got, c[2] .. " --output " .. f[1] .. " --color " .. f[2])
        n = n + 1
      end
    end
    assert.are.equal(#CALLS * 3, n)
  end)

  it("prints a listing page by page (text, yaml-stream) as aws does", function()
    if not ok then return pending(why) end
    for _, op in ipairs({ { "ListStreamGroups", "list-stream-groups" } }) do
      -- the pages aws fetches with --page-size 2, fetched one by one
      local pages, token = {}, nil
      repeat
        local page = assert(json.decode(aws(op[2] .. " --no-paginate --max-results 2 --output json"
          .. (token and (" --next-token " .. token) or ""))))
        pages[#pages + 1] = page
        token = page.NextToken
      until token == nil
      assert.is_true(#pages >= 2, "expected several pages")
      for _, f in ipairs({ "text", "yaml-stream" }) do
        local w = clioutput.new(f, { title = op[1] })
        local chunks = {}
        for _, p in ipairs(pages) do chunks[#chunks + 1] = assert(w:page(p)) end
        chunks[#chunks + 1] = assert(w:finish(nil))
        assert.are.equal(aws(op[2] .. " --page-size 2 --output " .. f), table.concat(chunks),
          op[2] .. " --output " .. f)
      end
    end
  end)
end)
