-- --generate-cli-skeleton (no value, input, yaml-input, output) for every
-- operation, and --cli-input-json / --cli-input-yaml (values, file://, the
-- command line winning, every error), compared byte for byte (stdout, stderr,
-- exit code) with the AWS CLI v2 run with the same arguments against the same
-- emulator. Without /usr/bin/aws the comparisons are skipped; the checks on
-- glsrun's own output still run.
local cjson = require "cjson"
local helper = require "spec.helper"
local emulator = require "spec.support.emulator"
local clipeer = require "spec.support.clipeer"
local climodel = require "gameliftstreams.climodel"
local samples = require "spec.support.sample_inputs"

local have_aws, why = clipeer.available()
if not have_aws then print("skeleton_spec: " .. why) end

local SG = "sg-1AB2C3De4"

local function ops()
  local list = {}
  for cli, op in pairs(climodel.by_cli) do list[#list + 1] = { cli = cli, op = op } end
  table.sort(list, function(a, b) return a.cli < b.cli end)
  return list
end

-- Compares each glsrun result with the AWS CLI's for the same arguments.
local function same_as_aws(p, cases)
  local mine = {}
  for i, args in ipairs(cases) do mine[i] = p.glsrun(args) end
  if not have_aws then return mine end
  local theirs = p.aws_batch(cases)
  for i, args in ipairs(cases) do
    local what = table.concat(args, " ")
    assert.are.same({ rc = theirs[i].rc, stdout = theirs[i].stdout, stderr = theirs[i].stderr },
      { rc = mine[i].rc, stdout = mine[i].stdout, stderr = mine[i].stderr }, what)
  end
  return mine
end

describe("glsrun --generate-cli-skeleton", function()
  local p = clipeer.new { endpoint = "http://127.0.0.1:9" } -- never called: nothing is sent

  it("prints every operation's input skeleton (JSON, as no value and `input`) as the AWS CLI does", function()
    local cases = {}
    for _, o in ipairs(ops()) do
      cases[#cases + 1] = { o.cli, "--generate-cli-skeleton" }
      cases[#cases + 1] = { o.cli, "--generate-cli-skeleton", "input" }
    end
    local mine = same_as_aws(p, cases)
    assert.equal(60, #mine)
    for _, r in ipairs(mine) do
      assert.equal(0, r.rc)
      assert.equal("", r.stderr)
      assert.is_table(cjson.decode(r.stdout))
    end
  end)

  it("prints every operation's yaml-input skeleton, comments and their columns included", function()
    local cases = {}
    for _, o in ipairs(ops()) do cases[#cases + 1] = { o.cli, "--generate-cli-skeleton", "yaml-input" } end
    local mine = same_as_aws(p, cases)
    for _, r in ipairs(mine) do
      assert.equal(0, r.rc)
      assert.truthy(r.stdout:find("# [REQUIRED]", 1, true) or r.stdout:find("^%a"))
    end
    local r = p.glsrun { "create-stream-session-connection", "--generate-cli-skeleton", "yaml-input" }
    assert.truthy(r.stdout:find("SignalRequest: '' # [REQUIRED] A WebRTC ICE offer string", 1, true))
  end)

  it("validates the inputs (given by --cli-input-json) and prints every operation's sample output", function()
    local cases = {}
    for _, o in ipairs(ops()) do
      cases[#cases + 1] = { o.cli, "--generate-cli-skeleton", "output",
                            "--cli-input-json", cjson.encode(samples[o.op.name]) }
    end
    local mine = same_as_aws(p, cases)
    local ok = 0
    for _, r in ipairs(mine) do if r.rc == 0 then ok = ok + 1 end end
    assert.is_true(ok > 0)
    local r = p.glsrun { "create-stream-session-connection", "--generate-cli-skeleton", "output",
                         "--identifier", SG, "--stream-session-identifier", "ABC123def4567", "--signal-request", "x" }
    assert.equal('{\n    "SignalResponse": "SignalResponse"\n}\n', r.stdout)
  end)

  it("refuses what the AWS CLI refuses: a bad choice, `=input` (required options still checked), bad inputs", function()
    local mine = same_as_aws(p, {
      { "get-stream-session", "--generate-cli-skeleton", "inptu" },
      { "get-stream-session", "--generate-cli-skeleton=input" },
      { "get-stream-session", "--generate-cli-skeleton", "output" },
      { "get-stream-session", "--generate-cli-skeleton", "output", "--identifier", "sg-1",
        "--stream-session-identifier", "" },
      { "create-stream-session-connection", "--generate-cli-skeleton", "output", "--identifier", "sg-1",
        "--stream-session-identifier", "", "--signal-request", "x" },
      { "start-stream-session", "--generate-cli-skeleton", "output", "--identifier", SG, "--protocol", "WebRTC",
        "--signal-request", "x", "--application-identifier", "a-9ZY8X7Wv6" },
      { "get-stream-session", "--generate-cli-skeleton", "--bogus" },
    })
    for _, r in ipairs(mine) do assert.equal(252, r.rc) end
    assert.truthy(mine[1].stderr:find("argument --generate-cli-skeleton: Invalid choice", 1, true))
    assert.truthy(mine[5].stderr:find("Invalid length for parameter StreamSessionIdentifier, value: 0", 1, true))
    assert.truthy(mine[6].stderr:find("Invalid length for parameter RoleArn, value: 7, valid min length: 20", 1, true))
  end)
end)

describe("glsrun --cli-input-json / --cli-input-yaml against the emulator", function()
  local e, p, sid, dir

  setup(function()
    e = emulator.start { clock = "virtual" }
    p = clipeer.new { endpoint = e.url }
    assert(e.control:quotas { GetStreamSession = 0 })
    local c = e.client()
    local s = assert(c:start_stream_session { Identifier = SG, ApplicationIdentifier = "a-9ZY8X7Wv6",
      Protocol = "WebRTC", SignalRequest = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=spec\r\n" })
    sid = s.Arn:match("([^/]+)$")
    assert(e.control:advance(5))
    assert.equal("ACTIVE", assert(c:get_stream_session { Identifier = SG, StreamSessionIdentifier = sid }).Status)
    c:close()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. helper.quote(dir)))
  end)

  teardown(function()
    if e then e.stop() end
    if dir then os.execute("rm -rf " .. helper.quote(dir)) end
  end)

  it("reads the parameters from JSON and YAML, inline and from file://, the command line winning", function()
    local j = cjson.encode { Identifier = SG, StreamSessionIdentifier = sid }
    local y = ("Identifier: %s\nStreamSessionIdentifier: %s\n"):format(SG, sid)
    helper.write_file(dir .. "/in.json", j)
    helper.write_file(dir .. "/in.yaml", y)
    local mine = same_as_aws(p, {
      { "get-stream-session", "--cli-input-json", j },
      { "get-stream-session", "--cli-input-yaml", y },
      { "get-stream-session", "--cli-input-json", "file://" .. dir .. "/in.json" },
      { "get-stream-session", "--cli-input-yaml", "file://" .. dir .. "/in.yaml" },
      { "get-stream-session", "--cli-input-json", cjson.encode { Identifier = "sg-0NOPE0000",
        StreamSessionIdentifier = sid }, "--identifier", SG },
      { "get-stream-session", "--identifier", SG, "--cli-input-yaml", "StreamSessionIdentifier: " .. sid },
    })
    for _, r in ipairs(mine) do assert.equal(0, r.rc, r.stderr) end
    assert.equal(sid, cjson.decode(mine[1].stdout).Arn:match("([^/]+)$"))
    assert.equal(mine[1].stdout, mine[2].stdout)
    assert.equal(mine[1].stdout, mine[5].stdout)
  end)

  it("reports bad input as the AWS CLI does", function()
    local mine = same_as_aws(p, {
      { "get-stream-session", "--cli-input-json", "{" },
      { "get-stream-session", "--cli-input-json", "[1]" },
      { "get-stream-session", "--cli-input-json", "1" },
      { "get-stream-session", "--cli-input-json", "1.5" },
      { "get-stream-session", "--cli-input-json", "null" },
      { "get-stream-session", "--cli-input-json", '"s"' },
      { "get-stream-session", "--cli-input-yaml", "{:" },
      { "get-stream-session", "--cli-input-yaml", "[1]" },
      { "get-stream-session", "--cli-input-yaml", "yes" },
      { "get-stream-session", "--cli-input-yaml", "" },
      { "get-stream-session", "--cli-input-json", "{}", "--cli-input-yaml", "{}" },
      { "get-stream-session", "--cli-input-json", "file://" .. dir .. "/missing.json" },
      { "get-stream-session", "--cli-input-yaml", "fileb://" .. dir .. "/missing.yaml" },
      { "get-stream-session", "--cli-input-json", '{"Identifier": "' .. SG .. '"}' },
      { "get-stream-session", "--cli-input-json", '{"Identifier": 1, "StreamSessionIdentifier": "x"}' },
      { "get-stream-session", "--cli-input-json",
        '{"Identifier": [1, "a", {"b": null}], "StreamSessionIdentifier": 1.5}' },
      { "get-stream-session", "--cli-input-yaml",
        "Identifier: yes\nStreamSessionIdentifier: true\nX: {a: [1]}" },
      { "start-stream-session", "--cli-input-json",
        '{"Identifier": "sg-1", "Protocol": "WebRTC", "SignalRequest": "x", '
        .. '"ApplicationIdentifier": "a-1", "Locations": "us-east-1", "ConnectionTimeoutSeconds": "5", '
        .. '"AdditionalEnvironmentVariables": {"": 1}, "DisplayConfiguration": {"Resolution": {"Width": 1.0}}, '
        .. '"PerformanceStatsConfiguration": {"SharedWithClient": 1}}' },
      { "get-stream-session", "--cli-input-json", '{"Identifier": "sg-1", "Bogus": 1}',
        "--stream-session-identifier", "x" },
      { "get-stream-session", "--cli-input-json", cjson.encode { Identifier = SG,
        StreamSessionIdentifier = "ABC123def4567" } },
      { "get-stream-session", "--cli-input-json" },
    })
    for i, r in ipairs(mine) do
      assert.is_true(r.rc == 252 or r.rc == 254, tostring(i) .. ": " .. r.stderr)
      assert.equal("", r.stdout)
    end
    assert.equal("\nError parsing parameter 'cli-input-json': Invalid JSON received.\n", mine[1].stderr)
    assert.equal("\nOnly one --cli-input- parameter may be specified.\n", mine[11].stderr)
  end)
end)
