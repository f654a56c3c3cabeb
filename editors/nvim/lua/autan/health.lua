-- :checkhealth autan
local M = {}

local h = vim.health or require('health')
local start = h.start or h.report_start
local ok = h.ok or h.report_ok
local warn = h.warn or h.report_warn
local error = h.error or h.report_error
local info = h.info or h.report_info

function M.check()
  local util = require('autan.util')
  local lsp = require('autan.lsp')
  start('autan')
  local v = vim.version()
  if util.has('0.7') then
    ok(('Neovim %d.%d.%d'):format(v.major, v.minor, v.patch))
  else
    error('Neovim 0.7 or newer is needed')
  end
  if not lsp.config then
    return warn("require('autan').setup() has not been called")
  end
  if require('autan').uses_builtin() then
    ok('inline completion: built-in vim.lsp.inline_completion')
  else
    ok('inline completion: the plugin ghost text (extmarks)')
  end
  local cmd = lsp.command(vim.fn.getcwd())
  if vim.fn.executable(cmd[1]) == 1 then
    ok('server: ' .. table.concat(cmd, ' '))
  else
    error('server not found: ' .. cmd[1], { 'pip install autan, or set opts.cmd' })
  end
  local clients = lsp.all()
  if #clients == 0 then
    warn('no autan client is running (open a file)')
  end
  for _, client in ipairs(clients) do
    ok(('client %d: %s, %s'):format(client.id, client.config.root_dir or '?',
      lsp.state.state or '?'))
  end
  local name = vim.api.nvim_buf_get_name(0)
  if name ~= '' and util.is_secret_file(name) then
    info('this buffer is a secret file: it is never sent to the server')
  end
end

return M
