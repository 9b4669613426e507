-- luacheck: std +busted
-- Installing gls as users do: `make install` (C library, header, gls.pc,
-- core.so, Lua modules, glsrun, the glsrun(1) manual page), a C program
-- built with pkg-config, `man glsrun`, and an offline `luarocks make --local`
-- whose modules a clean shell finds with only the luarocks paths. Slow (a
-- build from scratch); run from the checkout's root.

local helper = require "spec.helper"
local q = helper.quote

local read_all, write_file = helper.read_file, helper.write_file

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- Runs a shell script; returns { code =, out =, err = }.
local function sh(script)
  local out, err = os.tmpname(), os.tmpname()
  local _, _, code = os.execute(("{ %s\n} </dev/null >%s 2>%s"):format(script, out, err))
  local r = { code = code, out = read_all(out), err = read_all(err) }
  os.remove(out); os.remove(err)
  return r
end

local function mktemp_dir()
  local r = sh("mktemp -d")
  assert(r.code == 0, r.err)
  return (r.out:gsub("%s+$", ""))
end

local ROOT = assert(io.popen("pwd")):read("l")
local GLS_VERSION = read_all(ROOT .. "/src/gls.h"):match('#define GLS_VERSION "([^"]+)"')
-- A shell with nothing of ours in its environment.
local CLEAN = "env -i PATH=/usr/local/bin:/usr/bin:/bin "

