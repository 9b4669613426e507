--- gameliftstreams.command: the start every glsrun server command shares
-- (`glsrun emulator`, `glsrun serve`).
local command = {}

--- Parses argv for `glsrun NAME` with parse_args(argv) -> options | nil, why
-- | nil, nil, true (help). Returns options, stdout, stderr to go on with, or
-- nil, exit code: 0 after printing usage for --help, 252 after a message
-- naming the bad option in glsrun's format. sys (tests) may replace stdout
-- and stderr.
function command.begin(name, usage, parse_args, argv, sys)
  sys = sys or {}
  local stdout, stderr = sys.stdout or io.stdout, sys.stderr or io.stderr
  local o, why, help = parse_args(argv or {})
  if help then
    stdout:write(usage)
    return nil, 0
  end
  if not o then
    stderr:write("glsrun: ", name, ": ", why, "\n", usage:match("^(.-\n.-\n.-\n)"),
                 "Try 'glsrun ", name, " --help' for more.\n")
    if stderr.flush then stderr:flush() end
    return nil, 252
  end
  return o, stdout, stderr
end

return command
