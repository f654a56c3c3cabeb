-- autan for Neovim: fill-in-the-middle ghost text from the `autan lsp` language server.
-- `require('autan').setup(opts)`; see :help autan. On 0.12 the built-in
-- vim.lsp.inline_completion does the requests and drawing (autan.builtin); on 0.7 to 0.11 the
-- plugin does them itself (autan.ghost).
local util = require('autan.util')
local lsp = require('autan.lsp')
local ghost = require('autan.ghost')
local api = vim.api

local M = {}

M.defaults = {
  cmd = nil, -- nil: a workspace .venv/bin/autan, else {'autan', 'lsp'} from PATH
  settings = {}, -- the server's options (camelCase), see server/options.py
  filetypes = nil, -- nil: every file buffer
  debounce_ms = 150, -- 0.7 to 0.11 (the built-in path waits 200 ms)
  builtin = nil, -- nil: the built-in inline completion when Neovim has it (0.12)
  keys = {
    accept = '<Tab>', -- falls back to your own <Tab> mapping when there is no suggestion
    accept_word = '<M-Right>',
    accept_line = '<M-Down>',
    next = '<M-]>',
    prev = '<M-[>',
    dismiss = '<C-]>',
  },
}

M.enabled = true
local builtin -- the autan.builtin module on 0.12, nil otherwise

local function buf0()
  return api.nvim_get_current_buf()
end

-- Public functions -----------------------------------------------------------------------

function M.visible()
  if builtin then
    return builtin.visible(buf0())
  end
  return ghost.visible(buf0())
end

local function accept(kind)
  if not M.enabled then
    return false
  end
  if builtin then
    return builtin.accept(buf0(), kind)
  end
  return ghost.accept(buf0(), kind)
end

function M.accept() return accept('full') end
function M.accept_word() return accept('word') end
function M.accept_line() return accept('line') end

function M.next()
  if builtin then return builtin.cycle(buf0(), 1) end
  return ghost.cycle(buf0(), 1)
end

function M.prev()
  if builtin then return builtin.cycle(buf0(), -1) end
  return ghost.cycle(buf0(), -1)
end

function M.dismiss()
  if builtin then return builtin.dismiss(buf0()) end
  return ghost.dismiss(buf0())
end

function M.toggle(on)
  if on == nil then
    on = not M.enabled
  end
  M.enabled = on
  ghost.enabled = on
  if builtin then
    builtin.set_enabled(on)
  end
  for _, buf in ipairs(api.nvim_list_bufs()) do
    ghost.reset(buf)
  end
  pcall(api.nvim_exec_autocmds, 'User', { pattern = 'AutanStatus', modeline = false })
  return on
end

-- A short text for statuslines: '' when autan is not attached, else 'autan: <state>'.
function M.status()
  if not lsp.get(buf0()) then
    return ''
  end
  if not M.enabled then
    return 'autan: off'
  end
  local s = lsp.state
  local text = 'autan: ' .. (s.state or '?')
  if s.percentage then
    text = text .. ' ' .. s.percentage .. '%'
  end
  return text
end

function M.stats(callback)
  lsp.stats(buf0(), callback or function(err, stats)
    if err then
      return vim.notify('autan: ' .. tostring(err.message or err), vim.log.levels.WARN)
    end
    local a = stats.acceptance or {}
    vim.notify(('autan: %d requests, %d answered, %d empty, %d cancelled, %d errors; '
      .. 'shown %d, accepted %d, partly %d'):format(stats.requests, stats.answered, stats.empty,
      stats.cancelled, stats.errors, a.shown or 0, a.accepted or 0, a.partially_accepted or 0))
  end)
end

-- Keys -------------------------------------------------------------------------------------

-- Run the key's previous insert-mode mapping (captured at setup), or the key itself.
local function fallback(key, previous)
  local keys = key
  local mode = 'n'
  if previous and not vim.tbl_isempty(previous) then
    mode = previous.noremap == 1 and 'n' or 'm'
    if previous.callback then
      keys = previous.callback()
      if previous.expr ~= 1 then
        return
      end
    else
      local rhs = previous.rhs or ''
      if previous.sid and previous.sid > 0 then -- a script's <SID>: only its <SNR>N_ resolves
        rhs = rhs:gsub('<[Ss][Ii][Dd]>', '<SNR>' .. previous.sid .. '_')
      end
      keys = previous.expr == 1 and api.nvim_eval(rhs) or rhs
    end
  end
  if type(keys) == 'string' and keys ~= '' then
    api.nvim_feedkeys(api.nvim_replace_termcodes(keys, true, false, true), mode .. 'i', false)
  end
