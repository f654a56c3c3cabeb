-- Small helpers shared by the plugin: version checks, position encodings, secret files and
-- splitting a suggestion into its next word or line. No state.
local M = {}

function M.has(version)
  return vim.fn.has('nvim-' .. version) == 1
end

-- Method-style calls on a client (`client:request`) from 0.11, field-style before.
function M.call(client, method, ...)
  if M.has('0.11') then
    return client[method](client, ...)
  end
  return client[method](...)
end

-- Characters of `text` in UTF-16 code units (what LSP counts), from its UTF-8 bytes.
function M.utf16_len(text)
  local n = 0
  for i = 1, #text do
    local b = text:byte(i)
    if b < 0x80 or b >= 0xC0 then
      n = n + (b >= 0xF0 and 2 or 1)
    end
  end
  return n
end

-- A byte column in `line` for an LSP character index in `encoding`.
function M.byte_col(line, index, encoding)
  if encoding == 'utf-8' then
    return math.min(index, #line)
  end
  local ok, col
  if M.has('0.11') then
    ok, col = pcall(vim.str_byteindex, line, encoding, index, false)
  else
    ok, col = pcall(vim.str_byteindex, line, index, encoding == 'utf-16')
  end
  return ok and col or #line
end

-- The file patterns of indexer/secrets.py's SECRET_FILE_PATTERNS, kept in the same order:
-- a buffer whose file matches is never sent to the server.
M.SECRET_PATTERNS = {
  '.env', '.env.*', '*.env', '.envrc',
  '*.pem', '*.key', '*.p12', '*.pfx', '*.p8', '*.ppk', '*.jks', '*.keystore', '*.keytab',
  '*.ovpn', '*.kdbx', '*.gpg',
  'id_rsa*', 'id_dsa*', 'id_ecdsa*', 'id_ed25519*',
  '.netrc', '_netrc', '.pgpass', '.npmrc', '.pypirc', '.git-credentials', '.htpasswd',
  '.dockercfg', '.docker/config.json', '.kube/config', '.ssh/*',
  'credentials*',
  '*-credentials.json', '*_credentials.json', 'service-account*.json',
  'service_account*.json', 'client_secret*.json',
  'secrets.*', 'secret.*',
  '*.tfvars', '*.tfvars.json', '*.tfstate', '*.tfstate.backup',
}
-- Word patterns name ordinary source files too: code files with these names are not secret.
local WORD_PATTERNS = { ['credentials*'] = true, ['secrets.*'] = true, ['secret.*'] = true }
local CODE_EXTENSIONS = {
  'py', 'pyi', 'js', 'jsx', 'mjs', 'cjs', 'ts', 'tsx', 'go', 'rs', 'java', 'kt', 'kts',
  'scala', 'rb', 'php', 'c', 'h', 'cc', 'cpp', 'hpp', 'cs', 'swift', 'm', 'lua', 'dart', 'ex',
  'exs', 'clj', 'hs', 'ml', 'r', 'jl',
}

-- A glob as fnmatch reads it (`*`, `?`, no separators inside a component) as a Lua pattern.
local function glob_pattern(glob)
  local out = glob:gsub('[%^%$%(%)%%%.%[%]%+%-]', '%%%0'):gsub('%*', '[^/]*'):gsub('%?', '[^/]')
  return '^' .. out .. '$'
end

function M.is_secret_file(path)
  local parts = vim.split(path:gsub('\\', '/'):lower(), '/', { plain = true })
  local name = parts[#parts]
  local code = false
  for _, ext in ipairs(CODE_EXTENSIONS) do
    if name:sub(-#ext - 1) == '.' .. ext then
      code = true
    end
  end
  for _, glob in ipairs(M.SECRET_PATTERNS) do
    if not (code and WORD_PATTERNS[glob]) then
      local depth = select(2, glob:gsub('/', '')) + 1
      if #parts >= depth then
        local tail = table.concat(parts, '/', #parts - depth + 1)
        if tail:match(glob_pattern(glob)) then
          return true
        end
      end
    end
  end
  return false
end

-- The next word of a suggestion: spaces then a run of word characters or of punctuation, or a
-- line break with the next line's indentation.
function M.next_word(text)
  return text:match('^[ \t]*[%w_]+') or text:match('^[ \t]*[^%w_%s]+')
    or text:match('^\r?\n[ \t]*') or text:match('^%s+') or text
end

-- The rest of the suggestion's current line; at a line break, the break and the next line.
function M.next_line(text)
  local line = text:match('^[^\n]*')
  if line ~= '' then
    return line
  end
  return text:match('^\n[^\n]*') or text
end

function M.split_lines(text)
  return vim.split(text, '\n', { plain = true })
end

-- The text of an LSP InlineCompletionItem's insertText (a snippet is shown as written).
function M.item_text(insert)
  if type(insert) == 'table' then
    return insert.value or ''
  end
  return insert or ''
end

return M
