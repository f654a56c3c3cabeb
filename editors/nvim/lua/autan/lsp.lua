-- The autan language server's client: starting it per workspace root (vim.lsp.start on 0.8+,
-- start_client + buf_attach_client on 0.7), custom notifications, status and restart.
local util = require('autan.util')
local M = {}

M.NAME = 'autan'
M.config = nil -- set by setup
M.clients = {} -- root -> client id (0.7; on 0.8+ vim.lsp.start reuses by name and root)
M.state = { state = 'starting', message = '' } -- from autan/status and $/progress
M.handlers = {} -- extra notification handlers, method -> fn(result, ctx)

local function root_of(path)
  local dir = vim.fn.fnamemodify(path, ':p:h')
  local git = vim.fn.finddir('.git', dir .. ';')
  if git == '' then
    git = vim.fn.findfile('.git', dir .. ';')
  end
  if git ~= '' then
    return vim.fn.fnamemodify(git, ':p:h:h'):gsub('/$', '')
  end
  return dir
end

-- `opts.cmd`, or the workspace's own .venv/bin/autan, or `autan lsp` from PATH.
function M.command(root)
  if M.config.cmd then
    return M.config.cmd
  end
  for _, dir in ipairs({ root, vim.fn.getcwd() }) do
    local venv = dir .. '/.venv/bin/autan'
    if vim.fn.executable(venv) == 1 then
      return { venv, 'lsp' }
    end
  end
  return { 'autan', 'lsp' }
end

-- Whether a buffer may be sent to the server at all.
function M.eligible(buf)
  if vim.bo[buf].buftype ~= '' then
    return false
  end
  local name = vim.api.nvim_buf_get_name(buf)
  if name == '' or util.is_secret_file(name) then
    return false
  end
  local fts = M.config.filetypes
  return fts == nil or vim.tbl_contains(fts, vim.bo[buf].filetype)
end

local function on_status(_, result)
  if type(result) == 'table' then
    M.state = { state = result.state, message = result.message or '',
                percentage = result.percentage }
  end
  pcall(vim.api.nvim_exec_autocmds, 'User', { pattern = 'AutanStatus', modeline = false })
end

local function on_progress(err, result, ctx, config)
  local default = vim.lsp.handlers['$/progress']
  if default then
    pcall(default, err, result, ctx, config)
  end
  local value = type(result) == 'table' and result.value
  if type(value) == 'table' then
    local s = M.state
    if value.kind == 'end' then
      M.state = { state = 'ready', message = value.message or '' }
    else
      M.state = { state = 'indexing', message = value.message or s.message,
                  percentage = value.percentage or s.percentage }
    end
    pcall(vim.api.nvim_exec_autocmds, 'User', { pattern = 'AutanStatus', modeline = false })
  end
end

local function custom(method)
  return function(_, result, ctx)
    local fn = M.handlers[method]
    if fn then
      fn(result, ctx)
    end
  end
end

local function client_config(root)
  local settings = M.config.settings or {}
  return {
    name = M.NAME,
    cmd = M.command(root),
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
    settings = { autan = settings },
    init_options = settings, -- 0.7 does not answer workspace/configuration
    handlers = {
      ['autan/status'] = on_status,
      ['$/progress'] = on_progress,
      ['autan/inlineCompletionProgress'] = custom('autan/inlineCompletionProgress'),
    },
    on_attach = function(client, buf)
      if M.on_attach then
        M.on_attach(client, buf)
      end
    end,
    on_exit = function()
      M.state = { state = 'stopped', message = '' }
    end,
  }
end

function M.attach(buf)
  if not vim.api.nvim_buf_is_valid(buf) or not M.eligible(buf) then
    return nil
  end
  local root = root_of(vim.api.nvim_buf_get_name(buf))
  if util.has('0.8') then
    return vim.lsp.start(client_config(root), { bufnr = buf })
  end
  local id = M.clients[root]
  if not id or not vim.lsp.get_client_by_id(id) then
    id = vim.lsp.start_client(client_config(root))
    M.clients[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(buf, id)
  end
  return id
end

local function clients(filter)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients(filter)
  end
  local list = filter.bufnr and vim.lsp.buf_get_clients(filter.bufnr) or vim.lsp.get_active_clients()
  return vim.tbl_values(list)
end

function M.get(buf)
  buf = (buf == nil or buf == 0) and vim.api.nvim_get_current_buf() or buf
  for _, client in ipairs(clients({ bufnr = buf })) do
    if client.name == M.NAME then
      return client
    end
  end
  return nil
end

function M.all()
  local out = {}
  for _, client in ipairs(clients({})) do
    if client.name == M.NAME then
      table.insert(out, client)
    end
  end
  return out
end

function M.notify(buf, method, params)
  local client = M.get(buf)
  if client then
    util.call(client, 'notify', method, params)
  end
end

-- Stop every autan client, then attach the eligible buffers again once they have exited.
function M.restart()
  local clients = M.all()
  for _, client in ipairs(clients) do
    util.call(client, 'stop')
  end
  M.clients = {}
  local tries = 0
  local function again()
    tries = tries + 1
    local alive = vim.tbl_filter(function(c) return not util.call(c, 'is_stopped') end, clients)
    if #alive > 0 and tries < 50 then
      return vim.defer_fn(again, 100)
    end
    for _, client in ipairs(alive) do
      util.call(client, 'stop', true)
    end
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(buf) then
        M.attach(buf)
      end
    end
  end
  vim.defer_fn(again, 100)
end

-- `autan/stats`: the server's counters; `callback(err, stats)`.
function M.stats(buf, callback)
  local client = M.get(buf) or M.all()[1]
  if not client then
    return callback('autan is not running', nil)
  end
  util.call(client, 'request', 'autan/stats', { recent = 5 }, function(err, result)
    callback(err, result)
  end, buf)
end

return M
