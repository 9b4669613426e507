-- Every case of the service's endpoint rule-set tests, through the client
-- (dry_run shows the URL; the injected environment keeps the machine's
-- AWS_* variables and files out of it).
local helper = require "spec.helper"
local gls = require "gameliftstreams"
local cjson = require "cjson"

local KEY = { access_key_id = "AKIDEXAMPLE", secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" }
local TESTS = helper.shared .. "/reference/gameliftstreams/endpoint-tests-1.json"
local cases = cjson.decode(helper.read_file(TESTS)).testCases

describe("endpoint rule set", function()
  it("has its test cases", function()
    assert.is_true(#cases >= 9)
  end)
  for i, case in ipairs(cases) do
    it(("case %d: %s"):format(i, case.documentation), function()
      local p = case.params or {}
      -- with no region there is nothing to sign for: resolve unsigned
      local c = gls.client{ region = p.Region, endpoint_url = p.Endpoint, use_fips_endpoint = p.UseFIPS or false,
        credentials = KEY, dry_run = true, environment = {}, no_sign_request = p.Region == nil }
      local out, err = c:list_stream_groups{}
      c:close()
      if case.expect.endpoint then
        assert.is_nil(err)
        local want = case.expect.endpoint.url
        assert.equal(want .. "/streamgroups", out.url)
      else
        assert.is_nil(out)
        assert.matches(case.expect.error, err.message, 1, true)
      end
    end)
  end

  it("puts an unknown region in the aws partition, and cn regions in aws-cn", function()
    local function url(region, fips)
      local c = gls.client{ region = region, use_fips_endpoint = fips, credentials = KEY, dry_run = true,
        environment = {} }
      local out = assert(c:list_stream_groups{})
      c:close()
      return out.url
    end
    assert.equal("https://gameliftstreams.xx-nowhere-9.api.aws/streamgroups", url("xx-nowhere-9"))
    assert.equal("https://gameliftstreams.cn-north-1.api.amazonwebservices.com.cn/streamgroups", url("cn-north-1"))
    assert.equal("https://gameliftstreams-fips.eusc-de-east-1.api.amazonwebservices.eu/streamgroups",
      url("eusc-de-east-1", true))
    assert.equal("https://gameliftstreams.us-isob-east-1.api.aws.scloud/streamgroups", url("us-isob-east-1"))
  end)
end)
