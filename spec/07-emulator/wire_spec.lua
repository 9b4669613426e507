-- luacheck: std +busted
-- The emulator's wire helpers (core.emu_route, emu_verify, emu_input,
-- emu_output) against botocore: botocore serializes and signs every sample
-- input, the helpers must find the operation, accept the signature and give
-- back the very input; botocore's own parser must read emu_output's JSON
-- back to the values given, empty lists included.
local helper = require "spec.helper"
local cjson = require "cjson"
local core = require "gameliftstreams.core"
local inputs = require "spec.support.sample_inputs"

local MODEL = helper.shared .. "/reference/gameliftstreams/service-2.json"
local ENDPOINT = "https://gameliftstreams.us-west-2.amazonaws.com"
local AKID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local TOKEN_AKID, TOKEN_SECRET = "ASIAEXAMPLETOKEN", "c2VjcmV0LXdpdGgtYS10b2tlbi0wMTIzNDU2Nzg5"
local TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLXdlc3QtMiJHMEUCIQ=="
local CREDENTIALS = {
  [AKID] = { secret_access_key = SECRET },
  [TOKEN_AKID] = { secret_access_key = TOKEN_SECRET, session_token = TOKEN },
}
local MISMATCH = "The request signature we calculated does not match the signature you provided. "
  .. "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

local function botocore(payload)
  payload.model = MODEL
  return helper.python_json("spec/support/botocore_emuwire.py", payload)
end

local function python_ok()
  local p = io.popen("python3 -c 'import botocore.auth, botocore.parsers' 2>&1")
  local out = p:read("a")
  local ok = p:close()
  return ok, out
end

