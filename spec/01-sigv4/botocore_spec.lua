-- #botocore: gls and botocore's SigV4Auth sign the same generated requests
-- and must agree on every signature. Needs python3 with botocore (the
-- interpreter can be set with GLS_PYTHON); otherwise the test is pending.
local cjson = require("cjson")
local sigv4 = require("gameliftstreams.sigv4")

local PYTHON = os.getenv("GLS_PYTHON") or "python3"
local SCRIPT = "spec/support/botocore_sigv4.py"
local N = 50

-- A small deterministic generator (xorshift), independent of math.random.
local function rng(seed)
  local x = seed
  return function(n)
    x = x ~ (x << 13) & 0xffffffff
    x = x ~ (x >> 17)
    x = x ~ (x << 5) & 0xffffffff
    return x % n + 1
  end
end

local UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

local function word(r, len, alphabet)
  alphabet = alphabet or UNRESERVED
  local t = {}
  for i = 1, len do
    local k = r(#alphabet)
    t[i] = alphabet:sub(k, k)
  end
  return table.concat(t)
end

-- Percent-encodes like the wire does for a path label or a query value.
local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function json_body(r, size)
  local parts, n = {}, 0
  while n < size do
    local piece = string.format('"k%d":"%s"', #parts, word(r, 40, UNRESERVED .. " :/+="))
    parts[#parts + 1] = piece
    n = n + #piece + 1
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function generate(r, i)
  local methods = { "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD" }
  local arn = "arn:aws:gameliftstreams:us-west-2:111122223333:streamgroup/sg-" .. word(r, 9)
  local segs = { "streamgroups", encode(arn), "streamsessions", word(r, 1 + r(12)) }
  if r(2) == 1 then segs[#segs + 1] = "connections" end
  if r(4) == 1 then segs[#segs + 1] = encode("a b$c@d") end
  local path = "/" .. table.concat(segs, "/")
  if r(3) == 1 then path = path .. "/" end

  local query
  if r(2) == 1 then
    local q = {}
    for k = 1, r(5) do
      local key = r(3) == 1 and "dup" or word(r, 1 + r(6))
      if r(6) == 1 then
        q[k] = key
      else
        q[k] = key .. "=" .. encode(word(r, r(10), UNRESERVED .. ":/+= ?&"))
      end
    end
    query = table.concat(q, "&")
  end

  local host = "gameliftstreams.us-west-2.amazonaws.com"
  local headers = { { "Host", host } }
  local body = ""
  if r(2) == 1 then
    body = i % 5 == 0 and json_body(r, 3 * 1024) or json_body(r, r(200))
    headers[#headers + 1] = { "Content-Type", "application/json" }
  end
  for k = 1, r(4) - 1 do
    local name = (r(2) == 1 and "X-Custom-" or "x-custom-") .. (r(3) == 1 and "rep" or tostring(k))
    local value = (r(2) == 1 and "  " or "") .. word(r, r(20), UNRESERVED .. "  \t,;:\"'")
      .. (r(2) == 1 and " \t" or "")
    headers[#headers + 1] = { name, value }
  end
  return {
    method = methods[r(#methods)], path = path, query = query, headers = headers, body = body,
    access_key_id = "AKID" .. word(r, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
    secret_access_key = word(r, 40, UNRESERVED .. "/+"),
    session_token = r(2) == 1 and word(r, 200 + r(700), UNRESERVED .. "/+=") or nil,
    region = ({ "us-west-2", "us-east-2", "eu-central-1", "ap-northeast-1" })[r(4)],
    service = "gameliftstreams",
    time = 1700000000 + r(100000000),
    url = "https://" .. host .. path .. (query and ("?" .. query) or ""),
  }
end

local function botocore_available()
  local p = io.popen(PYTHON .. " -c 'import botocore, sys; sys.stdout.write(botocore.__version__)' 2>&1")
  local out = p:read("a")
  local ok = p:close()
  return ok and out:match("^%d+%.%d+") ~= nil, out
end

describe("#botocore sigv4 differential", function()
  it("agrees with botocore SigV4Auth on " .. N .. " generated requests", function()
    local ok, why = botocore_available()
    if not ok then
      pending("skipped: " .. PYTHON .. " with botocore is not available (" .. why:gsub("\n", " ")
        .. "); set GLS_PYTHON to an interpreter that has it")
      return
    end

    local r = rng(20240611)
    local cases, mine = {}, {}
    for i = 1, N do
      local c = generate(r, i)
      local out = sigv4.sign({
        method = c.method, path = c.path, query = c.query, headers = c.headers, body = c.body,
        access_key_id = c.access_key_id, secret_access_key = c.secret_access_key,
        session_token = c.session_token, region = c.region, service = c.service, time = c.time,
      })
      mine[i] = out
      cases[i] = {
        method = c.method, url = c.url, headers = c.headers, body = c.body,
        access_key_id = c.access_key_id, secret_access_key = c.secret_access_key,
        session_token = c.session_token or cjson.null, region = c.region, service = c.service,
        time = c.time,
      }
    end

    local input = os.tmpname()
    local f = assert(io.open(input, "wb"))
    f:write(cjson.encode({ cases = cases }))
    f:close()
    local p = assert(io.popen(PYTHON .. " " .. SCRIPT .. " < " .. input))
    local text = p:read("a")
    local closed = p:close()
    os.remove(input)
    assert.is_true(closed, "botocore_sigv4.py failed")
    local theirs = cjson.decode(text).results
    assert.are.equal(N, #theirs)

    local with_token, big_body = 0, 0
    for i = 1, N do
      assert.are.equal(theirs[i].canonical_request, mine[i].canonical_request, "case " .. i)
      assert.are.equal(theirs[i].string_to_sign, mine[i].string_to_sign, "case " .. i)
      assert.are.equal(theirs[i].signature, mine[i].signature, "case " .. i)
      local authz
      for _, h in ipairs(mine[i].headers) do
        if h[1] == "Authorization" then authz = h[2] end
      end
      assert.are.equal(theirs[i].authorization, authz, "case " .. i)
      if cases[i].session_token ~= cjson.null then with_token = with_token + 1 end
      if #cases[i].body >= 3 * 1024 then big_body = big_body + 1 end
    end
    -- the generator covered what it is meant to
    assert.is_true(with_token > 0 and with_token < N)
    assert.is_true(big_body > 0)
  end)
end)
