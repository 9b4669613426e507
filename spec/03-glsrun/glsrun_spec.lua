-- luacheck: std +busted
-- glsrun as a process: command line, `arg`, exit codes, preloaded modules.
-- Run from the checkout's root after `make` (uses build/glsrun).

local helper = require "spec.helper"
local shell_quote = helper.quote

local read_all, write_file = helper.read_file, helper.write_file

local ROOT = assert(io.popen("pwd")):read("l")
local GLSRUN = ROOT .. "/build/glsrun"
-- Nothing of the checkout on the Lua paths: what glsrun finds, it carries.
-- (LUA_CPATH keeps the system's default directories: lua-cjson is Debian's, not ours.)
local CLEAN_ENV = "env LUA_PATH='/nonexistent/?.lua' LUA_CPATH='/nonexistent/?.so;;' "
  .. "LUA_INIT= LUA_INIT_5_4= "

-- Runs a shell command line; returns { code =, how =, out =, err = }.
local function sh(cmdline, stdin)
  local out, err, inp = os.tmpname(), os.tmpname(), os.tmpname()
  write_file(inp, stdin or "")
  local _, how, code = os.execute(("cd /tmp && { %s\n} <%s >%s 2>%s"):format(cmdline, inp, out, err))
  local r = { how = how, code = code, out = read_all(out), err = read_all(err) }
  os.remove(out); os.remove(err); os.remove(inp)
  return r
end

