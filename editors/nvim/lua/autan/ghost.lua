-- Ghost text for Neovim 0.7 to 0.11: requests `textDocument/inlineCompletion` itself
-- (debounced, cancelled by new typing, dropped when stale), draws the suggestion with
-- extmarks (first line as virt_text, the rest as virt_lines), keeps it while the user types
-- along it, grows it as `autan/inlineCompletionProgress` streams in, and accepts it whole, by
-- word or by line. The drawing and the "shown" tracking serve the 0.12 path too.
local util = require('autan.util')
local lsp = require('autan.lsp')
local uv = vim.uv or vim.loop
local api = vim.api

local M = {}
M.ns = api.nvim_create_namespace('autan.ghost')
M.debounce_ms = 150
M.enabled = true
local AUTOMATIC, INVOKED = 2, 1

local S = {} -- buf -> suggestion {items = {{text, replace}}, index, row, col, prefix, typed}
local pending = {} -- buf -> {client, id, tick, row, col, line, position, invoked}
local timers = {} -- buf -> debounce timer
local seen = {} -- buf -> 'tick:row:col' last handled by on_change
local shown = {} -- buf -> {row, prefix, target}: the suggestion last reported as shown

local function cursor()
  local pos = api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

local function line_at(buf, row)
  return api.nvim_buf_get_lines(buf, row, row + 1, false)[1] or ''
end

local function in_insert()
  return api.nvim_get_mode().mode:sub(1, 1) == 'i'
end

-- Draw `text` as ghost text at (row, col): the first line in the line, the rest below.
function M.draw_text(buf, row, col, text, ns)
  ns = ns or M.ns
  api.nvim_buf_clear_namespace(buf, ns, 0, -1)
  if text == '' then
    return
  end
  local lines = util.split_lines(text)
  local below = {}
  for i = 2, #lines do
    table.insert(below, { { lines[i], 'AutanGhost' } })
  end
  local opts = {
    virt_text = { { lines[1], 'AutanGhost' } },
    virt_text_pos = util.has('0.10') and 'inline' or 'overlay',
    hl_mode = 'combine',
  }
  if #below > 0 then
    opts.virt_lines = below
  end
  pcall(api.nvim_buf_set_extmark, buf, ns, row, col, opts)
end