end

local ACCEPT_DESC = 'autan: accept the suggestion'
local accept_previous = {} -- accept key -> the insert mapping it had before setup()

local function snippet_active()
  return vim.snippet ~= nil and vim.snippet.active ~= nil and vim.snippet.active({ direction = 1 })
end

local function map_keys(keys)
  local function map(lhs, fn, desc)
    if lhs and lhs ~= '' then
      vim.keymap.set('i', lhs, fn, { silent = true, desc = desc })
    end
  end
  if keys.accept and keys.accept ~= '' then
    local previous = vim.fn.maparg(keys.accept, 'i', false, true)
    if previous.desc == ACCEPT_DESC then -- setup() again: keep the user's mapping seen first
      previous = accept_previous[keys.accept] or {}
    end
    accept_previous[keys.accept] = previous
    map(keys.accept, function()
      if vim.fn.pumvisible() == 1 or snippet_active() or not M.accept() then
        fallback(keys.accept, previous)
      end
    end, ACCEPT_DESC)
  end
  map(keys.accept_word, M.accept_word, 'autan: accept the next word')
  map(keys.accept_line, M.accept_line, 'autan: accept the next line')
  map(keys.next, M.next, 'autan: next suggestion')
  map(keys.prev, M.prev, 'autan: previous suggestion')
  map(keys.dismiss, M.dismiss, 'autan: dismiss the suggestion')
end

-- Commands and events ----------------------------------------------------------------------

local SUBCOMMANDS = {
  toggle = function() vim.notify('autan: ' .. (M.toggle() and 'on' or 'off')) end,
  restart = function() lsp.restart() end,
  stats = function() M.stats() end,
  log = function() vim.cmd('tabnew ' .. vim.fn.fnameescape(vim.lsp.get_log_path())) end,
}

local function command(args)
  local fn = SUBCOMMANDS[args.args]
  if not fn then
    return vim.notify('autan: :Autan toggle|restart|stats|log', vim.log.levels.ERROR)
  end
  fn()
end

local function on_attach(_, buf)
  if builtin then
    vim.lsp.inline_completion.enable(M.enabled, { bufnr = buf })
  end
end

local function autocmds()
  local group = api.nvim_create_augroup('autan', { clear = true })
  api.nvim_create_autocmd({ 'FileType', 'BufEnter', 'BufReadPost' }, {
    group = group,
    callback = function(ev) lsp.attach(ev.buf) end,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = group,
    callback = function(ev)
      ghost.reset(ev.buf)
      if builtin then builtin.stop_stream(ev.buf) end
    end,
  })
  if builtin then
    api.nvim_create_autocmd({ 'TextChangedI', 'CursorMovedI' }, {
      group = group,
      callback = function(ev) builtin.stop_stream(ev.buf) end,
    })
    api.nvim_create_autocmd('LspRequest', {
      group = group,
      callback = function(ev)
        local r = ev.data and ev.data.request
        if r and r.method == 'textDocument/inlineCompletion' and r.type ~= 'pending' then
          vim.schedule(function() builtin.on_reply(ev.buf) end)
        end
      end,
    })
    return
  end
  api.nvim_create_autocmd({ 'TextChangedI', 'CursorMovedI', 'InsertEnter' }, {
    group = group,
    callback = function(ev)
      if M.enabled and lsp.get(ev.buf) then ghost.on_change(ev.buf) end
    end,
  })
end

function M.setup(opts)
  opts = opts or {}
  local config = vim.tbl_deep_extend('force', M.defaults, opts)
  if opts.keys == false then
    config.keys = {}
  end
  M.config = config
  lsp.config = config
  ghost.debounce_ms = config.debounce_ms
  local use_builtin = config.builtin
  if use_builtin == nil then
    use_builtin = util.has('0.12') and require('autan.builtin').available()
  end
  builtin = use_builtin and require('autan.builtin') or nil
  lsp.on_attach = on_attach
  lsp.handlers['autan/inlineCompletionProgress'] = function(result)
    if builtin then builtin.on_progress(result) else ghost.on_progress(result) end
  end
  vim.cmd('highlight default link AutanGhost Comment')
  map_keys(config.keys)
  autocmds()
  api.nvim_create_user_command('Autan', command, {
    nargs = 1,
    complete = function() return vim.tbl_keys(SUBCOMMANDS) end,
  })
  for _, buf in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(buf) then
      lsp.attach(buf)
    end
  end
end

function M.uses_builtin()
  return builtin ~= nil
end

return M
