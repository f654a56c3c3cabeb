-- The Neovim plugin's end-to-end suite. A parent `nvim --headless -l` (0.9+) drives a clean
-- child (`--embed --headless --clean`, its own VIMRUNTIME) over RPC against a real
-- `autan lsp`, with the bundled model on CPU:
--   nvim --headless -l editors/nvim/test/run.lua CHILD_NVIM CHILD_RUNTIME AUTAN
-- The caller gives private XDG_* dirs (tests/editors/test_nvim.py does); exit code 0 = pass.
local child_nvim, child_runtime, autan = arg[1], arg[2], arg[3]
assert(child_nvim and child_runtime and autan, 'usage: run.lua CHILD_NVIM CHILD_RUNTIME AUTAN')
local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
local plugin = vim.fn.fnamemodify(here, ':h')
local tmp = vim.fn.tempname()
vim.fn.mkdir(tmp, 'p')
local failures = 0
local chan

local function log(...)
  io.stdout:write(table.concat(vim.tbl_map(tostring, { ... }), ' ') .. '\n')
  io.stdout:flush()
end

local function lua(code, ...)
  return vim.rpcrequest(chan, 'nvim_exec_lua', code, { ... })
end

local function input(keys)
  vim.rpcrequest(chan, 'nvim_input', keys)
end

local function wait_for(what, timeout_ms, fn, on_timeout)
  local deadline = vim.uv.now() + timeout_ms
  repeat
    local ok, value = pcall(fn)
    if ok and value then
      return value
    end
    vim.wait(50)
    vim.uv.update_time()
  until vim.uv.now() > deadline
  if on_timeout then
    pcall(on_timeout)
  end
  error('timed out waiting for ' .. what, 2)
end

local function check(name, fn)
  local start = vim.uv.hrtime()
  local ok, err = pcall(fn)
  local ms = math.floor((vim.uv.hrtime() - start) / 1e6)
  if ok then
    log(('ok   %s (%d ms)'):format(name, ms))
  else
    failures = failures + 1
    log(('FAIL %s (%d ms): %s'):format(name, ms, tostring(err)))
    pcall(function()
      log('  child messages: ' .. lua("return vim.api.nvim_exec('messages', true)"))
      log('  child line: ' .. vim.inspect(lua('return vim.api.nvim_get_current_line()')))
    end)
  end
end

local function child_init(settings)
  local init = tmp .. '/init.lua'
  local lines = {
    ('vim.opt.runtimepath:prepend(%q)'):format(plugin),
    'vim.opt.swapfile = false',
    'vim.opt.shortmess:append("I")',
    ('require("autan").setup({ cmd = { %q, "lsp" }, settings = %s, debounce_ms = 60 })')
      :format(autan, vim.inspect(settings, { newline = ' ', indent = '' })),
    'vim.api.nvim_create_autocmd("FileType", { callback = function()',
    '  vim.bo.autoindent = false; vim.bo.indentexpr = ""; vim.bo.smartindent = false',
    '  vim.bo.expandtab = false end })',
  }
  vim.fn.writefile(lines, init)
  return init
end

local function start_child(settings, file)
  local init = child_init(settings)
  chan = vim.fn.jobstart({ child_nvim, '--embed', '--headless', '--clean', '-n', '-u', init,
    file }, { rpc = true, env = { VIMRUNTIME = child_runtime } })
  assert(chan > 0, 'cannot start ' .. child_nvim)
  wait_for('the child', 20000, function() return lua('return 1') == 1 end)
end

