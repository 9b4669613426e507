-- gameliftstreams.clioutput against the AWS CLI v2's own formatter.py,
-- table.py and text.py (run by /usr/bin/python3 through
-- spec/support/awscli_output.py): every format, byte for byte, on seeded
-- random documents, on every GameLift Streams output shape, and on paginated
-- listings. GLS_CLI_SEED=N repeats a run; GLS_CLI_DOCS=N sets its size.
local helper = require "spec.helper"
local json = require "gameliftstreams.json"
local clioutput = require "gameliftstreams.clioutput"
local diff = require "spec.support.cli_diff"

local SEED = diff.SEED
local NDOCS = diff.count(1200)
local MODEL = helper.shared .. "/reference/gameliftstreams/service-2.json"

local available, why = diff.available()

local show = diff.show

-- Formats each case here and in awscli; returns the list of mismatches.
-- case: {format=, value=, title=, color=, columns=, query = {lua=fn, expr=}}
local function compare(cases)
  local reqs = {}
  for _, c in ipairs(cases) do
    -- a response is always an object: other values come from a --query
    if not c.paginated and not c.query and not json.is_object(c.value) then
      c.value = diff.obj({ "Value", c.value })
      c.query = { expr = "Value", lua = function(v) return v.Value end }
    end
  end
  for i, c in ipairs(cases) do
    reqs[i] = { kind = "format", format = c.format, value = c.value,
                title = c.title or "Op", color = c.color or false,
                columns = c.columns or 80,
                query = c.query and c.query.expr or json.null,
                paginated = c.paginated or json.null }
  end
  local answers = diff.run(reqs)
  local bad = {}
  for i, c in ipairs(cases) do
    local a = answers[i]
    local opts = { title = c.title or "Op", color = c.color, columns = c.columns or 80,
                   query = c.query and c.query.lua }
    local got, err
    if c.paginated then
      local w = clioutput.new(c.format, opts)
      local chunks = {}
      for _, p in ipairs(c.paginated.pages) do
        local s, e = w:page(p)
        if not s then err = e break end
        chunks[#chunks + 1] = s
      end
      if not err then
        local tok = c.paginated.resume_token
        if tok == json.null then tok = nil end
        local s, e = w:finish(tok)
        if s then chunks[#chunks + 1] = s else err = e end
      end
      got = table.concat(chunks)
    else
      got, err = clioutput.format(c.format, c.value, opts)
    end
    local want_err = type(a.err) == "string" and a.err or nil
    local got_err = err and err.message
    local out = got or (err and err.output) or ""
    if out ~= a.out or got_err ~= want_err then
      bad[#bad + 1] = string.format(
        "case %d (%s%s, columns %s): %s\n  awscli: %s%s\n  gls:    %s%s", i, c.format,
        c.color and ", color" or "", tostring(c.columns or 80),
        c.paginated and ("pages " .. json.encode(c.paginated)) or json.encode(c.value),
        show(a.out), want_err and (" error " .. show(want_err)) or "",
        show(out), got_err and (" error " .. show(got_err)) or "")
    end
  end
  return bad
end

local assert_none = diff.report

local FORMATS = { "json", "text", "yaml", "yaml-stream" }
local COLUMNS = { 20, 40, 80, 120, 250 }

local function all_formats(value, title)
  local out = {}
  for _, f in ipairs(FORMATS) do out[#out + 1] = { format = f, value = value, title = title } end
  out[#out + 1] = { format = "table", value = value, title = title, columns = 80 }
  out[#out + 1] = { format = "table", value = value, title = title,
                    columns = COLUMNS[math.random(#COLUMNS)], color = math.random(2) == 1 }
  return out
end

describe("CLI output (clioutput) against awscli v2's formatters #cli", function()
  setup(function()
    math.randomseed(SEED)
  end)

  it("formats fixed edge cases as awscli does", function()
    if not available then return pending(why) end
    local values = {
      json.object(), json.array({}), json.null, "", "text", 0, 0.0, 1.5, false, true, 42,
      json.array({ "a", "b" }), json.array({ json.object() }), json.array({ json.array({}) }),
      diff.obj({ "ResponseMetadata", diff.obj({ "RequestId", "r-1" }) }),
      diff.obj({ "ResponseMetadata", diff.obj({ "RequestId", "r-1" }), "Errors", json.array({}) }),
      diff.obj({ "A", json.object(), "B", json.array({}) }),
      diff.obj({ "Only", "one" }),
      diff.obj({ "b", 1, "a", 2, "c", json.array({ 1, 2 }) }),
      json.array({ diff.obj({ "a", 1 }), "str" }),
      json.array({ diff.obj({ "a", 1 }), 5 }),
      json.array({ diff.obj({ "a", 1 }), json.array({ "x" }) }),
      json.array({ json.object(), json.array({ 0, 5 }) }),
      json.array({ json.object(), json.array({ 1, 0 }) }),
      json.array({ diff.obj({ "a", json.object() }), json.array({ 0 }) }),
      json.array({ diff.obj({ "a", json.array({ 1 }) }), json.array({ -1, json.array({}) }) }),
      json.array({ diff.obj({ "a", 1 }), "" }),
      json.array({ diff.obj({ "a", 1 }), json.array({}) }),
      json.array({ diff.obj({ "a", 1 }), json.array({ true, 1.5 }) }),
      json.array({ json.array({ "a", "b" }), json.array({ "c" }) }),
      json.array({ "x", diff.obj({ "k", "v", "k2", "v2" }) }),
      diff.obj({ "Items", json.array({ diff.obj({ "a", 1, "n", diff.obj({ "x", 1 }) }),
        diff.obj({ "a", 2, "n", diff.obj({ "x", 2 }) }) }) }),
      diff.obj({ "L", json.array({ diff.obj({ "a", 1 }), diff.obj({ "b", diff.obj({ "c", 3 }) }) }) }),
      diff.obj({ "Wide", string.rep("日本語", 40), "Narrow", string.rep("x", 90) }),
    }
    local cases = {}
    for _, v in ipairs(values) do
      for _, c in ipairs(all_formats(v, "GetStreamGroup")) do cases[#cases + 1] = c end
      cases[#cases + 1] = { format = "table", value = v, title = "GetStreamGroup", color = true,
                            columns = 80 }
    end
    assert_none(compare(cases), "of " .. #cases .. " edge cases")
  end)

  it("formats " .. NDOCS .. " seeded random documents as awscli does, in every format", function()
    if not available then return pending(why) end
    local cases = {}
    for _ = 1, NDOCS do
      local doc = diff.gen_document()
      for _, c in ipairs(all_formats(doc, "Op" .. math.random(1, 3))) do cases[#cases + 1] = c end
    end
    local bad = compare(cases)
    assert_none(bad, "of " .. #cases .. " formatted documents")
    assert.are.equal(NDOCS * 6, #cases)
  end)

  it("formats every GameLift Streams output shape as awscli does", function()
    if not available then return pending(why) end
    local model = diff.load_model(MODEL)
    local cases = {}
    local responses = diff.gen_responses(model, 6)
    for _, r in ipairs(responses) do
      for _, c in ipairs(all_formats(r.value, r.op)) do cases[#cases + 1] = c end
    end
    assert.is_true(#responses >= 6 * 20, "few operations with outputs in the model")
    assert_none(compare(cases), "of " .. #cases .. " formatted responses")
  end)

  it("formats paginated listings page by page as awscli does (text, yaml-stream) "
    .. "or as one result (json, yaml, table), with --max-items resume tokens and --query", function()
    if not available then return pending(why) end
    local model = diff.load_model(MODEL)
    local ops = { "ListStreamGroups", "ListApplications", "ListStreamSessions",
                  "ListStreamSessionsByAccount" }
    local arn_query = {
      expr = "Items[].Arn",
      lua = function(v)
        if not json.is_object(v) or not json.is_array(v.Items) then return json.null end
        local out = json.array({})
        for _, it in ipairs(v.Items) do
          if json.is_object(it) and it.Arn ~= nil and it.Arn ~= json.null then
            out[#out + 1] = it.Arn
          end
        end
        return out
      end,
    }
    local cases = {}
    for _ = 1, 40 do
      local op = ops[math.random(#ops)]
      local out_shape = model.operations[op].output.shape
      local pages = json.array({})
      local npages = math.random(1, 3)
      for p = 1, npages do
        local page = diff.realistic(model, out_shape)
        if p < npages then json.set(page, "NextToken", "tok-" .. p)
        else json.set(page, "NextToken", nil) end
        if math.random(3) == 1 then
          json.set(page, "ResponseMetadata", diff.obj({ "RequestId", "req-" .. p,
            "HTTPStatusCode", 200 }))
        end
        pages[p] = page
      end
      local pag = { pages = pages, result_keys = json.array({ "Items" }),
                    resume_token = math.random(3) == 1 and "eyJOZXh0VG9rZW4iOiAidG9rIn0=" or json.null }
      local query = math.random(3) == 1 and arn_query or nil
      for _, f in ipairs({ "json", "text", "yaml", "yaml-stream", "table" }) do
        cases[#cases + 1] = { format = f, paginated = pag, title = op, query = query,
                              columns = COLUMNS[math.random(#COLUMNS)] }
      end
    end
    assert_none(compare(cases), "of " .. #cases .. " paginated listings")
  end)

  it("applies --query before formatting, and formats what it gives (any JSON value)", function()
    if not available then return pending(why) end
    local doc = diff.obj({ "Items", json.array({ diff.obj({ "Arn", "arn:1" }), diff.obj({ "Arn", "arn:2" }) }),
                           "ResponseMetadata", diff.obj({ "RequestId", "x" }) })
    local queries = {
      { expr = "Items", lua = function(v) return v.Items end },
      { expr = "Items[0].Arn", lua = function(v) return v.Items[1].Arn end },
      { expr = "Missing", lua = function() return json.null end },
      { expr = "length(Items)", lua = function(v) return #v.Items end },
      { expr = "ResponseMetadata", lua = function(v) return v.ResponseMetadata or json.null end },
    }
    local cases = {}
    for _, q in ipairs(queries) do
      for _, f in ipairs({ "json", "text", "yaml", "yaml-stream", "table" }) do
        cases[#cases + 1] = { format = f, value = doc, query = q, title = "ListStreamGroups" }
      end
    end
    assert_none(compare(cases), "query results")
  end)
end)

describe("clioutput's API", function()
  it("refuses an unknown format as misuse", function()
    assert.has_error(function() clioutput.format("xml", json.object()) end,
      "unknown output format 'xml'")
  end)

  it("returns a query's error as it is", function()
    local qerr = { code = "invalid-type", message = "bad" }
    local out, err = clioutput.format("json", json.object(), { query = function() return nil, qerr end })
    assert.is_nil(out)
    assert.are.equal(qerr, err)
  end)

  it("ends a coloured table on a tty with colorama's exit reset, even when nothing is printed", function()
    assert.are.equal("\27[0m", clioutput.format("table", json.object(), { color = true, tty = true }))
    assert.are.equal("", clioutput.format("table", json.object(), { color = true }))
    assert.are.equal("", clioutput.format("table", json.object(), { color = false, tty = true }))
    local v = diff.obj({ "A", "b" })
    local piped = clioutput.format("table", v, { color = true, title = "Op" })
    assert.are.equal(piped .. "\27[0m", clioutput.format("table", v, { color = true, tty = true, title = "Op" }))
    -- through a pager: no reset after each write
    assert.are.equal(clioutput.format("table", v, { color = true, pager = true, title = "Op" }):gsub("\27%[0m", ""),
      (piped:gsub("\27%[0m", "")))
  end)

  -- fuzz/regressions/cli/choice-not-utf8: utf8.codes raised on such a byte
  it("reads bytes that are not UTF-8 as Python's surrogateescape does", function()
    assert.equal("'g\\udce7t'", clioutput.pyrepr("g\231t"))
    assert.equal("'\u{E9}\\udc80x'", clioutput.pyrepr("\u{E9}\128x"))
    assert.equal("'\\udced\\udca0\\udc80'", clioutput.pyrepr("\237\160\128")) -- an encoded surrogate
    assert.equal(2, clioutput.text_length("a\255"))
    local t = clioutput.format("table", { Items = { { ["k\255"] = "v" } } }, { title = "Op" })
    assert.truthy(t:find("k\255", 1, true))
  end)
end)
