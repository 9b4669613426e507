-- --cli-auto-prompt as a person uses it: glsrun runs in a tmux pane against
-- the emulator, keys are typed into the pane (a partial operation name and
-- Tab, the required values, an option name completed by Tab), and the screen
-- is read back: the prompts, the completions, the command line built and the
-- call's output. Skipped (with a message) when tmux is absent.
local helper = require "spec.helper"
local emulator = require "spec.support.emulator"
local tmux = require "spec.support.tmux"

local quote = helper.quote
local pane = tmux.pane
local have_tmux = tmux.available()
if not have_tmux then print("autoprompt_spec: no tmux (apt-get install tmux): skipped") end

local SG = "sg-1AB2C3De4"

local function glsrun_cmd(url, args, env)
  return table.concat({
    "env", "HOME=" .. quote(os.getenv("HOME") or "/tmp"),
    "AWS_ACCESS_KEY_ID=" .. emulator.KEY.access_key_id,
    "AWS_SECRET_ACCESS_KEY=" .. quote(emulator.KEY.secret_access_key),
    "AWS_DEFAULT_REGION=us-west-2", "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", env or "",
    "build/glsrun", args, "--endpoint-url", url, "; echo EXIT=$?; sleep 60",
  }, " ")
end

local describe_tmux = have_tmux and describe or pending

describe_tmux("glsrun --cli-auto-prompt in a terminal", function()
  local e, sid, t

  setup(function()
    e = emulator.start { clock = "virtual" }
    local c = e.client()
    local s = assert(c:start_stream_session { Identifier = SG, ApplicationIdentifier = "a-9ZY8X7Wv6",
      Protocol = "WebRTC", SignalRequest = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=spec\r\n" })
    sid = s.Arn:match("([^/]+)$")
    assert(e.control:advance(5))
    c:close()
  end)

  teardown(function()
    if t then t.kill() end
    if e then e.stop() end
  end)

  after_each(function()
    if t then t.kill() end
    t = nil
  end)

  it("asks for the operation (Tab lists and completes), the required values, other options, and runs it", function()
    t = pane(glsrun_cmd(e.url, "--cli-auto-prompt"))
    t.wait_for("Operation: ")
    t.type("get-stream")
    t.key("Tab")
    t.wait_for("Operation: get-stream-")
    t.key("Tab") -- the second Tab lists what matches
    t.wait_for("get-stream-group  get-stream-session  get-stream-url")
    t.type("s")
    t.key("Tab")
    t.wait_for("Operation: get-stream-session ")
    t.key("Enter")
    t.wait_for("--identifier (string, required): ")
    t.type(SG)
    t.key("Enter")
    t.wait_for("--stream-session-identifier (string, required): ")
    t.type(sid)
    t.key("Enter")
    t.wait_for("Other options (Tab completes, Enter runs): ")
    t.type("--out")
    t.key("Tab")
    t.wait_for("Enter runs): --output ")
    t.type("js")
    t.key("Tab")
    t.wait_for("--output json ")
    t.key("Enter")
    local screen = t.wait_for("EXIT=")
    assert.truthy(screen:find(("glsrun get-stream-session --endpoint-url %s --identifier %s "
      .. "--stream-session-identifier %s --output json"):format(e.url, SG, sid), 1, true), screen)
    assert.truthy(screen:find('"Status": "ACTIVE"', 1, true), screen)
    assert.truthy(screen:find("EXIT=0", 1, true), screen)
  end)

  it("completes enum values, and with on-partial asks only for what the command line lacks", function()
    t = pane(glsrun_cmd(e.url, "create-stream-session-connection --identifier " .. SG
      .. " --signal-request x", "AWS_CLI_AUTO_PROMPT=on-partial"))
    local screen = t.wait_for("--stream-session-identifier (string, required): ")
    assert.falsy(screen:find("Operation:", 1, true))
    assert.falsy(screen:find("--identifier (string", 1, true))
    t.key("C-c")
    screen = t.wait_for("EXIT=")
    assert.truthy(screen:find("EXIT=130", 1, true), screen)

    t.kill()
    t = pane(glsrun_cmd(e.url, "--cli-auto-prompt"))
    t.wait_for("Operation: ")
    t.type("start-stream-se")
    t.key("Tab")
    t.key("Enter")
    t.wait_for("--identifier (string, required): ")
    t.type(SG)
    t.key("Enter")
    t.wait_for("--protocol (string, required): ")
    t.type("W")
    t.key("Tab")
    t.wait_for("--protocol (string, required): WebRTC ")
    t.key("C-d") -- not empty: ignored
    t.key("C-u")
    t.key("C-d") -- empty: gives up, nothing is run
    screen = t.wait_for("EXIT=")
    assert.truthy(screen:find("EXIT=0", 1, true), screen)
    assert.falsy(screen:find("glsrun start-stream-session", 1, true), screen)
  end)

  it("is not used when --no-cli-auto-prompt is given or stdin is not a terminal", function()
    t = pane(glsrun_cmd(e.url, "get-stream-session --no-cli-auto-prompt", "AWS_CLI_AUTO_PROMPT=on"))
    local screen = t.wait_for("EXIT=")
    assert.truthy(screen:find("the following arguments are required: --identifier, --stream-session-identifier", 1,
      true), screen)
    t.kill()
    t = pane(glsrun_cmd(e.url, "get-stream-session --cli-auto-prompt </dev/null"))
    screen = t.wait_for("EXIT=")
    assert.falsy(screen:find("required): ", 1, true), screen)
    assert.truthy(screen:find("EXIT=252", 1, true), screen)
  end)
end)

describe("the cli_auto_prompt setting", function()
  local cli = require "gameliftstreams.cli"
  local prompt = require "gameliftstreams.cliprompt"

  it("comes from --cli-auto-prompt / --no-cli-auto-prompt, then AWS_CLI_AUTO_PROMPT, then the profile's config",
    function()
      local dir = os.tmpname()
      helper.write_file(dir, "[default]\ncli_auto_prompt = on-partial\n[profile p]\ncli_auto_prompt = on\n")
      local function env(t) return function(k) return t[k] end end
      local cfg = { AWS_CONFIG_FILE = dir }
      assert.equal("on-partial", prompt.mode(cli, { "get-stream-session" }, env(cfg)))
      assert.equal("on", prompt.mode(cli, { "get-stream-session", "--profile", "p" }, env(cfg)))
      assert.equal("on", prompt.mode(cli, { "get-stream-session" }, env { AWS_CONFIG_FILE = dir, AWS_PROFILE = "p" }))
      assert.equal("off", prompt.mode(cli, { "x", "--no-cli-auto-prompt" }, env(cfg)))
      assert.equal("on", prompt.mode(cli, { "x", "--cli-auto-prompt" }, env { AWS_CLI_AUTO_PROMPT = "off" }))
      assert.equal("on-partial", prompt.mode(cli, { "x" }, env { AWS_CLI_AUTO_PROMPT = "on-partial",
        AWS_CONFIG_FILE = dir, AWS_PROFILE = "p" }))
      assert.equal("off", prompt.mode(cli, { "x" }, env { AWS_CONFIG_FILE = "/nonexistent" }))
      os.remove(dir)
    end)

  it("splits the typed options as a shell would", function()
    assert.same({ "--query", "Items[0].Id", "--x", "a b", "it's" },
      prompt.words([[--query Items[0].Id --x 'a b' "it's"]]))
    assert.same({ "a b" }, prompt.words([[a\ b]]))
  end)
end)