local function sorted_names()
  local names = {}
  for name in pairs(inputs) do names[#names + 1] = name end
  table.sort(names)
  return names
end

-- The request as the httpd hands it over (contract A): header_list as
-- received, headers lower-cased with repeats joined by ",".
local function as_req(r)
  local lower = {}
  for _, h in ipairs(r.headers) do
    local k = h[1]:lower()
    lower[k] = lower[k] and (lower[k] .. "," .. h[2]) or h[2]
  end
  return { method = r.method, path = r.path, query = r.query, header_list = r.headers,
           headers = lower, body = r.body }
end

-- route + verify + input, as the emulator runs them.
local function receive(r, now)
  local req = as_req(r)
  local akid, region_or_code, msg, status = core.emu_verify(req, { credentials = CREDENTIALS, now = now })
  if not akid then return nil, "verify", region_or_code, msg, status end
  local op, labels, lmsg, lstatus = core.emu_route(req.method, req.path)
  if not op then return nil, "route", labels, lmsg, lstatus end
  local input, code, imsg, istatus = core.emu_input(op, labels, req.query, req.headers, req.body)
  if not input then return nil, "input", code, imsg, istatus end
  return { op = op, input = input, akid = akid, region = region_or_code }
end

describe("emulator wire helpers #botocore", function()
  local available, why = python_ok()
  local now = os.time()

  describe("against botocore's requests", function()
    local signed, wrong, token, presigned
    setup(function()
      if not available then return end
      local cases = {}
      for _, name in ipairs(sorted_names()) do cases[#cases + 1] = { operation = name, input = inputs[name] } end
      local base = { mode = "requests", endpoint = ENDPOINT, region = "us-west-2", time = now, cases = cases }
      base.credentials = { access_key_id = AKID, secret_access_key = SECRET }
      signed = botocore(base).results
      base.credentials = { access_key_id = AKID, secret_access_key = "not-the-secret" }
      wrong = botocore(base).results
      base.credentials = { access_key_id = TOKEN_AKID, secret_access_key = TOKEN_SECRET, session_token = TOKEN }
      token = botocore(base).results
      local gets = {}
      for _, c in ipairs(cases) do
        local op = c.operation
        if op:match("^Get") or op:match("^List") then gets[#gets + 1] = c end
      end
      base.credentials = { access_key_id = AKID, secret_access_key = SECRET }
      base.cases, base.presign = gets, 300
      presigned = botocore(base).results
    end)

    it("route, verify and decode every operation to the sample input", function()
      if not available then return pending("needs python3 with botocore: " .. tostring(why)) end
      assert.equal(30, #signed)
      for _, r in ipairs(signed) do
        local got, stage, code, msg = receive(r, now)
        assert(got, r.operation .. ": " .. tostring(stage) .. " " .. tostring(code) .. ": " .. tostring(msg))
        assert.equal(r.operation, got.op)
        assert.equal(AKID, got.akid)
        assert.equal("us-west-2", got.region)
        assert.same(inputs[r.operation], got.input, r.operation .. ": the input comes back as given")
      end
    end)

    it("keep integers integers", function()
      if not available then return pending("needs python3 with botocore: " .. tostring(why)) end
      for _, r in ipairs(signed) do
        if r.operation == "ListStreamSessions" or r.operation == "StartStreamSession" then
          local got = assert(receive(r, now))
          local n = got.input.MaxResults or got.input.ConnectionTimeoutSeconds
          assert.equal("integer", math.type(n), r.operation)
        end
      end
    end)

    it("refuse botocore's signature with a wrong secret, for every operation", function()
      if not available then return pending("needs python3 with botocore: " .. tostring(why)) end
      assert.equal(30, #wrong)
      for _, r in ipairs(wrong) do
        local akid, code, msg, status = core.emu_verify(as_req(r), { credentials = CREDENTIALS, now = now })
        assert.is_nil(akid, r.operation)
        assert.equal("InvalidSignatureException", code)
        assert.equal(MISMATCH, msg)
        assert.equal(403, status)
      end
    end)

    it("accept botocore's session-token requests and refuse them when the token changes", function()
      if not available then return pending("needs python3 with botocore: " .. tostring(why)) end
      for _, r in ipairs(token) do
        local got, stage, code, msg = receive(r, now)
        assert(got, r.operation .. ": " .. tostring(stage) .. " " .. tostring(code) .. ": " .. tostring(msg))
        assert.equal(TOKEN_AKID, got.akid)
      end
      local r = token[1]
      local creds = { [TOKEN_AKID] = { secret_access_key = TOKEN_SECRET, session_token = TOKEN .. "x" } }
      local akid, code, msg = core.emu_verify(as_req(r), { credentials = creds, now = now })
      assert.is_nil(akid)
      assert.equal("UnrecognizedClientException", code)
      assert.equal("The security token included in the request is invalid.", msg)
      assert.is_nil(msg:find(TOKEN, 1, true))
    end)

    it("accept botocore's presigned (query) requests, and expire them", function()
      if not available then return pending("needs python3 with botocore: " .. tostring(why)) end
      assert.is_true(#presigned >= 10)
      for _, r in ipairs(presigned) do
        assert.matches("X-Amz-Signature=", r.query, 1, true)
        local akid, region = core.emu_verify(as_req(r), { credentials = CREDENTIALS, now = now + 10 })
        assert.equal(AKID, akid, r.operation .. ": " .. tostring(region))
        local a2, code, msg = core.emu_verify(as_req(r), { credentials = CREDENTIALS, now = now + 301 })
        assert.is_nil(a2)
        assert.equal("InvalidSignatureException", code)
        assert.equal("Request has expired.", msg)
      end
    end)

    it("give a nested call (from a metamethod, mid-verify) a context of its own", function()
      if not available then return pending("needs python3 with botocore: " .. tostring(why)) end
      local nested
      local creds = setmetatable({}, { __index = function(_, akid)
        -- runs inside the outer emu_verify, which is using the shared context
        nested = { core.emu_verify(as_req(token[1]), { credentials = CREDENTIALS, now = now }) }
        return CREDENTIALS[akid]
      end })
      local akid, region = core.emu_verify(as_req(signed[1]), { credentials = creds, now = now })
      assert.same({ TOKEN_AKID, "us-west-2" }, nested)
      assert.equal(AKID, akid, tostring(region))
      assert.equal("us-west-2", region)
    end)

    it("refuse a stale botocore request with the service's words", function()
      if not available then return pending("needs python3 with botocore: " .. tostring(why)) end
      local akid, code, msg, status = core.emu_verify(as_req(signed[1]), { credentials = CREDENTIALS, now = now + 301 })
      assert.is_nil(akid)
      assert.equal("InvalidSignatureException", code)
      assert.equal(403, status)
      assert.matches("^Signature expired: %d+T%d+Z is now earlier than %d+T%d+Z %(%d+T%d+Z %- 5 min%.%)$", msg)
    end)
  end)

  describe("emu_output", function()
    local model = cjson.decode(helper.read_file(MODEL))

    -- A value for every member of the shape. Lists get one element, or none
    -- when empty is set (their paths are recorded, as botocore_emuwire.py
    -- writes them).
    local function sample(shape_name, path, empty, empties, depth)
      local s = model.shapes[shape_name]
      if s.type == "structure" then
        local t = {}
        for name, m in pairs(s.members) do
          if not m.location and depth < 6 then
            local p = path == "" and name or (path .. "." .. name)
            t[name] = sample(m.shape, p, empty, empties, depth + 1)
          end
        end
        return t
      elseif s.type == "list" then
        if empty then
          empties[#empties + 1] = path
          return {}
        end
        return { sample(s.member.shape, path .. ".1", empty, empties, depth + 1) }
      elseif s.type == "map" then
        return { k1 = sample(s.value.shape, path .. ".k1", empty, empties, depth + 1) }
      elseif s.type == "string" then
        return s.enum and s.enum[#s.enum] or ("v-" .. shape_name .. " é/+=")
      elseif s.type == "integer" then
        return 7
      elseif s.type == "long" then
        return 1 << 40
      elseif s.type == "boolean" then
        return false
      elseif s.type == "timestamp" then
        return 1700000000.25
      elseif s.type == "double" or s.type == "float" then
        return 1.5
      end
      error("shape type " .. s.type)
    end

    it("round-trips through botocore's parser for every operation, empty lists included", function()
      if not available then return pending("needs python3 with botocore: " .. tostring(why)) end
      local cases, expect, empties_of = {}, {}, {}
      for _, name in ipairs(sorted_names()) do
        local op = model.operations[name]
        if op.output then
          for _, empty in ipairs({ false, true }) do
            local empties = {}
            local out = sample(op.output.shape, "", empty, empties, 0)
            local text = core.emu_output(name, out)
            assert.is_string(text)
            cases[#cases + 1] = { operation = name, body = text }
            expect[#cases] = out
            table.sort(empties)
            empties_of[#cases] = empties
          end
        else
          assert.equal("", core.emu_output(name, {}), name .. ": no output shape, no body")
        end
      end
      assert.equal(50, #cases) -- 25 operations with an output, twice
      local res = botocore({ mode = "parse", cases = cases }).results
      local saw_empty = 0
      for i, r in ipairs(res) do
        assert.same(expect[i], r.parsed, cases[i].operation .. ": botocore reads back what was given")
        table.sort(r.empty_lists)
        assert.same(empties_of[i], r.empty_lists, cases[i].operation .. ": empty lists stay lists")
        saw_empty = saw_empty + #r.empty_lists
      end
      assert.is_true(saw_empty > 20, "the empty variants had empty lists to check")
    end)

    it("writes lists as arrays, drops unknown members and absent ones", function()
      local text = core.emu_output("ListStreamGroups", { Items = {}, Junk = { 1, 2 } })
      assert.equal('{"Items":[]}', text)
      text = core.emu_output("ListTagsForResource", { Tags = {} })
      assert.equal('{"Tags":{}}', text)
    end)

    it("raises on values of the wrong type, naming the member", function()
      local ok, err = pcall(core.emu_output, "GetStreamGroup", { DefaultApplication = { Id = 5 } })
      assert.is_false(ok)
      assert.matches("'DefaultApplication.Id': a string expected, got number", err, 1, true)
      ok, err = pcall(core.emu_output, "ListStreamGroups", { Items = { x = 1 } })
      assert.is_false(ok)
      assert.matches("'Items': a sequence expected", err, 1, true)
      ok, err = pcall(core.emu_output, "ListApplicationShaderCaches", { Items = { { StorageBytes = 1.5 } } })
      assert.is_false(ok)
      assert.matches("'Items[1].StorageBytes': an integer expected", err, 1, true)
      ok, err = pcall(core.emu_output, "NoSuchOperation", {})
      assert.is_false(ok)
      assert.matches("unknown operation 'NoSuchOperation'", err, 1, true)
    end)
  end)

  describe("errors in the service's words", function()
    it("validation: the contract's (Coral) format", function()
      local input, code, msg, status = core.emu_input("CreateStreamSessionConnection",
        { Identifier = "sg-1", StreamSessionIdentifier = "s-1" }, "", {}, "{}")
      assert.is_nil(input)
      assert.equal("ValidationException", code)
      assert.equal(400, status)
      assert.equal("1 validation error detected: Value null at 'signalRequest' failed to satisfy "
        .. "constraint: Member must not be null", msg)

      input, code, msg = core.emu_input("UpdateApplication", { Identifier = "x y" }, "", {},
        '{"Description":""}')
      assert.is_nil(input)
      assert.equal("ValidationException", code)
      assert.equal("3 validation errors detected: Value 'x y' at 'identifier' failed to satisfy "
        .. "constraint: Member must satisfy regular expression pattern: "
        .. "(^[a-zA-Z0-9-]+$)|(^arn:aws:gameliftstreams:([^: ]*):([0-9]{12}):([^: ]*)$); "
        .. "Value '' at 'description' failed to satisfy constraint: Member must have length "
        .. "greater than or equal to 1; Value '' at 'description' failed to satisfy constraint: "
        .. "Member must satisfy regular expression pattern: [a-zA-Z0-9-_.!+@/][a-zA-Z0-9-_.!+@/ ]*", msg)
    end)

    it("never echoes a sensitive value", function()
      local secret_offer = string.rep("v=0 offer ", 10)
      local input, code, msg = core.emu_input("StartStreamSession", { Identifier = "sg 1" }, "", {},
        cjson.encode({ ApplicationIdentifier = "a-1", Protocol = "nope", SignalRequest = secret_offer }))
      assert.is_nil(input)
      assert.equal("ValidationException", code)
      assert.is_nil(msg:find("offer", 1, true))
      assert.matches("Value 'nope' at 'protocol' failed to satisfy constraint: "
        .. "Member must satisfy enum value set: [WebRTC]", msg, 1, true)
      input, code, msg = core.emu_input("CreateStreamSessionConnection",
        { Identifier = "sg-1", StreamSessionIdentifier = "s-1" }, "", {}, '{"SignalRequest":""}')
      assert.is_nil(input)
      assert.equal("ValidationException", code)
      assert.matches("Value '***' at 'signalRequest'", msg, 1, true)
    end)

    it("serialization errors name the member", function()
      local input, code, msg, status = core.emu_input("ListStreamGroups", {}, "MaxResults=ten", {}, "")
      assert.is_nil(input)
      assert.equal("SerializationException", code)
      assert.equal(400, status)
      assert.equal("STRING_VALUE can not be converted to an Integer at 'maxResults'", msg)
      input, code = core.emu_input("UpdateApplication", { Identifier = "a-1" }, "", {}, "not json")
      assert.is_nil(input)
      assert.equal("SerializationException", code)
    end)

    it("routing: 404 and 405", function()
      local op, code, msg, status = core.emu_route("GET", "/nope")
      assert.is_nil(op)
      assert.equal("UnknownOperationException", code)
      assert.equal(404, status)
      assert.is_string(msg)
      op, code, msg, status = core.emu_route("PUT", "/streamgroups/sg-1/streamsessions/s-1")
      assert.is_nil(op)
      assert.equal("UnknownOperationException", code)
      assert.equal(405, status)
      assert.matches("DELETE, GET", msg, 1, true)
      local labels
      op, labels = core.emu_route("GET", "/streamgroups/sg-1/streamsessions/s%2D1")
      assert.equal("GetStreamSession", op)
      assert.same({ Identifier = "sg-1", StreamSessionIdentifier = "s-1" }, labels)
    end)

    it("misuse raises", function()
      assert.has_error(function() core.emu_input("Nope", {}, "", {}, "") end)
      assert.has_error(function() core.emu_verify({}, { credentials = CREDENTIALS, now = 1 }) end)
      assert.has_error(function() core.emu_verify({ method = "GET", path = "/" }, { now = 1 }) end)
      local req = { method = "GET", path = "/applications", query = "", body = "",
        header_list = { { "Host", "h" }, { "X-Amz-Date", "20240101T000000Z" },
          { "Authorization", "AWS4-HMAC-SHA256 Credential=" .. AKID
            .. "/20240101/us-west-2/gameliftstreams/aws4_request, "
            .. "SignedHeaders=host;x-amz-date, Signature=" .. string.rep("0", 64) } } }
      assert.has_error(function()
        core.emu_verify(req, { credentials = { [AKID] = "not a table" }, now = 1704067200 })
      end)
    end)
  end)

  describe("throughput", function()
    it("route + verify + input well above 5,000 requests/s on one core", function()
      if not available then return pending("needs python3 with botocore: " .. tostring(why)) end
      local r = botocore({ mode = "requests", endpoint = ENDPOINT, region = "us-west-2", time = now,
        credentials = { access_key_id = AKID, secret_access_key = SECRET },
        cases = { { operation = "CreateStreamSessionConnection",
                    input = inputs.CreateStreamSessionConnection } } }).results[1]
      local n = 5000
      local t0 = os.clock()
      for _ = 1, n do assert(receive(r, now)) end
      local rate = n / (os.clock() - t0)
      -- generous floor: sanitizer-free builds do far more; the httpd and the
      -- emulator logic share the rest of the budget
      assert.is_true(rate > 5000, ("only %.0f requests/s"):format(rate))
    end)
  end)
end)
