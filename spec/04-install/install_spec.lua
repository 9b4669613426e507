-- luacheck: std +busted
-- Installing gls: `make install` (C library, header, gls.pc, core.so, Lua
-- modules, glsrun) and an offline `luarocks make --local`. Slow (a build
-- from scratch); run from the checkout's root.

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
                             "bin/glsrun" }) do
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
        cd %s && cp -R Makefile src tools rockspec %s/ &&
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
    end)
  end)
end)
