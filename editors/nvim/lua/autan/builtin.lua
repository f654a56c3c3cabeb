-- Neovim 0.12: the built-in `vim.lsp.inline_completion` requests and draws; this module
-- accepts through `get({on_accept})` (whole, by word, by line) so it can report acceptance,
-- reports suggestions shown, and draws streamed text (`autan/inlineCompletionProgress`) with
-- the plugin's own extmark until the built-in renderer shows the final item.
local util = require('autan.util')
local lsp = require('autan.lsp')
local ghost = require('autan.ghost')
local api = vim.api

local M = {}
local ic = vim.lsp.inline_completion
local builtin_ns = api.nvim_create_namespace('nvim.lsp.inline_completion')
local streaming = {} -- buf -> true while the stream extmark is drawn

function M.available()
  return ic ~= nil and ic.get ~= nil
end

local function drawn(buf)
  local marks = api.nvim_buf_get_extmarks(buf, builtin_ns, 0, -1, { details = true })
  local mark = marks[1]
  if not mark then
    return nil
  end
  local d = mark[4] or {}
  local parts = {}
  for _, chunk in ipairs(d.virt_text or {}) do
    table.insert(parts, chunk[1])
  end
  for _, line in ipairs(d.virt_lines or {}) do
    local text = {}
    for _, chunk in ipairs(line) do
      table.insert(text, chunk[1])
    end
    table.insert(parts, '\n' .. table.concat(text))
  end
  return table.concat(parts):gsub(' %(%d+/%d+%)$', '')
end

function M.stop_stream(buf)
  if streaming[buf] and api.nvim_buf_is_valid(buf) then
    api.nvim_buf_clear_namespace(buf, ghost.ns, 0, -1)
  end
  streaming[buf] = nil
end

function M.visible(buf)
  return drawn(buf) ~= nil
end

-- After a reply: the built-in renderer has drawn the final item, so the stream mark goes, and
-- a new suggestion is reported as shown.
function M.on_reply(buf)
  M.stop_stream(buf)
  local text = drawn(buf)
  if text and text ~= '' then
    local pos = api.nvim_win_get_cursor(0)
    local prefix = (api.nvim_buf_get_lines(buf, pos[1] - 1, pos[1], false)[1] or '')
      :sub(1, pos[2])
    ghost.offer(buf, pos[1] - 1, prefix, text)
  end
end

function M.on_progress(result)
  if type(result) ~= 'table' or type(result.textDocument) ~= 'table' or not ghost.enabled then
    return
  end
  local buf = vim.uri_to_bufnr(result.textDocument.uri)
  local client = lsp.get(buf)
  if buf ~= api.nvim_get_current_buf() or not client or drawn(buf)
    or api.nvim_get_mode().mode:sub(1, 1) ~= 'i' then
    return
  end
  local here = vim.lsp.util.make_position_params(0, client.offset_encoding).position
  local pos = result.position or {}
  if pos.line ~= here.line or pos.character ~= here.character then
    return
  end
  local cur = api.nvim_win_get_cursor(0)
  streaming[buf] = true
  ghost.draw_text(buf, cur[1] - 1, cur[2], result.text or '')
  local line = api.nvim_buf_get_lines(buf, cur[1] - 1, cur[1], false)[1] or ''
  ghost.offer(buf, cur[1] - 1, line:sub(1, cur[2]), result.text or '')
end

-- The rest of an accepted item still to insert, and where: the item's range start, minus
-- what the user has typed along it since.
local function remaining(buf, item)
  local text = util.item_text(item.insert_text)
  local pos = api.nvim_win_get_cursor(0)
  local row, col = pos[1] - 1, pos[2]
  local replace = 0
  local r = item.range
  if r and r.start.row == row and r.start.col <= col then
    local typed = api.nvim_buf_get_lines(buf, row, row + 1, false)[1]:sub(r.start.col + 1, col)
    if text:sub(1, #typed) == typed then
      text = text:sub(#typed + 1)
    end
    if r.end_.row == row then
      replace = math.max(0, r.end_.col - r.start.col)
    end
  end
  return text, row, col, replace
end

function M.accept(buf, kind)
  if not (ic and ic.get) then
    return false
  end
  return ic.get({
    bufnr = buf,
    on_accept = function(item)
      M.stop_stream(buf)
      local rest, row, col, replace = remaining(buf, item)
      local part = kind == 'word' and util.next_word(rest)
        or kind == 'line' and util.next_line(rest) or rest
      local whole = part == rest
      ghost.insert(buf, row, col, whole and replace or 0, part)
      lsp.notify(buf, 'autan/didAcceptCompletion', {
        textDocument = { uri = vim.uri_from_bufnr(buf) },
        kind = whole and 'full' or kind, acceptedLength = util.utf16_len(part) })
      if whole then
        ghost.forget_shown(buf)
      end
    end,
  })
end

function M.cycle(buf, delta)
  ic.select({ bufnr = buf, count = delta })
  M.on_reply(buf)
end

-- The built-in has no "dismiss": switching it off and on for the buffer drops the item.
function M.dismiss(buf)
  local had = M.visible(buf) or streaming[buf] ~= nil
  M.stop_stream(buf)
  ic.enable(false, { bufnr = buf })
  ic.enable(true, { bufnr = buf })
  ghost.forget_shown(buf)
  return had
end

function M.set_enabled(enabled)
  for _, buf in ipairs(api.nvim_list_bufs()) do
    if api.nvim_buf_is_loaded(buf) and lsp.get(buf) then
      ic.enable(enabled, { bufnr = buf })
    end
    M.stop_stream(buf)
  end
end

return M
