-- SigV4 rules that the shared vectors do not exercise, S3-style paths,
-- sign_body, payload hash override, the key cache, and misuse.
--
-- Expected values are independent of gls: canonical requests are written
-- out by hand from the README's rules, and signatures are computed from
-- them with the openssl command-line tool (SHA-256 and the HMAC chain).
local sigv4 = require("gameliftstreams.sigv4")

local AKID = "AKIDEXAMPLE"
local SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
local T = 1440938160 -- 2015-08-30T12:36:00Z
local AMZ_DATE = "20150830T123600Z"
local EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- Runs `openssl dgst -sha256 [args]` over data; returns the hex digest.
local function openssl(args, data)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  local p = assert(io.popen("openssl dgst -sha256 -r " .. args .. " " .. path))
  local out = p:read("a")
  p:close()
  os.remove(path)
  return assert(out:match("^(%x+)"), "openssl failed: " .. out)
end

local function sha256(data) return openssl("", data) end
local function hmac(keyhex, data) return openssl("-mac HMAC -macopt hexkey:" .. keyhex, data) end

-- The README's steps 2-4 from a canonical request.
local function expected_signature(cr, opts)
  opts = opts or {}
  local date = opts.amz_date or AMZ_DATE
  local region, service = opts.region or "us-east-1", opts.service or "service"
  local scope = date:sub(1, 8) .. "/" .. region .. "/" .. service .. "/aws4_request"
  local sts = "AWS4-HMAC-SHA256\n" .. date .. "\n" .. scope .. "\n" .. sha256(cr)
  local k = hmac(hex("AWS4" .. (opts.secret or SECRET)), date:sub(1, 8))
  k = hmac(k, region)
  k = hmac(k, service)
  k = hmac(k, "aws4_request")
  return hmac(k, sts), sts
end

local function base(t)
  local input = {
    method = "GET", path = "/",
    headers = { { "Host", "example.amazonaws.com" } },
    access_key_id = AKID, secret_access_key = SECRET,
    region = "us-east-1", service = "service", time = T,
  }
  for k, v in pairs(t or {}) do input[k] = v end
  return input
end

-- Header-form canonical request with only host and x-amz-date signed.
local function header_cr(method, uri, query, payload)
  return method .. "\n" .. uri .. "\n" .. (query or "") .. "\n"
    .. "host:example.amazonaws.com\nx-amz-date:" .. AMZ_DATE .. "\n\n"
    .. "host;x-amz-date\n" .. (payload or EMPTY)
end

local function check(input, cr, opts)
  local r = sigv4.sign(input)
  assert.are.equal(cr, r.canonical_request)
  local sig, sts = expected_signature(cr, opts)
  assert.are.equal(sts, r.string_to_sign)
  assert.are.equal(sig, r.signature)
  return r
end

local function header(r, name)
  local found
  for _, h in ipairs(r.headers) do
    if h[1]:lower() == name:lower() then found = h[2] end
  end
  return found
end

