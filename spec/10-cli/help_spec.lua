-- glsrun help, glsrun OPERATION help, glsrun wait help, glsrun wait WAITER
-- help: the same sections, synopsis, option lists (names and types), output
-- members and command lists as the AWS CLI v2's pages (rendered by groff;
-- glsrun writes plain text without justification, so the prose is not
-- compared byte for byte). Without /usr/bin/aws only glsrun's pages are checked.
local helper = require "spec.helper"
local clipeer = require "spec.support.clipeer"
local tmux = require "spec.support.tmux"
local climodel = require "gameliftstreams.climodel"

local have_aws, why = clipeer.available()
if not have_aws then print("help_spec: " .. why) end

-- What both pages must agree on.
local function outline(text)
  text = text:gsub(".\8", "") -- groff's overstrike (bold, underline)
  local o = { sections = {}, synopsis = {}, options = {}, output = {}, commands = {} }
  local section
  for line in (text .. "\n"):gmatch("(.-)\n") do
    if line:match("^[A-Z][A-Z ]+$") then
      section = line
      o.sections[#o.sections + 1] = line
    elseif section == "SYNOPSIS" and line:match("%S") then
      o.synopsis[#o.synopsis + 1] = line
    elseif section == "OPTIONS" and line:match("^       %-%-[%w-]+ %(%w+%)$") then
      o.options[#o.options + 1] = line
    elseif section == "OUTPUT" and (line:match("^       %w+ %-> %(%w+%)$") or line == "       None") then
      o.output[#o.output + 1] = line
    elseif section == "AVAILABLE COMMANDS" and line:match("^       o ") then
      o.commands[#o.commands + 1] = line
    end
  end
  return o
end

local function pages()
  local list = { { "help" }, { "wait", "help" } }
  local ops = {}
  for cli in pairs(climodel.by_cli) do ops[#ops + 1] = cli end
  table.sort(ops)
  for _, cli in ipairs(ops) do list[#list + 1] = { cli, "help" } end
  local waiters = {}
  for w in pairs(climodel.waiters) do waiters[#waiters + 1] = w end
  table.sort(waiters)
  for _, w in ipairs(waiters) do list[#list + 1] = { "wait", w, "help" } end
  return list
end

describe("glsrun help pages", function()
  local p = clipeer.new { env = { PAGER = "cat", MANPAGER = "cat" } }

  it("have the sections, synopsis, option lists and output members the AWS CLI v2 shows", function()
    local list = pages()
    assert.equal(2 + 30 + 5, #list)
    local mine = {}
    for i, args in ipairs(list) do
      local r = p.glsrun(args)
      assert.equal(0, r.rc, table.concat(args, " ") .. ": " .. r.stderr)
      assert.equal("", r.stderr)
      mine[i] = outline(r.stdout)
      assert.is_true(#mine[i].sections >= 3, table.concat(args, " "))
    end
    if not have_aws then return end
    local theirs = p.aws_batch(list)
    for i, args in ipairs(list) do
      assert.equal(0, theirs[i].rc, table.concat(args, " "))
      assert.are.same(outline(theirs[i].stdout), mine[i], table.concat(args, " "))
    end
  end)

  it("show what the model says of an operation: synopsis, types, enums, constraints, syntax, output", function()
    local r = p.glsrun { "start-stream-session", "help" }
    local text = r.stdout
    assert.truthy(text:find("\nSYNOPSIS\n            start-stream-session\n          [--client-token <value>]\n", 1,
      true))
    assert.truthy(text:find("          --identifier <value>\n", 1, true))
    assert.truthy(text:find("       --protocol (string)\n", 1, true))
    assert.truthy(text:find("          Possible values:\n\n          o WebRTC\n", 1, true))
    assert.truthy(text:find("          Constraints:\n            min: 1\n            max: 3600\n", 1, true))
    assert.truthy(text:find("       Shorthand Syntax:\n\n          Resolution={Width=integer,Height=integer}\n", 1,
      true))
    assert.truthy(text:find('       JSON Syntax:\n\n          {\n            "Resolution": {\n', 1, true))
    assert.truthy(text:find("\nOUTPUT\n       Arn -> (string)\n", 1, true))
    local w = p.glsrun { "wait", "stream-session-active", "help" }.stdout
    assert.truthy(w:find("Waits until a stream session is active It will poll every 2 seconds", 1, true))
  end)

  it("goes through the pager on a terminal (MANPAGER, PAGER, else less -R), as the AWS CLI's help does", function()
    if not tmux.available() then
      print("help_spec: no tmux (apt-get install tmux): the pager check is skipped")
      return
    end
    local t = tmux.pane("env HOME=" .. helper.quote(os.getenv("HOME") or "/tmp") .. " PAGER= MANPAGER= "
      .. "build/glsrun create-stream-session-connection help; echo EXIT=$?; sleep 30")
    local ok, err = pcall(function()
      local screen = t.wait_for("NAME")
      assert.truthy(screen:find("CREATE-STREAM-SESSION-CONNECTION()", 1, true))
      assert.falsy(screen:find("EXIT=", 1, true)) -- less holds the page
      t.key("q")
      assert.truthy(t.wait_for("EXIT=0"))
    end)
    t.kill()
    assert(ok, err)
  end)
end)