describe("#install", function()
  local dirs = {}
  local function scratch()
    local d = mktemp_dir()
    dirs[#dirs + 1] = d
    return d
  end

  teardown(function()
    for _, d in ipairs(dirs) do os.execute("rm -rf " .. q(d)) end
  end)

  describe("make install PREFIX=...", function()
    local prefix

    setup(function()
      prefix = scratch()
      local r = sh(("cd %s && make install PREFIX=%s"):format(q(ROOT), q(prefix)))
      assert(r.code == 0, r.out .. r.err)
    end)

    it("installs the library, header, gls.pc, core.so, Lua modules and glsrun", function()
      for _, rel in ipairs({ "lib/libgls.a", "lib/libgls.so", "include/gls/gls.h",
                             "lib/pkgconfig/gls.pc", "lib/lua/5.4/gameliftstreams/core.so",
                             "bin/glsrun", "share/man/man1/glsrun.1" }) do
        assert.is_true(exists(prefix .. "/" .. rel), rel)
      end
      local p = assert(io.popen("cd " .. q(ROOT) .. " && ls lua/gameliftstreams/*.lua 2>/dev/null"))
      for path in p:lines() do
        local rel = "share/lua/5.4/" .. path:sub(#"lua/" + 1)
        assert.is_true(exists(prefix .. "/" .. rel), rel)
        assert.are.equal(read_all(ROOT .. "/" .. path), read_all(prefix .. "/" .. rel))
      end
      p:close()
      assert.matches("prefix=" .. prefix:gsub("%p", "%%%0") .. "\n",
                     read_all(prefix .. "/lib/pkgconfig/gls.pc"))
    end)

    it("a C program built with pkg-config --cflags --libs gls links and runs", function()
      local dir = scratch()
      write_file(dir .. "/t.c", [[
#include <stdio.h>
#include <string.h>
#include <gls.h>
int main(void) {
  printf("%s %s\n", gls_version(), gls_strerror(GLS_OK));
  return strcmp(gls_version(), GLS_VERSION) != 0;
}
]])
      local r = sh(([[
        cd %s && export PKG_CONFIG_PATH=%s/lib/pkgconfig &&
        cc -std=c11 -Wall -Wextra -Werror -o t t.c $(pkg-config --cflags --libs gls) &&
        LD_LIBRARY_PATH=%s/lib ./t && LD_LIBRARY_PATH=%s/lib ldd ./t | grep libgls]]):format(
        q(dir), q(prefix), q(prefix), q(prefix)))
      assert.are.equal(0, r.code, r.err)
      local version, lib = r.out:match("^(%S+) [^\n]*\n%s*libgls%.so => (%S+)")
      assert.are.equal(GLS_VERSION, version)
      assert.are.equal(prefix .. "/lib/libgls.so", lib)
    end)

    it("examples/host.c builds as its comment says and keeps a player in the game", function()
      local emulator = require "spec.support.emulator"
      local emu = emulator.start{}
      finally(function() emu.stop() end)
      local dir = scratch()
      local r = sh(([[
        cd %s && export PKG_CONFIG_PATH=%s/lib/pkgconfig &&
        cc -std=c11 -Wall -Wextra -Werror -o host %s/examples/host.c $(pkg-config --cflags --libs gls libcurl) &&
        env -u AWS_ACCESS_KEY_ID LD_LIBRARY_PATH=%s/lib ./host %s]]):format(
        q(dir), q(prefix), q(ROOT), q(prefix), q(emu.url)))
      assert.are.equal(0, r.code, r.out .. r.err)
      assert.matches("host: the token rotated: yes\n", r.out)
      assert.matches("host: player%-1 left; session terminated\n", r.out)
    end)

    it("man glsrun shows the manual page: every section, every command, every exit status", function()
      local has_man = sh("command -v man && command -v groff")
      if has_man.code ~= 0 then return pending("man-db and groff-base are not installed") end
      local r = sh(("cd / && %s MANPATH=%s/share/man MANWIDTH=100 man glsrun"):format(CLEAN, q(prefix)))
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("", r.err)
      local page = r.out
      assert.matches("^GLSRUN%(1%)", page)
      for _, section in ipairs({ "NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "ENVIRONMENT",
                                 "EXIT STATUS", "FILES", "EXAMPLES", "SEE ALSO" }) do
        assert.matches("\n" .. section .. "\n", page, nil, true)
      end
      assert.matches("glsrun %- Lua 5%.4 with Amazon GameLift Streams", (page:gsub("%s+", " ")))
      local commands = page:match("\nCOMMANDS\n(.-)\nOPTIONS\n")
      for _, cmd in ipairs({ "SCRIPT %[ARGS...%]", "OPERATION %[OPTIONS%]", "wait WAITER %[OPTIONS%]",
                             "\n       emulator\n", "serve POLICY%.lua" }) do
        assert.matches(cmd, commands)
      end
      assert.matches("aws gameliftstreams OPERATION", (commands:gsub("%s+", " ")))
      local exits = "\n" .. page:match("\nEXIT STATUS\n(.-)\nFILES\n")
      for _, code in ipairs({ "0", "1", "130", "252", "253", "254", "255" }) do
        assert.matches("\n       " .. code .. "%s", exits)
      end
    end)

    it("the installed glsrun needs no Lua path", function()
      local r = sh(("cd / && %s %s/bin/glsrun -e %s"):format(CLEAN, q(prefix),
        q("print(require('gameliftstreams.core')._VERSION)")))
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(GLS_VERSION .. "\n", r.out)
    end)

    it("DESTDIR stages the same tree", function()
      local dest = scratch()
      local r = sh(("cd %s && make install DESTDIR=%s PREFIX=/opt/gls"):format(q(ROOT), q(dest)))
      assert.are.equal(0, r.code, r.err)
      assert.is_true(exists(dest .. "/opt/gls/bin/glsrun"))
      assert.matches("prefix=/opt/gls\n", read_all(dest .. "/opt/gls/lib/pkgconfig/gls.pc"))
      -- put gls.pc back to the default prefix for whoever builds next
      sh(("cd %s && make %s/gls.pc"):format(q(ROOT), "build"))
    end)
  end)

  describe("luarocks make --local, offline", function()
    local home, src

    setup(function()
      home, src = scratch(), scratch()
      -- A copy without build/, so the rock builds from scratch.
      local r = sh(([[
        cd %s && cp -R Makefile src tools rockspec doc %s/ &&
        if [ -d lua ]; then cp -R lua %s/; fi]]):format(q(ROOT), q(src), q(src)))
      assert(r.code == 0, r.err)
    end)

    it("installs core.so, the Lua modules and glsrun into the user tree", function()
      local r = sh(("cd %s && %s HOME=%s luarocks --lua-version 5.4 make --local "
        .. "rockspec/gameliftstreams-scm-1.rockspec"):format(q(src), CLEAN, q(home)))
      assert.are.equal(0, r.code, r.out .. r.err)
      assert.matches("gameliftstreams scm%-1 is now installed", r.out)
      local tree = home .. "/.luarocks"
      assert.is_true(exists(tree .. "/lib/lua/5.4/gameliftstreams/core.so"))
      assert.is_true(exists(tree .. "/bin/glsrun"))
      -- the C library stays inside the rock, off the Lua paths
      assert.is_false(exists(tree .. "/lib/lua/5.4/libgls.a"))
      local rock = tree .. "/lib/luarocks/rocks-5.4/gameliftstreams/scm-1"
      assert.is_true(exists(rock .. "/c/lib/libgls.a"))
      assert.is_true(exists(rock .. "/c/include/gls/gls.h"))

      -- a clean shell that only evaluates `luarocks path`
      r = sh(("cd / && %s HOME=%s sh -c %s"):format(CLEAN, q(home), q([[
        eval "$(luarocks --lua-version 5.4 path)"
        lua5.4 -e 'local g = require "gameliftstreams.core"; print(g._VERSION)
                   print(package.searchpath("gameliftstreams.core", package.cpath))'
        glsrun -v
        command -v glsrun]])))
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(table.concat({
        GLS_VERSION,
        tree .. "/lib/lua/5.4/gameliftstreams/core.so",
        "glsrun " .. GLS_VERSION .. " (" .. _VERSION .. ".",
      }, "\n"), r.out:match("^(.-)%d+%)\n"))
      assert.matches("\n" .. tree:gsub("%p", "%%%0") .. "/bin/glsrun\n$", r.out)

      -- env -i with only the luarocks paths: require "gameliftstreams" (the
      -- whole client, its Lua modules and core.so) comes from the user tree
      r = sh(("cd / && %s HOME=%s luarocks --lua-version 5.4 path --lr-path && %s HOME=%s luarocks "
        .. "--lua-version 5.4 path --lr-cpath"):format(CLEAN, q(home), CLEAN, q(home)))
      assert.are.equal(0, r.code, r.err)
      local lr_path, lr_cpath = r.out:match("^([^\n]+)\n([^\n]+)\n$")
      assert.is_string(lr_path, r.out)
      r = sh(("cd / && env -i LUA_PATH_5_4=%s LUA_CPATH_5_4=%s lua5.4 -e %s"):format(
        q(lr_path .. ";;"), q(lr_cpath .. ";;"), q([[
          local gls = require "gameliftstreams"
          local c = gls.client{ region = "us-west-2", endpoint_url = "http://127.0.0.1:9",
                                credentials = { access_key_id = "AKIDEXAMPLE", secret_access_key = "x" } }
          print(type(c.create_stream_session_connection))
          print(package.searchpath("gameliftstreams", package.path))
          print(package.searchpath("gameliftstreams.core", package.cpath))
          print(os.getenv("HOME"), os.getenv("PATH"))]])))
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(table.concat({
        "function",
        tree .. "/share/lua/5.4/gameliftstreams/init.lua",
        tree .. "/lib/lua/5.4/gameliftstreams/core.so",
        "nil\tnil", "" }, "\n"), r.out)
    end)
  end)
end)