-- Runs glsrun (or another program) with the given argument list.
local function run(prog, args, stdin)
  local words = { CLEAN_ENV .. shell_quote(prog) }
  for _, a in ipairs(args or {}) do words[#words + 1] = shell_quote(a) end
  return sh(table.concat(words, " "), stdin)
end

local function glsrun(args, stdin) return run(GLSRUN, args, stdin) end

local GLS_VERSION = read_all(ROOT .. "/src/gls.h"):match('#define GLS_VERSION "([^"]+)"')

-- A script that prints every entry of `arg` (lowest index first) and `...`.
local DUMP = [[
local lo = 0
while arg[lo - 1] ~= nil do lo = lo - 1 end
local lines = { "lo=" .. lo, "n=" .. #arg }
for i = lo, #arg do lines[#lines + 1] = ("arg[%d]=[%s]"):format(i, arg[i]) end
local dots = table.pack(...)
lines[#lines + 1] = "select#=" .. dots.n
for i = 1, dots.n do lines[#lines + 1] = ("...[%d]=[%s]"):format(i, dots[i]) end
io.write(table.concat(lines, "\n"), "\n")
]]

describe("glsrun", function()
  local dir, script

  setup(function()
    assert(os.execute("test -x " .. shell_quote(GLSRUN)), "build glsrun first (make)")
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. shell_quote(dir)))
    script = dir .. "/dump.lua"
    write_file(script, DUMP)
  end)

  teardown(function()
    os.execute("rm -rf " .. shell_quote(dir))
  end)

  -- glsrun's and lua5.4's dumps, with the program's own name made neutral.
  local function both(args, stdin)
    local g, l = glsrun(args, stdin), run("lua5.4", args, stdin)
    assert.are.equal(0, l.code, l.err)
    assert.are.equal(0, g.code, g.err)
    assert.are.equal("", g.err)
    local gout = g.out:gsub("%[" .. GLSRUN:gsub("%p", "%%%0") .. "%]", "[PROGRAM]", 1)
    local lout = l.out:gsub("%[lua5%.4%]", "[PROGRAM]", 1)
    return gout, lout, g
  end

  describe("builds arg and ... as lua(1)", function()
    it("for a script with arguments", function()
      local g, l, raw = both({ script, "a", "b c", "", "-x", "--", "-" })
      assert.are.equal(l, g)
      assert.matches("arg%[0%]=%[" .. script:gsub("%p", "%%%0") .. "%]", raw.out)
      assert.matches("arg%[%-1%]=%[" .. GLSRUN:gsub("%p", "%%%0") .. "%]", raw.out)
      assert.matches("select#=6\n", raw.out)
      assert.matches("%.%.%.%[2%]=%[b c%]", raw.out)
    end)

    it("for a script with no arguments", function()
      local g, l = both({ script })
      assert.are.equal(l, g)
      assert.matches("n=0\n", g)
    end)

    it("with options before the script", function()
      local g, l = both({ "-e", "x = 1", "-e", "y = 2", script, "one", "two" })
      assert.are.equal(l, g)
      assert.matches("lo=%-5\n", g)
      assert.matches("arg%[%-4%]=%[%-e%]", g)
    end)

    it("after --", function()
      local g, l = both({ "--", script, "p" })
      assert.are.equal(l, g)
      assert.matches("arg%[%-1%]=%[%-%-%]", g)
    end)

    it("for -e alone (arg[0] is the program)", function()
      local code = "print(arg[0] == arg[-2] and 'program', arg[-1], arg[1])"
      local g = glsrun({ "-e", code })
      local l = run("lua5.4", { "-e", code })
      assert.are.equal(0, g.code, g.err)
      assert.are.equal(l.out, g.out)
    end)

    it("for a script read from stdin with -", function()
      local g, l, raw = both({ "-", "in1", "in 2" }, DUMP)
      assert.are.equal(l, g)
      assert.matches("arg%[0%]=%[%-%]", raw.out)
      assert.matches("%.%.%.%[2%]=%[in 2%]", raw.out)
    end)
  end)

  describe("-e", function()
    it("runs each chunk in order", function()
      local r = glsrun({ "-e", "a = 20", "-e", "print(a + 1)", "-eprint(a * 2)" })
      assert.are.same({ code = 0, out = "21\n40\n", err = "" },
                      { code = r.code, out = r.out, err = r.err })
    end)

    it("requires gameliftstreams.core with no Lua path set", function()
      local r = glsrun({ "-e", [[
        local core = require "gameliftstreams.core"
        assert(package.searchpath("gameliftstreams.core", package.cpath) == nil)
        print(type(core), core._VERSION, type(core.sigv4_sign))
      ]] })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("table\t" .. GLS_VERSION .. "\tfunction\n", r.out)
    end)

    it("preloads every lua/gameliftstreams/*.lua under its module name", function()
      local p = assert(io.popen("ls " .. shell_quote(ROOT) .. "/lua/gameliftstreams/*.lua 2>/dev/null"))
      local names = {}
      for path in p:lines() do
        local base = path:match("([^/]+)%.lua$")
        names[#names + 1] = base == "init" and "gameliftstreams" or "gameliftstreams." .. base
      end
      p:close()
      names[#names + 1] = "gameliftstreams.core"
      local code = "for _, n in ipairs(arg) do print(n, type(package.preload[n])) end"
      local r = glsrun({ "-e", code, "-", table.unpack(names) }, "")
      assert.are.equal(0, r.code, r.err)
      local want = {}
      for _, n in ipairs(names) do want[#want + 1] = n .. "\tfunction\n" end
      assert.are.equal(table.concat(want), r.out)
    end)

    it("-l requires a library into a global", function()
      local r = glsrun({ "-l", "gameliftstreams.core", "-e",
                         "print(type(_G['gameliftstreams.core']))" })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("table\n", r.out)
    end)
  end)

  describe("version and help", function()
    it("-v and --version print glsrun VERSION (Lua 5.4.x)", function()
      local lua_release = run("lua5.4", { "-v" }).out:match("^(Lua 5%.4%.%d+)")
      assert.is_truthy(lua_release)
      for _, opt in ipairs({ "-v", "--version" }) do
        local r = glsrun({ opt })
        assert.are.equal(0, r.code, r.err)
        assert.are.equal(("glsrun %s (%s)\n"):format(GLS_VERSION, lua_release), r.out)
        assert.are.equal("", r.err)
      end
    end)

    it("-v goes on with -e", function()
      local r = glsrun({ "-v", "-e", "print 'after'" })
      assert.are.equal(0, r.code, r.err)
      assert.matches("^glsrun [^\n]+\nafter\n$", r.out)
    end)

    for _, opt in ipairs({ "-h", "--help" }) do
      it(opt .. " exits 0 and lists the options and the commands", function()
        local r = glsrun({ opt })
        assert.are.equal(0, r.code)
        assert.are.equal("", r.err)
        assert.matches("^usage: glsrun ", r.out)
        for _, word in ipairs({ "%-e CODE", "%-v, %-%-version", "%-h, %-%-help",
                                "OPERATION", "wait WAITER", "emulator", "serve POLICY%.lua",
                                "AWS CLI v2", "252", "254" }) do
          assert.matches(word, r.out)
        end
      end)
    end
  end)

  describe("bad command lines exit 252 with usage on stderr", function()
    local cases = {
      { { "-x" }, "unrecognized option '%-x'" },
      { { "--bogus" }, "unrecognized option '%-%-bogus'" },
      { { "-vx" }, "unrecognized option '%-vx'" },
      { { "-e" }, "'%-e' needs an argument" },
      { { "-e", "-v" }, "'%-e' needs an argument" },
      { {}, "nothing to run" },
      { { "serve", "no-such-policy.lua" }, "serve: POLICY%.lua: cannot read 'no%-such%-policy%.lua'" },
      { { "serve" }, "serve: POLICY%.lua is required" },
      { { "serve", ROOT .. "/examples/policies/default.lua", "--max-body", "0" },
        "serve: %-%-max%-body must be a number of bytes" },
      { { "serve", ROOT .. "/examples/policies/default.lua", "--bogus" }, "serve: unrecognized option '%-%-bogus'" },
      { { "emulator", "--clock", "sometimes" }, "emulator: %-%-clock must be 'virtual' or 'real'" },
      { { "emulator", "--bogus" }, "emulator: unrecognized option '%-%-bogus'" },
    }
    for _, case in ipairs(cases) do
      local args, message = case[1], case[2]
      it("glsrun " .. table.concat(args, " "), function()
        local r = glsrun(args)
        assert.are.equal(252, r.code)
        assert.are.equal("", r.out)
        assert.matches("^glsrun: " .. message, r.err)
        assert.matches("\nusage: glsrun ", r.err)
      end)
    end
  end)

  describe("script failures", function()
    it("an error exits 1 with the message and a traceback", function()
      local path = dir .. "/fail.lua"
      write_file(path, "local function inner() error('boom') end\n"
                    .. "local function outer() inner() end\nouter()\n")
      local r = glsrun({ path })
      assert.are.equal(1, r.code)
      assert.are.equal("", r.out)
      assert.matches("^glsrun: [^\n]*fail%.lua:1: boom\nstack traceback:\n", r.err)
      assert.matches("fail%.lua:1: in %a+ 'inner'\n", r.err)
      assert.matches("fail%.lua:2: in %a+ 'outer'\n", r.err)
      assert.matches("fail%.lua:3: in main chunk\n", r.err)
    end)

    it("an error object with __tostring is shown through it", function()
      local r = glsrun({ "-e", "error(setmetatable({}, {__tostring = function() return 'custom' end}))" })
      assert.are.equal(1, r.code)
      assert.are.equal("glsrun: custom\n", r.err)
    end)

    it("a syntax error exits 1", function()
      local r = glsrun({ "-e", "x = = 1" })
      assert.are.equal(1, r.code)
      assert.matches("^glsrun: %(command line%):1:", r.err)
    end)

    it("a missing script exits 1", function()
      local r = glsrun({ dir .. "/missing.lua" })
      assert.are.equal(1, r.code)
      assert.matches("^glsrun: cannot open ", r.err)
    end)

    it("stops at the first failing -e", function()
      local r = glsrun({ "-e", "print 'one'", "-e", "error('two', 0)", "-e", "print 'three'" })
      assert.are.equal(1, r.code)
      assert.are.equal("one\n", r.out)
      assert.matches("^glsrun: two\n", r.err)
    end)

    it("os.exit(7) exits 7, os.exit(true) 0, os.exit(false) 1", function()
      assert.are.equal(7, glsrun({ "-e", "os.exit(7)" }).code)
      assert.are.equal(0, glsrun({ "-e", "os.exit(true, true)" }).code)
      assert.are.equal(1, glsrun({ "-e", "os.exit(false)" }).code)
    end)
  end)

  it("exits 130 with 'interrupted!' on SIGINT", function()
    local path = dir .. "/loop.lua"
    -- Ends by itself after 20 s, so a broken handler fails the spec, not the run.
    write_file(path, [[
      io.write("ready\n"); io.flush()
      local t = os.time()
      while os.time() - t < 20 do end
    ]])
    local out = dir .. "/loop.out"
    local r = sh(("%s %s %s >%s & pid=$!; i=0; "
      .. "until grep -q ready %s || [ $i -ge 200 ]; do sleep 0.05; i=$((i+1)); done; "
      .. "kill -INT $pid; wait $pid; echo \"status=$?\""):format(
      CLEAN_ENV, shell_quote(GLSRUN), shell_quote(path), shell_quote(out), shell_quote(out)))
    assert.are.equal("ready\n", read_all(out))
    assert.are.equal("status=130\n", r.out)
    assert.matches("^glsrun: [^\n]*interrupted!\nstack traceback:\n", r.err)
    assert.matches("loop%.lua:3: in main chunk", r.err)
  end)
end)

describe("tools/embed.lua", function()
  it("writes a C table of compiled chunks that load as the sources do, with names and chunk names", function()
    local tmp = os.tmpname()
    os.remove(tmp)
    local q = shell_quote
    assert(os.execute("mkdir -p " .. q(tmp .. "/lua/pkg/deep")))
    local files = {
      ["pkg/init.lua"] = "return 'init'\n",
      ["pkg/deep/mod.lua"] = "local x = ...\nif x ~= 'ok' then error('not ok: ' .. tostring(x)) end\n"
        .. "return '\\0\\1\\255 \"quoted\" \\\\ ??= */'\n",
      ["pkg/empty.lua"] = "",
    }
    local list = {}
    for rel, text in pairs(files) do
      write_file(tmp .. "/lua/" .. rel, text)
      list[#list + 1] = q(tmp .. "/lua/" .. rel)
    end
    write_file(tmp .. "/main.c", [[
#include <stdio.h>
#include "glsrun_embed.h"
int main(int argc, char **argv) {
  (void)argc;
  for (const glsrun_embedded *m = glsrun_embedded_modules; m->name; m++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.out", argv[1], m->name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(m->data, 1, m->len, f) != m->len || fclose(f)) return 1;
    printf("%s %s\n", m->name, m->chunkname);
  }
  return 0;
}
]])
    local build = ("cd %s && lua5.4 %s/tools/embed.lua %s/embedded.c %s/lua %s && "
      .. "cc -std=c11 -Wall -Wextra -Werror -I%s/src -o %s/t %s/main.c %s/embedded.c && %s/t %s"):format(
      q(ROOT), q(ROOT), q(tmp), q(tmp), table.concat(list, " "),
      q(ROOT), q(tmp), q(tmp), q(tmp), q(tmp), q(tmp))
    local r = sh(build)
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("pkg @pkg/init.lua\npkg.deep.mod @pkg/deep/mod.lua\npkg.empty @pkg/empty.lua\n", r.out)
    -- Each entry is bytecode (never the source text) that runs as the source does.
    local function chunk(name)
      local bytes = read_all(tmp .. "/" .. name .. ".out")
      assert.are.equal("\27Lua", bytes:sub(1, 4))
      return assert(load(bytes, "=" .. name, "b"))
    end
    assert.are.equal("init", chunk("pkg")())
    assert.are.equal(0, select("#", chunk("pkg.empty")()))
    -- debug information is kept: a failure names the file and the line
    local ok, err = pcall(chunk("pkg.deep.mod"), "arg")
    assert.is_false(ok)
    assert.are.equal("pkg/deep/mod.lua:2: not ok: arg", err)
    assert.are.equal("\0\1\255 \"quoted\" \\ ??= */", chunk("pkg.deep.mod")("ok"))
    os.execute("rm -rf " .. q(tmp))
  end)

  it("fails the build on a module that does not compile, naming its file and line", function()
    local tmp = os.tmpname()
    os.remove(tmp)
    assert(os.execute(("mkdir -p %s/lua/a"):format(shell_quote(tmp))))
    write_file(tmp .. "/lua/a/init.lua", "local x = 1\nreturn x +\n")
    local r = sh(("lua5.4 %s/tools/embed.lua %s/out.c %s/lua %s"):format(
      shell_quote(ROOT), shell_quote(tmp), shell_quote(tmp), shell_quote(tmp .. "/lua/a/init.lua")))
    assert.are.equal(1, r.code)
    assert.matches("embed.lua: a/init.lua:3: unexpected symbol near <eof>", r.err, 1, true)
    assert.is_nil(io.open(tmp .. "/out.c"))
    os.execute("rm -rf " .. shell_quote(tmp))
  end)

  it("refuses a file outside ROOT and two files for one module", function()
    local tmp = os.tmpname()
    os.remove(tmp)
    assert(os.execute(("mkdir -p %s/lua/a && touch %s/lua/a/init.lua %s/lua/a.lua %s/x.lua"):format(
      shell_quote(tmp), shell_quote(tmp), shell_quote(tmp), shell_quote(tmp))))
    local embed = ("lua5.4 %s/tools/embed.lua %s/out.c %s/lua "):format(
      shell_quote(ROOT), shell_quote(tmp), shell_quote(tmp))
    local r = sh(embed .. shell_quote(tmp .. "/x.lua"))
    assert.are.equal(1, r.code)
    assert.matches("x%.lua is not under ", r.err)
    r = sh(embed .. shell_quote(tmp .. "/lua/a/init.lua") .. " " .. shell_quote(tmp .. "/lua/a.lua"))
    assert.are.equal(1, r.code)
    assert.matches('are both module "a"', r.err)
    r = sh(embed .. shell_quote(tmp .. "/lua/a.lua"))
    assert.are.equal(0, r.code, r.err)
    assert.matches('{ "a", "@a.lua", module_1, %d+ },', read_all(tmp .. "/out.c"))
    os.execute("rm -rf " .. shell_quote(tmp))
  end)
end)
