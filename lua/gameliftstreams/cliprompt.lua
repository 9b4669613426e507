-- gameliftstreams.cliprompt: `--cli-auto-prompt`, `--no-cli-auto-prompt` and the
-- `cli_auto_prompt` setting (config file `on` | `on-partial`, environment
-- AWS_CLI_AUTO_PROMPT), as the AWS CLI v2 has them: on a terminal, glsrun asks
-- for the operation (Tab completes operation names), then for each required
-- parameter not given (Tab completes enum values), then for any other options
-- (Tab completes option names), shows the command line it built and runs it.
-- `on` prompts always, `on-partial` only when the command line lacks the
-- operation or a required parameter. Not on a terminal, nothing is asked.
--
-- The AWS CLI draws a full-screen prompt_toolkit interface; this is a line
-- prompt. The line editor is plain: the terminal in non-canonical mode
-- without echo (termios, set through stty(1)), printable characters append,
-- Backspace and Ctrl-U erase, Ctrl-W erases a word, Tab completes (twice
-- lists the candidates), Enter accepts, Ctrl-C or Ctrl-D on an empty line
-- gives up (exit 130 / 0, nothing run).
--
--   require("gameliftstreams.cliprompt").install(cli)   -- cliextra does it
--   prompt.editor(io)  -> ed; ed:readline(prompt, complete) -> line | nil, "interrupted"|"eof"
local climodel = require "gameliftstreams.climodel"

local M = {}

-------------------------------------------------------------------- line editor

local function common_prefix(list)
  local p = list[1] or ""
  for i = 2, #list do
    local s = list[i]
    local n = 0
    while n < #p and n < #s and p:byte(n + 1) == s:byte(n + 1) do n = n + 1 end
    p = p:sub(1, n)
  end
  return p
end