-- Whether a suggestion on screen is new (send autan/didShowCompletion) or the same one seen
-- from further along (typing along it, or its text streaming in).
function M.offer(buf, row, prefix, text)
  local target = prefix .. text
  local prev = shown[buf]
  local same = prev ~= nil and prev.row == row and prefix:sub(1, #prev.prefix) == prev.prefix
    and (prev.target:sub(1, #target) == target or target:sub(1, #prev.target) == prev.target)
  shown[buf] = { row = row, prefix = same and prev.prefix or prefix, target = target }
  if not same then
    lsp.notify(buf, 'autan/didShowCompletion', { textDocument = { uri = vim.uri_from_bufnr(buf) } })
  end
  return not same
end

function M.forget_shown(buf)
  shown[buf] = nil
end

local function rest_of(s)
  local item = s and s.items[s.index]
  return item and item.text:sub(#s.typed + 1) or ''
end

local function draw(buf)
  local s = S[buf]
  local rest = rest_of(s)
  if rest == '' and s and s.partial then -- typed past the streamed text: wait for more
    return api.nvim_buf_clear_namespace(buf, M.ns, 0, -1)
  elseif rest == '' then
    return M.clear(buf)
  end
  M.draw_text(buf, s.row, s.col + #s.typed, rest)
  M.offer(buf, s.row, s.prefix .. s.typed, rest)
end

function M.cancel(buf)
  local p = pending[buf]
  pending[buf] = nil
  if p then
    pcall(util.call, p.client, 'cancel_request', p.id)
  end
  local timer = timers[buf]
  timers[buf] = nil
  if timer then
    timer:stop()
    timer:close()
  end
end

function M.clear(buf)
  S[buf] = nil
  if api.nvim_buf_is_valid(buf) then
    api.nvim_buf_clear_namespace(buf, M.ns, 0, -1)
  end
end

function M.reset(buf)
  M.cancel(buf)
  M.clear(buf)
end

local function resolve(buf)
  return (buf == nil or buf == 0) and api.nvim_get_current_buf() or buf
end

function M.visible(buf)
  return rest_of(S[resolve(buf)]) ~= ''
end

function M.suggestion(buf)
  local s = S[resolve(buf)]
  return s and { text = rest_of(s), index = s.index, count = #s.items, partial = s.partial }
end

local function items_of(buf, client, p, result)
  local items = {}
  local line = p.line
  for _, it in ipairs(result and (result.items or result) or {}) do
    local text = util.item_text(it.insertText)
    local replace = 0
    local r = it.range
    if r and r['end'].line == p.row and r.start.line == p.row then
      local e = util.byte_col(line, r['end'].character, client.offset_encoding)
      replace = math.max(0, e - p.col)
    end
    if text ~= '' then
      table.insert(items, { text = text, replace = replace })
    end
  end
  return items
end

-- Whether the pending request `p` still fits the cursor: the text it was asked for, or that
-- text plus characters typed after it on the same line (a suggestion still streaming is
-- kept while the user types along it). Returns what was typed since ('' when nothing).
local function fresh(buf, p)
  local row, col = cursor()
  if not (pending[buf] == p and api.nvim_get_current_buf() == buf and in_insert()) then
    return nil
  end
  if api.nvim_buf_get_changedtick(buf) == p.tick and row == p.row and col == p.col then
    return ''
  end
  local line = line_at(buf, row)
  if row == p.row and col >= p.col and line:sub(1, p.col) == p.prefix
    and line:sub(col + 1) == p.line:sub(p.col + 1) then
    return line:sub(p.col + 1, col)
  end
  return nil
end

-- Whether `text` (streamed so far when `partial`) still agrees with what was typed.
local function agrees(text, typed, partial)
  if text:sub(1, #typed) == typed then
    return partial or #text > #typed
  end
  return partial and typed:sub(1, #text) == text
end

local function suggest(buf, p, items, index, partial, typed)
  S[buf] = { items = items, index = index, row = p.row, col = p.col, typed = typed or '',
             prefix = p.prefix, partial = partial, invoked = p.invoked }
  draw(buf)
end

function M.request(buf, kind, step)
  M.cancel(buf)
  local client = lsp.get(buf)
  if not (M.enabled and client and in_insert() and api.nvim_get_current_buf() == buf) then
    return
  end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = kind or AUTOMATIC }
  local row, col = cursor()
  local line = line_at(buf, row)
  local p = { client = client, tick = api.nvim_buf_get_changedtick(buf), row = row, col = col,
              line = line, prefix = line:sub(1, col), position = params.position,
              invoked = kind == INVOKED }
  local ok, id = util.call(client, 'request', 'textDocument/inlineCompletion', params,
    function(err, result)
      local typed = fresh(buf, p)
      if not typed then
        return
      end
      pending[buf] = nil
      local items = {}
      for _, item in ipairs(err and {} or items_of(buf, client, p, result)) do
        if agrees(item.text, typed, false) then
          table.insert(items, item)
        end
      end
      if #items == 0 then
        M.clear(buf)
        return typed ~= '' and M.schedule(buf) -- typed away from it meanwhile: ask again
      end
      suggest(buf, p, items, ((step or 0) % #items) + 1, false, typed)
    end, buf)
  if ok then
    p.id = id
    pending[buf] = p
  end
end

function M.schedule(buf)
  M.cancel(buf)
  if not M.enabled then
    return
  end
  local timer = uv.new_timer()
  timers[buf] = timer
  timer:start(M.debounce_ms, 0, vim.schedule_wrap(function()
    if timers[buf] == timer then
      timers[buf] = nil
      timer:close()
      M.request(buf, AUTOMATIC)
    end
  end))
end

-- `autan/inlineCompletionProgress`: the growing text of the pending request.
function M.on_progress(result)
  if type(result) ~= 'table' or type(result.textDocument) ~= 'table' then
    return
  end
  local buf = vim.uri_to_bufnr(result.textDocument.uri)
  local p = pending[buf]
  local pos = result.position or {}
  local typed = p and fresh(buf, p)
  if not typed or pos.line ~= p.position.line or pos.character ~= p.position.character
    or type(result.text) ~= 'string' then
    return
  end
  if not agrees(result.text, typed, true) then
    M.clear(buf)
    return M.schedule(buf)
  end
  suggest(buf, p, { { text = result.text, replace = 0 } }, 1, true, typed)
end

-- TextChangedI and CursorMovedI: keep a suggestion the user types along, else ask again. A
-- suggestion still streaming is kept too, and its request goes on (see `fresh`).
function M.on_change(buf)
  local row, col = cursor()
  local key = api.nvim_buf_get_changedtick(buf) .. ':' .. row .. ':' .. col
  if seen[buf] == key then
    return
  end
  seen[buf] = key
  local s = S[buf]
  local p = pending[buf]
  if s and s.partial and p then
    local typed = fresh(buf, p)
    if typed and agrees(s.items[1].text, typed, true) then
      s.typed = typed
      return draw(buf)
    end
  end
  if s and not s.partial and row == s.row and col >= s.col then
    local line = line_at(buf, row)
    local typed = line:sub(s.col + 1, col)
    local text = s.items[s.index].text
    if line:sub(1, s.col) == s.prefix and #typed < #text and text:sub(1, #typed) == typed then
      s.typed = typed
      return draw(buf)
    end
  end
  M.clear(buf)
  M.schedule(buf)
end

function M.insert(buf, row, col, replace, text)
  local lines = util.split_lines(text)
  local line = line_at(buf, row)
  api.nvim_buf_set_text(buf, row, col, row, math.min(col + replace, #line), lines)
  local last = #lines == 1 and col + #lines[1] or #lines[#lines]
  api.nvim_win_set_cursor(0, { row + #lines, last })
end

-- Accept the suggestion whole ('full'), or its next 'word' or 'line'; false when none.
function M.accept(buf, kind)
  local s = S[buf]
  local rest = rest_of(s)
  if rest == '' then
    return false
  end
  M.cancel(buf)
  local part = kind == 'word' and util.next_word(rest) or kind == 'line' and util.next_line(rest)
    or rest
  local whole = part == rest
  local row, col = cursor()
  M.insert(buf, row, col, whole and s.items[s.index].replace or 0, part)
  lsp.notify(buf, 'autan/didAcceptCompletion', {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    kind = whole and 'full' or kind, acceptedLength = util.utf16_len(part) })
  if whole then
    M.clear(buf)
    M.forget_shown(buf)
  else
    s.typed = s.typed .. part
    draw(buf)
  end
  seen[buf] = nil
  return true
end

-- Cycle through the items; with a single automatic item, ask for the invoked list first.
function M.cycle(buf, delta)
  local s = S[buf]
  if s and #s.items > 1 then
    s.index = (s.index - 1 + delta) % #s.items + 1
    s.typed = ''
    return draw(buf)
  end
  if not (s and s.invoked) then
    M.request(buf, INVOKED, s and delta or 0)
  end
end

function M.dismiss(buf)
  local had = M.visible(buf)
  M.reset(buf)
  M.forget_shown(buf)
  return had
end

return M
