-- glsrun OPERATION: what only glsrun has to show (no AWS CLI needed): --debug
-- says what was sent and received and never a secret, the exit codes of
-- DESIGN.md, and the awscli rules of gameliftstreams.cli in isolation.
local helper = require "spec.helper"
local emulator = require "spec.support.emulator"
local cli = require "gameliftstreams.cli"
local json = require "gameliftstreams.json"

local clisup = require "spec.support.cli"

local quote = helper.quote
local KEY = emulator.KEY

local home

local function base_env() return clisup.env(home, KEY) end

--- build/glsrun argv under env; returns out, err, code.
local function glsrun(argv, env) return clisup.run("glsrun", argv, env or base_env()) end

describe("glsrun OPERATION #cli", function()
  local e
  setup(function()
    home = clisup.scratch_home()
    e = emulator.start { clock = "virtual" }
    assert(e.control:quotas { ["*"] = 0 })
  end)
  teardown(function()
    if e then e.stop() end
    os.execute("rm -rf " .. quote(home))
  end)

  describe("--debug", function()
    it("shows the request and the response with every secret redacted", function()
      local offer = "OFFER-v=0-o=secret-sdp-" .. ("x"):rep(40)
      local env = base_env()
      local out, err, code = glsrun({ "start-stream-session", "--identifier", "sg-1AB2C3De4", "--protocol", "WebRTC",
        "--signal-request", offer, "--application-identifier", "a-9ZY8X7Wv6", "--debug",
        "--endpoint-url", e.url }, env)
      assert.are.equal(0, code, err)
      -- stdout is the answer as usual (the user asked for it)
      local answer = json.decode(out)
      assert.are.equal(offer, answer.SignalRequest)
      -- stderr: what went and came, not the secrets
      assert.matches("Calling StartStreamSession with params", err, 1, true)
      assert.matches("Sending http request: POST " .. e.url .. "/streamgroups/sg-1AB2C3De4/streamsessions",
        err, 1, true)
      assert.matches("Response: status 201", err, 1, true)
      assert.matches('"SignalRequest": "*** SENSITIVE ***"', err, 1, true)
      assert.matches("Authorization: *** REDACTED ***", err, 1, true)
      for _, secret in ipairs { offer, "o=secret-sdp", KEY.secret_access_key, "Signature=" } do
        assert.is_nil(err:find(secret, 1, true), "stderr shows " .. secret)
      end
    end)

    it("redacts the session token (the emulator refuses it: 254)", function()
      local env = base_env()
      env.AWS_SESSION_TOKEN = "TOKEN-SHOULD-NEVER-SHOW"
      local _, err, code = glsrun({ "list-applications", "--debug", "--endpoint-url", e.url }, env)
      assert.are.equal(254, code)
      assert.matches("X-Amz-Security-Token: *** REDACTED ***", err, 1, true)
      assert.is_nil(err:find(env.AWS_SESSION_TOKEN, 1, true), "stderr shows the session token")
    end)

    it("redacts the SignalResponse of create-stream-session-connection", function()
      local started = json.decode((glsrun({ "start-stream-session", "--identifier", "sg-1AB2C3De4", "--protocol",
        "WebRTC", "--signal-request", "first-offer", "--application-identifier", "a-9ZY8X7Wv6",
        "--endpoint-url", e.url })))
      e.control:advance(60)
      e.control:connect(started.Arn)
      e.control:disconnect(started.Arn)
      local out, err, code = glsrun({ "create-stream-session-connection", "--identifier", "sg-1AB2C3De4",
        "--stream-session-identifier", started.Arn, "--signal-request", "second-offer-SECRET",
        "--debug", "--endpoint-url", e.url })
      assert.are.equal(0, code, err)
      local answer = json.decode(out).SignalResponse
      assert.is_string(answer)
      assert.is_true(#answer > 0)
      assert.is_nil(err:find(answer, 1, true), "stderr shows the SignalResponse")
      assert.is_nil(err:find("second-offer-SECRET", 1, true), "stderr shows the SignalRequest")
      assert.matches('"SignalResponse": "*** SENSITIVE ***"', err, 1, true)
    end)

    it("an error's code and message, still without secrets", function()
      local _, err, code = glsrun({ "get-stream-group", "--identifier", "sg-nope", "--debug", "--endpoint-url", e.url })
      assert.are.equal(254, code)
      assert.matches("Response: status 404, request id [%w%-]+, error ResourceNotFoundException", err)
      assert.matches("\nAn error occurred (ResourceNotFoundException) when calling the GetStreamGroup operation: ",
        err, 1, true)
      assert.is_nil(err:find(KEY.secret_access_key, 1, true))
    end)
  end)

  describe("exit codes (DESIGN.md)", function()
    it("0 on success", function()
      local _, _, code = glsrun({ "get-application", "--identifier", "a-9ZY8X7Wv6", "--endpoint-url", e.url })
      assert.are.equal(0, code)
    end)
    it("252 on a bad command line", function()
      local out, err, code = glsrun({ "get-application", "--endpoint-url", e.url })
      assert.are.equal(252, code)
      assert.are.equal("", out)
      local tail = "aws: error: the following arguments are required: --identifier\n\n"
      assert.are.equal(tail, err:sub(-#tail))
    end)
    it("253 without credentials", function()
      local env = base_env()
      env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY = nil, nil
      local _, err, code = glsrun({ "list-applications", "--endpoint-url", e.url }, env)
      assert.are.equal(253, code)
      assert.are.equal('\nUnable to locate credentials. You can configure credentials by running '
        .. '"aws configure".\n', err)
    end)
    it("254 on a service error", function()
      local _, err, code = glsrun({ "get-application", "--identifier", "a-000000000", "--endpoint-url", e.url })
      assert.are.equal(254, code)
      assert.matches("^\nAn error occurred %(ResourceNotFoundException%) when calling the GetApplication "
        .. "operation: ", err)
    end)
    it("255 when nothing answers", function()
      local _, err, code = glsrun({ "list-applications", "--endpoint-url", "http://127.0.0.1:9",
        "--cli-connect-timeout", "2" })
      assert.are.equal(255, code)
      assert.matches('Could not connect to the endpoint URL: "http://127.0.0.1:9/applications"', err, 1, true)
    end)
    it("global options before the operation reach the CLI", function()
      local out, err, code = glsrun({ "--endpoint-url", e.url, "--query", "Id", "get-application",
        "--identifier", "a-9ZY8X7Wv6" })
      assert.are.equal(0, code, err)
      assert.are.equal('"a-9ZY8X7Wv6"\n', out)
    end)
    it("--version prints glsrun's version", function()
      local out, _, code = glsrun({ "list-applications", "--version" })
      assert.are.equal(0, code)
      assert.matches("^glsrun/", out)
    end)
  end)

  describe("awscli's rules, one by one", function()
    it("timestamps as datetime.fromtimestamp(v, tzlocal()).isoformat()", function()
      -- TZ is the process's; the spec runs with whatever it has, so compare
      -- the parts that do not depend on it and the offset's form
      local s = cli.iso_timestamp(1796218938.223)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.223000[+-]%d%d:%d%d$", s)
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[+-]%d%d:%d%d$", cli.iso_timestamp(1796218938))
    end)
    it("Python's repr of a str", function()
      assert.are.equal("'x'", cli.py_repr("x"))
      assert.are.equal('"it\'s"', cli.py_repr("it's"))
      assert.are.equal("'a\\nb'", cli.py_repr("a\nb"))
    end)
    it("'maybe you meant' from difflib's close matches", function()
      local out, err = {}, {}
      local sys = { stdout = { write = function(_, ...) for _, s in ipairs { ... } do out[#out + 1] = s end end,
                               flush = function() end },
                    stderr = { write = function(_, ...) for _, s in ipairs { ... } do err[#err + 1] = s end end,
                               flush = function() end } }
      local code = cli.main({ "get-stream-grop" }, sys)
      assert.are.equal(252, code)
      local text = table.concat(err)
      assert.matches("Invalid choice: 'get-stream-grop', maybe you meant:\n\n  * get-stream-group", text, 1, true)
      assert.are.equal("", table.concat(out))
    end)
    it("botocore's validation messages", function()
      local ok, f = pcall(cli.validate_input, require("gameliftstreams.climodel").by_cli["list-stream-groups"],
        json.decode('{"MaxResults": 0, "Bogus": [1, true, null]}'))
      assert.is_false(ok)
      assert.are.equal(252, f.rc)
      assert.are.equal("Parameter validation failed:\n"
        .. 'Unknown parameter in input: "Bogus", must be one of: NextToken, MaxResults\n'
        .. "Invalid value for parameter MaxResults, value: 0, valid min value: 1", f.text)
    end)
    it("--query errors worded as Python's jmespath", function()
      local jm = require "gameliftstreams.jmespath"
      local _, err = jm.compile("Items[")
      assert.are.equal('Invalid jmespath expression: Incomplete expression:\n"Items["\n       ^',
        cli.query_error_text(err, "Items["))
      _, err = jm.search("foo(@)", json.object())
      assert.are.equal("Unknown function: foo()", cli.query_error_text(err, "foo(@)"))
    end)
  end)
end)