--- A line editor over input (read(n)) and output (write, flush) files.
function M.editor(input, output)
  local ed = {}

  --- Reads one line; complete(word, line) -> candidates for the word under
  -- the cursor (the line's end). Returns the line, or nil and "interrupted"
  -- (Ctrl-C) or "eof" (Ctrl-D on an empty line, or the input ended).
  function ed.readline(_, prompt, complete)
    local buf, tabs = "", 0
    output:write(prompt)
    output:flush()
    while true do
      local c = input:read(1)
      if c == nil then return nil, "eof" end
      local b = c:byte()
      if b == 9 then
        tabs = tabs + 1
        local word = buf:match("(%S*)$")
        local cands = {}
        for _, cand in ipairs(complete and complete(word, buf) or {}) do
          if cand:sub(1, #word) == word then cands[#cands + 1] = cand end
        end
        table.sort(cands)
        if #cands == 1 then
          local add = cands[1]:sub(#word + 1) .. " "
          buf = buf .. add
          output:write(add)
        elseif #cands > 1 then
          local p = common_prefix(cands)
          if #p > #word then
            buf = buf .. p:sub(#word + 1)
            output:write(p:sub(#word + 1))
          elseif tabs >= 2 then
            output:write("\r\n", table.concat(cands, "  "), "\r\n", prompt, buf)
          end
        end
      else
        tabs = 0
        if b == 13 or b == 10 then
          output:write("\r\n")
          output:flush()
          return buf
        elseif b == 3 then
          output:write("^C\r\n")
          output:flush()
          return nil, "interrupted"
        elseif b == 4 then
          if buf == "" then
            output:write("\r\n")
            output:flush()
            return nil, "eof"
          end
        elseif b == 127 or b == 8 then
          if #buf > 0 then
            -- one UTF-8 character
            local cut = #buf
            while cut > 1 and (buf:byte(cut) & 0xC0) == 0x80 do cut = cut - 1 end
            buf = buf:sub(1, cut - 1)
            output:write("\b \b")
          end
        elseif b == 21 then
          output:write(("\b \b"):rep(utf8.len(buf) or #buf))
          buf = ""
        elseif b == 23 then
          local keep = buf:match("^(.-)%S*%s*$")
          output:write(("\b \b"):rep((utf8.len(buf) or #buf) - (utf8.len(keep) or #keep)))
          buf = keep
        elseif b == 27 then
          -- an escape sequence (arrows, ...): not supported, swallowed
          local n = input:read(1)
          if n == "[" or n == "O" then
            repeat n = input:read(1) until n == nil or n:match("[%a~]")
          end
        elseif b >= 32 then
          buf = buf .. c
          output:write(c)
        end
      end
      output:flush()
    end
  end

  return ed
end

-------------------------------------------------------------------- terminal

local function sh_ok(cmd)
  local ok = os.execute(cmd)
  return ok == true or ok == 0
end

-- The terminal's settings (stty -g) before the prompt changed them.
local function raw_mode()
  local f = io.popen("stty -g </dev/tty 2>/dev/null")
  local saved = f and f:read("l")
  if f then f:close() end
  if not saved or saved == "" then return nil end
  if not sh_ok("stty -icanon -echo -isig min 1 time 0 </dev/tty 2>/dev/null") then return nil end
  return function() os.execute("stty " .. saved .. " </dev/tty 2>/dev/null") end
end

-------------------------------------------------------------------- the command

-- Shell-like words of a line: spaces split, '...' and "..." group.
local function words(line)
  local out, cur, i, q = {}, nil, 1, nil
  while i <= #line do
    local c = line:sub(i, i)
    if q then
      if c == q then q = nil else cur = cur .. c end
    elseif c == "'" or c == '"' then
      q = c
      cur = cur or ""
    elseif c:match("%s") then
      if cur then out[#out + 1] = cur; cur = nil end
    elseif c == "\\" and i < #line then
      i = i + 1
      cur = (cur or "") .. line:sub(i, i)
    else
      cur = (cur or "") .. c
    end
    i = i + 1
  end
  if cur then out[#out + 1] = cur end
  return out
end
M.words = words

local function quote(w)
  if w:match("^[%w%-_./:=@,+]+$") then return w end
  return "'" .. w:gsub("'", "'\\''") .. "'"
end

local function operation_names()
  local names = { "wait" }
  for cli in pairs(climodel.by_cli) do names[#names + 1] = cli end
  table.sort(names)
  return names
end

-- The operation's first word in argv (not an option nor an option's value).
local function find_operation(cli, argv)
  local globals = {}
  for _, g in ipairs(cli.GLOBALS or {}) do globals["--" .. g.name] = g end
  local i = 1
  while i <= #argv do
    local w = argv[i]
    if w:sub(1, 2) == "--" then
      local g = globals[w]
      if g and not g.flag then i = i + 1 end
    else
      return i, w
    end
    i = i + 1
  end
  return nil
end

local function given(argv, name)
  for _, w in ipairs(argv) do
    if w == "--" .. name or w:sub(1, #name + 3) == "--" .. name .. "=" then return true end
  end
  return false
end

local function required_missing(op, argv)
  local missing = {}
  if given(argv, "cli-input-json") or given(argv, "cli-input-yaml") or given(argv, "generate-cli-skeleton") then
    return missing
  end
  local input = op.input and climodel.shapes[op.input]
  for _, m in ipairs(input and input.members or {}) do
    if m.required and not given(argv, m.cli) then missing[#missing + 1] = m end
  end
  return missing
end

local function option_names(cli, op)
  local names = {}
  local input = op and op.input and climodel.shapes[op.input]
  for _, m in ipairs(input and input.members or {}) do names[#names + 1] = "--" .. m.cli end
  if op and op.paginator then
    for _, n in ipairs { "--starting-token", "--page-size", "--max-items" } do names[#names + 1] = n end
  end
  for _, n in ipairs { "--cli-input-json", "--cli-input-yaml", "--generate-cli-skeleton" } do
    names[#names + 1] = n
  end
  for _, g in ipairs(cli.GLOBALS or {}) do
    if g.name ~= "cli-auto-prompt" and g.name ~= "no-cli-auto-prompt" then names[#names + 1] = "--" .. g.name end
  end
  return names
end

--- The prompt's mode for argv: "on", "on-partial" or "off".
function M.mode(cli, argv, getenv)
  local mode
  for _, w in ipairs(argv) do
    if w == "--cli-auto-prompt" then mode = mode or "on" end
    if w == "--no-cli-auto-prompt" then return "off" end
  end
  if mode then return mode end
  mode = getenv("AWS_CLI_AUTO_PROMPT")
  if not mode and cli.config_section then
    local profile
    for i, w in ipairs(argv) do if w == "--profile" then profile = argv[i + 1] end end
    profile = profile or getenv("AWS_PROFILE") or getenv("AWS_DEFAULT_PROFILE") or "default"
    mode = cli.config_section(getenv, profile).cli_auto_prompt
  end
  if mode == "on" or mode == "on-partial" then return mode end
  return "off"
end

--- Completes argv by asking on ed (a line editor) and writing to out.
-- Returns the new argv, or nil and "interrupted" | "eof".
function M.prompt(cli, argv, ed, out)
  local args = {}
  for _, w in ipairs(argv) do
    if w ~= "--cli-auto-prompt" then args[#args + 1] = w end
  end
  local at, opname = find_operation(cli, args)
  local op = opname and climodel.by_cli[opname]
  if not opname or (not op and opname ~= "wait") then
    if at then table.remove(args, at) end
    local names = operation_names()
    while not op do
      local line, why = ed:readline("Operation: ", function() return names end)
      if not line then return nil, why end
      local w = words(line)
      if w[1] == "wait" then
        opname = "wait"
        table.insert(args, 1, "wait")
        for i = 2, #w do table.insert(args, i, w[i]) end
        break
      end
      op = w[1] and climodel.by_cli[w[1]]
      if op then
        table.insert(args, 1, w[1])
        for i = 2, #w do args[#args + 1] = w[i] end
      elseif w[1] then
        out:write(("Unknown operation %q: Tab lists them\r\n"):format(w[1]))
      end
    end
  end
  if opname == "wait" then
    local wat = 1
    for i, w in ipairs(args) do if w == "wait" then wat = i break end end
    local wname = args[wat + 1]
    if not (wname and climodel.waiters[wname]) then
      local names = {}
      for n in pairs(climodel.waiters) do names[#names + 1] = n end
      while true do
        local line, why = ed:readline("Waiter: ", function() return names end)
        if not line then return nil, why end
        local w = words(line)[1]
        if w and climodel.waiters[w] then table.insert(args, wat + 1, w) wname = w break end
      end
    end
    for cli_name, o in pairs(climodel.by_cli) do
      if o.name == climodel.waiters[wname].operation then op = climodel.by_cli[cli_name] end
    end
  end
  for _, m in ipairs(required_missing(op, args)) do
    local shape = climodel.shapes[m.shape]
    local enum = shape.enum
    local value
    repeat
      local line, why = ed:readline(("--%s (%s, required): "):format(m.cli, shape.type),
        function() return enum or {} end)
      if not line then return nil, why end
      value = line:gsub("^%s+", ""):gsub("%s+$", "")
    until value ~= ""
    args[#args + 1] = "--" .. m.cli
    if shape.type == "list" then
      for _, w in ipairs(words(value)) do args[#args + 1] = w end
    else
      args[#args + 1] = value
    end
  end
  local names = option_names(cli, op)
  local line, why = ed:readline("Other options (Tab completes, Enter runs): ", function(word, buf)
    -- after an option taking a value: its enum values, if any
    local prev = buf:match("(%-%-[%w-]+)%s+%S*$")
    if not word:match("^%-") and prev and op and op.input then
      for _, m in ipairs(climodel.shapes[op.input].members or {}) do
        if "--" .. m.cli == prev then return climodel.shapes[m.shape].enum or {} end
      end
      for _, g in ipairs(cli.GLOBALS or {}) do
        if "--" .. g.name == prev then return g.choices or {} end
      end
      return {}
    end
    return names
  end)
  if not line then return nil, why end
  for _, w in ipairs(words(line)) do args[#args + 1] = w end
  local shown = {}
  for i, w in ipairs(args) do shown[i] = quote(w) end
  out:write("glsrun ", table.concat(shown, " "), "\r\n")
  out:flush()
  return args
end

--- Wraps cli.main: prompts first when the mode says so and stdin and stdout
-- are a terminal.
function M.install(cli)
  local main = cli.main
  cli.main = function(argv, sys)
    sys = sys or {}
    local getenv = sys.getenv or os.getenv
    local mode = M.mode(cli, argv, getenv)
    if mode == "off" or not (sh_ok("test -t 0") and sh_ok("test -t 1")) then return main(argv, sys) end
    if mode == "on-partial" then
      local _, opname = find_operation(cli, argv)
      local op = opname and climodel.by_cli[opname]
      if op and #required_missing(op, argv) == 0 then return main(argv, sys) end
      if opname == "wait" or (opname and not op) then return main(argv, sys) end
    end
    local restore = raw_mode()
    if not restore then return main(argv, sys) end
    local ok, args, why = pcall(M.prompt, cli, argv, M.editor(io.stdin, io.stdout), io.stdout)
    restore()
    if not ok then error(args, 0) end
    if not args then return why == "interrupted" and 130 or 0 end
    return main(args, sys)
  end
end

return M
