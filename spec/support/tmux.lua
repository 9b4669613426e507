-- spec/support/tmux.lua: a terminal for specs that type as a person does.
--
--   local tmux = require "spec.support.tmux"
--   if tmux.available() then
--     local t = tmux.pane("sh command line")   -- its own tmux server (-L)
--     t.type("text") t.key("Tab") t.wait_for("shown text") t.screen() t.kill()
--   end
local helper = require "spec.helper"

local quote = helper.quote
local M = {}

function M.available()
  return os.execute("command -v tmux >/dev/null 2>&1") == true
end

-- A tmux server of our own (-L), one pane running cmd.
function M.pane(cmd)
  local t = { socket = "glsprompt" .. tostring(os.time()) .. tostring(math.random(1e6)) }
  local function tmux(args)
    return "tmux -L " .. t.socket .. " " .. args
  end
  assert(os.execute(tmux("new-session -d -s p -x 160 -y 50 " .. quote(cmd))))
  function t.type(text) assert(os.execute(tmux("send-keys -t p -l -- " .. quote(text)))) end
  function t.key(name) assert(os.execute(tmux("send-keys -t p " .. name))) end
  function t.screen()
    local f = assert(io.popen(tmux("capture-pane -p -N -t p")))
    local s = f:read("a")
    f:close()
    return s
  end
  --- Waits until the screen holds text (plain); returns the screen.
  function t.wait_for(text, seconds)
    local s
    for _ = 1, (seconds or 10) * 20 do
      s = t.screen()
      if s:find(text, 1, true) then return s end
      os.execute("sleep 0.05")
    end
    error(("%q never showed; the screen:\n%s"):format(text, s))
  end
  function t.kill() os.execute(tmux("kill-server 2>/dev/null")) end
  return t
end

return M