local function stop_child()
  pcall(lua, [[
    local pid
    local done = false
    require('autan').stats(function(_, s) pid = s and s.engine_pid; done = true end)
    vim.wait(10000, function() return done end)
    for _, c in ipairs(require('autan.lsp').all()) do require('autan.util').call(c, 'stop') end
    vim.wait(5000, function() return #require('autan.lsp').all() == 0 end)
    if pid and pid ~= vim.NIL then (vim.uv or vim.loop).kill(pid, 15) end
  ]])
  pcall(vim.rpcrequest, chan, 'nvim_command', 'qa!')
  vim.fn.jobwait({ chan }, 5000)
  pcall(vim.fn.jobstop, chan)
end

-- The suggestion on screen in the child: the plugin's or the built-in's extmark text.
local GHOST = [[
  local out = {}
  for _, name in ipairs({ 'autan.ghost', 'nvim.lsp.inline_completion' }) do
    local ns = vim.api.nvim_create_namespace(name)
    for _, m in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
      local d, parts = m[4], {}
      for _, c in ipairs(d.virt_text or {}) do table.insert(parts, c[1]) end
      for _, l in ipairs(d.virt_lines or {}) do
        table.insert(parts, '\n'); for _, c in ipairs(l) do table.insert(parts, c[1]) end
      end
      table.insert(out, table.concat(parts))
    end
  end
  return out[1]
]]

local function ghost_text()
  return lua(GHOST)
end

local function wait_ghost(what)
  return wait_for(what or 'ghost text', 90000, function()
    local text = ghost_text()
    return text ~= vim.NIL and text ~= '' and text
  end)
end

local function line()
  return lua('return vim.api.nvim_get_current_line()')
end

local function stats()
  return lua([[
    local out
    require('autan').stats(function(err, s) out = s or { error = err } end)
    vim.wait(20000, function() return out ~= nil end)
    return out
  ]])
end

local workspace = tmp .. '/ws'
vim.fn.mkdir(workspace, 'p')
vim.fn.writefile(vim.fn.readfile(here .. '/fixture/calc.py'), workspace .. '/calc.py')
vim.fn.writefile({ 'TOKEN=abc' }, workspace .. '/.env')
local calc = workspace .. '/calc.py'

log('child: ' .. child_nvim)
local only_stream = os.getenv('AUTAN_NVIM_ONLY') == 'stream'
if not only_stream then
start_child({ completion = { maxTokens = 8 } }, calc)
local VERSION = 'local v = vim.version(); return v.major .. "." .. v.minor .. "." .. v.patch'
log('child version: ' .. lua(VERSION) ..
  (lua('return require("autan").uses_builtin()') and ' (built-in inline completion)' or ''))

check('attach and status', function()
  wait_for('the client', 30000, function()
    return lua('return require("autan.lsp").get(0) ~= nil')
  end)
  wait_for('status', 60000, function()
    local s = lua('return require("autan").status()')
    return s:match('^autan: ') and not s:match('starting') and s
  end)
end)

check('ghost text appears while typing', function()
  lua('vim.cmd("normal! G$")')
  input('o    return')
  local text = wait_ghost()
  log('  suggestion: ' .. vim.inspect(text))
end)

check('accept a word', function()
  local before = line()
  local text = ghost_text()
  input('<M-Right>')
  wait_for('the word inserted', 5000, function() return line() ~= before end)
  local got = line():sub(#before + 1)
  assert(text:sub(1, #got) == got, ('inserted %q, not a start of %q'):format(got, text))
end)

check('accept the rest with Tab', function()
  local text = wait_ghost('ghost text after the word')
  local before = line()
  input('<Tab>')
  local first = vim.split(text, '\n', { plain = true })[1]
  wait_for('the suggestion inserted', 5000, function() return line() == before .. first end)
end)

check('cycle and dismiss', function()
  input('<CR><CR><CR>def div(a, b):<CR>    return')
  wait_ghost()
  lua('require("autan").next()')
  wait_ghost('ghost text after next()')
  lua('require("autan").prev()')
  wait_ghost('ghost text after prev()')
  assert(lua('return require("autan").dismiss()') ~= nil)
  wait_for('no ghost text', 3000, function() return ghost_text() == vim.NIL end)
  assert(not lua('return require("autan").visible()'), 'still visible')
end)

check('toggle off: no suggestion, Tab inserts a tab, status says off', function()
  assert(lua('return require("autan").toggle()') == false)
  assert(lua('return require("autan").status()') == 'autan: off')
  input(' x')
  vim.wait(1500)
  assert(ghost_text() == vim.NIL, 'ghost text while off')
  local before = line()
  input('<Tab>')
  wait_for('a tab', 3000, function() return line() == before .. '\t' end)
  input('<BS><BS><BS>')
  assert(lua('return require("autan").toggle()') == true)
  assert(lua('return require("autan").status()'):match('^autan: '))
end)

check('InsertLeave clears the ghost text', function()
  input(' a')
  wait_ghost()
  input('<Esc>')
  wait_for('no ghost text', 3000, function() return ghost_text() == vim.NIL end)
end)

check('autan/stats counts shown and accepted', function()
  local s = stats()
  assert(not s.error, vim.inspect(s.error))
  local a = s.acceptance
  log('  acceptance: ' .. vim.inspect(a))
  assert(a.shown >= 2, 'shown ' .. a.shown)
  assert(a.accepted >= 1, 'accepted ' .. a.accepted)
  assert(a.partially_accepted >= 1, 'partially accepted ' .. a.partially_accepted)
  assert(a.accepted_chars >= 2, 'accepted chars ' .. a.accepted_chars)
  assert(s.settings.completion.max_tokens == 8, 'settings not applied')
end)

check('secret files are never attached', function()
  lua('vim.cmd("edit " .. vim.fn.fnameescape(...))', workspace .. '/.env')
  vim.wait(500)
  assert(lua('return require("autan.lsp").get(0) == nil'), '.env attached')
  assert(lua('return require("autan.util").is_secret_file("/a/.ssh/id_ed25519")'))
  assert(not lua('return require("autan.util").is_secret_file("/a/secrets.py")'))
end)

check(':Autan, :checkhealth autan and :help autan', function()
  lua('vim.cmd("Autan stats")')
  local rtp = tmp .. '/rtp'
  vim.fn.mkdir(rtp .. '/doc', 'p')
  vim.fn.writefile(vim.fn.readfile(plugin .. '/doc/autan.txt'), rtp .. '/doc/autan.txt')
  lua('vim.opt.runtimepath:append(...); vim.cmd("helptags " .. ... .. "/doc")', rtp)
  lua('vim.cmd("help autan")')
  assert(lua('return vim.fn.expand("%:t")') == 'autan.txt', 'help did not open autan.txt')
  lua('vim.cmd("help autan-keys")')
  lua('vim.cmd("checkhealth autan")')
  local report = table.concat(lua('return vim.api.nvim_buf_get_lines(0, 0, -1, false)'), '\n')
  assert(report:match('server: '), report)
end)

check('no errors or warnings in :messages', function()
  local messages = lua("return vim.api.nvim_exec('messages', true)")
  assert(not messages:match('E%d+:') and not messages:lower():match('deprecat')
    and not messages:match('stack traceback'), messages)
end)

stop_child()
end

-- Streaming: the ghost text grows as autan/inlineCompletionProgress arrives.
vim.fn.writefile(vim.fn.readfile(here .. '/fixture/calc.py'), calc)
start_child({ completion = { maxTokens = 40 }, streamProgress = true }, calc)
check('streamed text is drawn before the final item', function()
  wait_for('the client', 30000, function()
    return lua('return require("autan.lsp").get(0) ~= nil')
  end)
  lua([[
    local ghost = require('autan.ghost')
    _G.drawn = {}
    local draw = ghost.draw_text
    ghost.draw_text = function(buf, row, col, text, ns)
      local s = ghost.suggestion(buf)
      table.insert(_G.drawn, { text = text, partial = s == nil or s.partial == true })
      return draw(buf, row, col, text, ns)
    end
    vim.cmd('normal! G$')
  ]])
  input('o    return')
  wait_for('a streamed draw', 90000, function()
    return lua('return #vim.tbl_filter(function(d) return d.partial end, _G.drawn)') > 0
  end)
  local final = wait_for('the final item', 60000, function()
    if lua('return require("autan").uses_builtin()') then
      local text = lua([[
        local ns = vim.api.nvim_create_namespace('nvim.lsp.inline_completion')
        return #vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, {}) > 0]])
      return text and 'built-in'
    end
    local s = lua('return require("autan.ghost").suggestion(0)')
    return s ~= vim.NIL and not s.partial and s.text
  end, function()
    log('  draws: ' .. vim.inspect(lua('return _G.drawn')))
    log('  recent: ' .. vim.inspect(stats().recent))
  end)
  local drawn = lua('return _G.drawn')
  log(('  %d draws, final: %s'):format(#drawn, vim.inspect(final)))
end)
stop_child()

vim.fn.delete(tmp, 'rf')
log(failures == 0 and 'PASS' or ('FAILED: ' .. failures))
os.exit(failures == 0 and 0 or 1)