describe("sigv4 rules", function()
  it("checks the independent oracle against get-vanilla's published signature", function()
    assert.are.equal("5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
      (expected_signature(header_cr("GET", "/", ""))))
  end)

  describe("canonical query", function()
    it("sorts duplicate keys by value", function()
      check(base { query = "a=2&a=1" }, header_cr("GET", "/", "a=1&a=2"))
    end)

    it("gives a key without '=' an empty value", function()
      check(base { query = "key&a=b" }, header_cr("GET", "/", "a=b&key="))
    end)

    it("sorts by encoded bytes: %E1.. before P, Param before Param-3", function()
      check(base { query = "Param-3=Value3&Param=Value2&%E1%88%B4=Value1" },
        header_cr("GET", "/", "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"))
    end)

    it("re-encodes with upper-case hex, and raw bytes are encoded", function()
      check(base { query = "k=%c3%a9&\xe1\x88\xb4=v" },
        header_cr("GET", "/", "%E1%88%B4=v&k=%C3%A9"))
    end)

    it("encodes '/', a literal '+' and reserved characters; keeps unreserved", function()
      check(base { query = "a=b+c&p=x/y:z&u=AZaz09-._~&s=%20" },
        header_cr("GET", "/", "a=b%2Bc&p=x%2Fy%3Az&s=%20&u=AZaz09-._~"))
    end)

    it("skips empty pairs", function()
      check(base { query = "b=1&&a=2&" }, header_cr("GET", "/", "a=2&b=1"))
    end)

    it("keeps an empty key with its value", function()
      check(base { query = "=v" }, header_cr("GET", "/", "=v"))
    end)
  end)

  describe("canonical URI", function()
    it("encodes '$' and other reserved characters in the path, upper-case hex", function()
      check(base { path = "/a$b/c:d@e!f" }, header_cr("GET", "/a%24b/c%3Ad%40e%21f"))
    end)

    it("encodes an already-encoded ARN again (double encoding)", function()
      local arn = "arn%3Aaws%3Agameliftstreams%3Aus-west-2%3A111122223333%3Astreamgroup%2Fsg-1"
      check(base { path = "/streamgroups/" .. arn .. "/connections" },
        header_cr("GET", "/streamgroups/" .. arn:gsub("%%", "%%25") .. "/connections"))
    end)

    it("normalizes dot segments and repeated slashes, keeps a trailing slash", function()
      check(base { path = "/a//b/./c/../d/" }, header_cr("GET", "/a/b/d/"))
      check(base { path = "/a/b/.." }, header_cr("GET", "/a"))
      check(base { path = "/../.." }, header_cr("GET", "/"))
      check(base { path = "" }, header_cr("GET", "/"))
    end)

    it("uses the path as is for S3 (normalize_path=false, double_encode=false)", function()
      check(base { path = "/bucket/a%20b//c/../d%2Fe", normalize_path = false,
        double_encode = false }, header_cr("GET", "/bucket/a%20b//c/../d%2Fe"))
    end)

    it("encodes without normalizing (normalize_path=false, double_encode=true)", function()
      check(base { path = "/a//./b c", normalize_path = false },
        header_cr("GET", "/a//./b%20c"))
    end)

    it("upper-cases the method", function()
      check(base { method = "get" }, header_cr("GET", "/", ""))
    end)
  end)

  describe("canonical headers", function()
    it("trims, collapses whitespace (folds too), joins repeats in order, sorts", function()
      local input = base {
        headers = {
          { "Host", "example.amazonaws.com" },
          { "X-B", "  two   words\t here  " },
          { "x-a", "z" },
          { "X-A", "a\n   folded" },
          { "X-C", "" },
        },
      }
      local cr = "GET\n/\n\nhost:example.amazonaws.com\nx-a:z,a folded\n"
        .. "x-amz-date:" .. AMZ_DATE .. "\nx-b:two words here\nx-c:\n\n"
        .. "host;x-a;x-amz-date;x-b;x-c\n" .. EMPTY
      check(input, cr)
    end)

    it("refuses a header the signer adds", function()
      assert.has_error(function()
        sigv4.sign(base { headers = { { "Host", "h" }, { "x-amz-date", "x" } } })
      end, "bad argument #1 to 'sign' (headers[2] is X-Amz-Date, which the signer adds)")
    end)
  end)

  describe("body and payload hash", function()
    local body = '{"a":1}'

    it("sign_body adds and signs x-amz-content-sha256 in the header form", function()
      local h = sha256(body)
      local cr = "POST\n/\n\nhost:example.amazonaws.com\nx-amz-content-sha256:" .. h
        .. "\nx-amz-date:" .. AMZ_DATE .. "\n\nhost;x-amz-content-sha256;x-amz-date\n" .. h
      local r = check(base { method = "POST", body = body, sign_body = true }, cr)
      assert.are.equal(h, header(r, "x-amz-content-sha256"))
      assert.are.equal("x-amz-content-sha256", r.headers[3][1])
    end)

    it("hashes the body without sign_body, adding no header", function()
      local r = check(base { method = "POST", body = body },
        header_cr("POST", "/", "", sha256(body)))
      assert.is_nil(header(r, "x-amz-content-sha256"))
    end)

    it("uses payload_hash as given", function()
      local r = check(base { method = "PUT", body = "ignored", payload_hash = "UNSIGNED-PAYLOAD" },
        header_cr("PUT", "/", "", "UNSIGNED-PAYLOAD"))
      assert.is_nil(header(r, "x-amz-content-sha256"))
      local cr = "PUT\n/\n\nhost:example.amazonaws.com\nx-amz-content-sha256:UNSIGNED-PAYLOAD"
        .. "\nx-amz-date:" .. AMZ_DATE .. "\n\nhost;x-amz-content-sha256;x-amz-date\n"
        .. "UNSIGNED-PAYLOAD"
      r = check(base { method = "PUT", payload_hash = "UNSIGNED-PAYLOAD", sign_body = true }, cr)
      assert.are.equal("UNSIGNED-PAYLOAD", header(r, "x-amz-content-sha256"))
    end)

    it("adds no x-amz-content-sha256 in the query form, last line still the hash", function()
      local r = sigv4.sign(base { method = "POST", body = body, sign_body = true,
        signature_type = "query", expires = 60 })
      assert.are.equal(sha256(body), r.canonical_request:match("\n(%x+)$"))
      assert.is_nil(r.canonical_request:find("x-amz-content-sha256", 1, true))
      assert.are.equal(1, #r.headers)
    end)
  end)

  describe("session tokens", function()
    local token = "AQoD/ab+cd==" -- '/', '+' and '=' need encoding in a query

    it("signs the token in the query form, encoded", function()
      local cred = "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request"
      local cr = "GET\n/\n"
        .. "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" .. cred
        .. "&X-Amz-Date=" .. AMZ_DATE .. "&X-Amz-Expires=300"
        .. "&X-Amz-Security-Token=AQoD%2Fab%2Bcd%3D%3D&X-Amz-SignedHeaders=host\n"
        .. "host:example.amazonaws.com\n\nhost\n" .. EMPTY
      local r = check(base { session_token = token, signature_type = "query", expires = 300 }, cr)
      assert.are.equal("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" .. cred
        .. "&X-Amz-Date=" .. AMZ_DATE .. "&X-Amz-SignedHeaders=host&X-Amz-Expires=300"
        .. "&X-Amz-Security-Token=AQoD%2Fab%2Bcd%3D%3D&X-Amz-Signature=" .. r.signature, r.query)
    end)

    it("omit_session_token adds the token after signing (header form)", function()
      local r = check(base { session_token = token, omit_session_token = true },
        header_cr("GET", "/", ""))
      assert.are.same({ "X-Amz-Security-Token", token }, r.headers[2])
    end)

    it("signs the token header otherwise", function()
      local cr = "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:" .. AMZ_DATE
        .. "\nx-amz-security-token:" .. token .. "\n\nhost;x-amz-date;x-amz-security-token\n"
        .. EMPTY
      check(base { session_token = token }, cr)
    end)

    it("treats an empty token as none", function()
      local r = check(base { session_token = "" }, header_cr("GET", "/", ""))
      assert.is_nil(header(r, "X-Amz-Security-Token"))
    end)
  end)

  describe("signing key cache", function()
    it("gives equal signatures for equal inputs", function()
      local a = sigv4.sign(base {})
      local b = sigv4.sign(base {})
      assert.are.equal(a.signature, b.signature)
    end)

    it("derives a new key when the date, region, service or secret changes", function()
      local cr = header_cr("GET", "/", "")
      local first = check(base {}, cr).signature
      -- next day: other date in the scope and the key
      local day2 = "20150831T123600Z"
      local cr2 = cr:gsub(AMZ_DATE, day2)
      local r2 = check(base { time = T + 86400 }, cr2, { amz_date = day2 })
      -- other region / service / secret, with the same canonical request
      local r3 = check(base { region = "eu-west-1" }, cr, { region = "eu-west-1" })
      local r4 = check(base { service = "gameliftstreams" }, cr, { service = "gameliftstreams" })
      local r5 = check(base { secret_access_key = "other" }, cr, { secret = "other" })
      -- and back to the first: from the cache, still right
      assert.are.equal(first, check(base {}, cr).signature)
      local seen = {}
      for _, s in ipairs({ first, r2.signature, r3.signature, r4.signature, r5.signature }) do
        assert.is_nil(seen[s])
        seen[s] = true
      end
    end)

    it("stays right across more keys than the cache holds", function()
      local cr = header_cr("GET", "/", "")
      for round = 1, 2 do
        for i = 1, 6 do
          local region = "region-" .. i
          check(base { region = region }, cr, { region = region })
        end
        assert.is_true(round > 0)
      end
    end)
  end)

  describe("misuse raises naming the field", function()
    local cases = {
      { "no table", nil, "table expected" },
      { "missing method", { method = false }, "field 'method'" },
      { "missing path", { path = false }, "field 'path'" },
      { "path not starting with /", { path = "a/b" }, "path must start with '/'" },
      { "missing region", { region = false }, "field 'region'" },
      { "missing service", { service = false }, "field 'service'" },
      { "missing access key", { access_key_id = false }, "field 'access_key_id'" },
      { "missing secret", { secret_access_key = false }, "field 'secret_access_key'" },
      { "empty secret", { secret_access_key = "" }, "secret_access_key is missing" },
      { "time not a number", { time = "now" }, "field 'time'" },
      { "time with a fraction", { time = 1.5 }, "field 'time'" },
      { "missing time", { time = false }, "field 'time'" },
      { "query not a string", { query = 1 }, "field 'query'" },
      { "body not a string", { body = {} }, "field 'body'" },
      { "headers not a table", { headers = "Host: x" }, "field 'headers'" },
      { "header entry not a table", { headers = { "Host" } }, "field 'headers'" },
      { "header value not a string", { headers = { { "Host", 1 } } }, "field 'headers'" },
      { "header name empty", { headers = { { "", "x" } } }, "headers[1] has no name" },
      -- fuzz/regressions/emuwire: a ',' in a name cut the SignedHeaders list short
      { "header name with a comma", { headers = { { "Host", "example.amazonaws.com" }, { "a,b", "x" } } },
        "headers[2] name holds ','" },
      { "header name with a slash", { headers = { { "a/b", "x" } } }, "headers[1] name holds '/'" },
      { "header name with a space", { headers = { { "a b", "x" } } }, "headers[1] name holds ' '" },
      { "boolean as a string", { normalize_path = "yes" }, "field 'normalize_path'" },
      { "sign_body as a number", { sign_body = 1 }, "field 'sign_body'" },
      { "unknown signature_type", { signature_type = "cookie" }, "field 'signature_type'" },
      { "query form without expires", { signature_type = "query" }, "field 'expires'" },
      { "query form, expires 0", { signature_type = "query", expires = 0 }, "field 'expires'" },
      { "query form, expires > 7 days", { signature_type = "query", expires = 604801 },
        "field 'expires'" },
      { "query holding a signer parameter", { signature_type = "query", expires = 5,
        query = "X-Amz-Signature=x" }, "X-Amz-Signature" },
    }
    for _, c in ipairs(cases) do
      it(c[1], function()
        local input
        if c[2] then
          input = base {}
          for k, v in pairs(c[2]) do
            if v == false then input[k] = nil else input[k] = v end
          end
        end
        local ok, err = pcall(sigv4.sign, input)
        assert.is_false(ok)
        assert.is_truthy(tostring(err):find(c[3], 1, true),
          "message '" .. tostring(err) .. "' does not name " .. c[3])
        assert.is_nil(tostring(err):find(SECRET, 1, true))
      end)
    end
  end)
end)
