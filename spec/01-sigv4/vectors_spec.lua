-- The AWS SigV4 test suite (shared/sigv4-vectors), both forms, every case.
local helper = require("spec.helper")
local vectors = dofile("spec/support/sigv4_vectors.lua")
local sigv4 = require("gameliftstreams.sigv4")

local root = helper.shared .. "/sigv4-vectors"

describe("sigv4 test vectors", function()
  local names = vectors.cases(root)

  it("finds the shared cases", function()
    assert.is_true(#names >= 26, "expected at least 26 cases under " .. root)
  end)

  for _, name in ipairs(names) do
    for _, form in ipairs({ "header", "query" }) do
      it(name .. " (" .. form .. ")", function()
        local case = vectors.load(root, name)
        local r = sigv4.sign(case.input(form))

        assert.are.equal(case.expected(form, "canonical-request.txt"), r.canonical_request)
        assert.are.equal(case.expected(form, "string-to-sign.txt"), r.string_to_sign)
        assert.are.equal(case.expected(form, "signature.txt"), r.signature)

        -- The request as sent, compared as parts.
        local signed = vectors.parse_request(case.expected(form, "signed-request.txt"))
        assert.are.equal(case.request.method, signed.method)
        assert.are.equal(case.request.path, signed.path)
        assert.are.same(signed.headers, r.headers)
        assert.are.equal(case.request.body, signed.body)
        if form == "query" then
          assert.are.same(vectors.params(signed.query), vectors.params(r.query))
        else
          assert.are.equal(case.request.query or "", r.query)
          assert.are.equal(signed.query, case.request.query)
        end
      end)
    end
  end
end)
