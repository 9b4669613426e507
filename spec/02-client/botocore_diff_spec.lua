-- Differential: for the same input, gls sends the same method, path, query
-- and body as botocore (ClientToken aside), for all 30 operations; and every
-- input botocore's validator refuses, gls refuses too, naming the member.
local server_mod = require "spec.support.server"
local helper = require "spec.helper"
local gls = require "gameliftstreams"
local cjson = require "cjson"
local inputs = require "spec.support.sample_inputs"

local MODEL = helper.shared .. "/reference/gameliftstreams/service-2.json"
local KEY = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }

local function botocore(payload)
  return helper.python_json("spec/support/botocore_request.py", payload)
end

describe("gls and botocore #botocore #network", function()
  local server, client
  local available, why = server_mod.available()
  setup(function()
    if not available then return end
    server = server_mod.start()
    client = gls.client{ region = "us-west-2", endpoint_url = server.url, credentials = KEY }
  end)
  teardown(function()
    if client then client:close() end
    if server then server.stop() end
  end)

  it("send the same request for every operation", function()
    if not available then return pending("needs python3 with botocore: " .. tostring(why)) end
    local names = {}
    for name in pairs(gls.operations) do names[#names + 1] = name end
    table.sort(names)
    assert.equal(30, #names)
    local cases = {}
    for _, name in ipairs(names) do
      server.reset()
      local out, err = client:call(name, inputs[name])
      assert(out, name .. ": " .. tostring(err))
      local req = server.requests()[1]
      assert.is_true(req.signature_ok, name .. ": botocore accepts gls's signature")
      assert.equal(name, req.operation)
      cases[#cases + 1] = { operation = name, input = inputs[name],
        gls = { method = req.method, path = req.path, query = req.query, body = req.body } }
    end
    local res = botocore{ model = MODEL, endpoint = server.url, cases = cases }
    assert.equal(30, #res.results)
    for _, r in ipairs(res.results) do
      assert.is_true(r.same, r.operation .. ": " .. table.concat(r.diffs, "; "))
    end
  end)

  it("refuse what botocore's validator refuses", function()
    if not available then return pending("needs python3 with botocore: " .. tostring(why)) end
    local bad = {
      { "CreateStreamSessionConnection", { Identifier = "sg-1", StreamSessionIdentifier = "s-1" }, "SignalRequest" },
      { "CreateStreamSessionConnection", { Identifier = "", StreamSessionIdentifier = "s-1", SignalRequest = "o" },
        "Identifier" },
      { "ListStreamSessions", { Identifier = "sg-1", MaxResults = 0 }, "MaxResults" },
      { "ListStreamSessions", { Identifier = "sg-1", MaxResults = "ten" }, "MaxResults" },
      { "GetStreamGroup", { Identifier = "sg-1", Bogus = true }, "Bogus" },
      { "StartStreamSession", { Identifier = "sg-1", ApplicationIdentifier = "a-1", Protocol = "WebRTC",
        SignalRequest = "o", ConnectionTimeoutSeconds = 0 }, "ConnectionTimeoutSeconds" },
      { "StartStreamSession", { Identifier = "sg-1", ApplicationIdentifier = "a-1", Protocol = "WebRTC",
        SignalRequest = "o", PerformanceStatsConfiguration = { SharedWithClient = "yes" } }, "SharedWithClient" },
      { "CreateStreamUrl", { Identifier = "sg-1", ApplicationIdentifier = "a-1", Protocol = "WebRTC",
        UrlExpiresAfterMinutes = 5, Locations = {} }, "Locations" },
      { "TagResource", { ResourceArn = "arn:aws:gameliftstreams:us-west-2:111122223333:streamgroup/sg-1",
        Tags = { [""] = "v" } }, "Tags" },
    }
    local cases = {}
    for _, b in ipairs(bad) do cases[#cases + 1] = { operation = b[1], input = b[2] } end
    -- cjson turns {} into an object; botocore wants a list for Locations
    cases[8].input.Locations = cjson.empty_array or setmetatable({}, cjson.array_mt)
    local res = botocore{ mode = "validate", model = MODEL, cases = cases }
    for i, b in ipairs(bad) do
      assert.is_true(#res.results[i] > 0, b[1] .. " #" .. i .. ": botocore refuses it too")
      local out, err = client:call(b[1], b[2])
      assert.is_nil(out, b[1] .. " #" .. i)
      assert.equal("ParamValidation", err.code)
      assert.matches(b[3], err.message, 1, true)
    end
  end)
end)
