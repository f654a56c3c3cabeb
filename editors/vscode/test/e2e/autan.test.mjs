// The autan extension end to end: the packaged autan.vsix in a real VS Code
// (code-server), talking to the real `autan lsp` and its bundled model on CPU.
//
//   AUTAN_E2E_SERVER  the autan executable (default: `autan` on PATH; pytest's
//                     tests/editors/test_vscode.py passes the one beside its Python)
//   AUTAN_E2E_VSIX    the package (default: editors/vscode/autan.vsix, `npm run package`)
//   AUTAN_E2E_UPDATE_DOCS=1  also write the ghost-text screenshot to
//                     editors/vscode/docs/ghost-text.png (the README's picture);
//                     it always goes to $AUTAN_E2E_ARTIFACTS/ghost-text.png
//
// The server gets a private XDG_CACHE_HOME and XDG_RUNTIME_DIR: its index, its
// engine and the engine's socket are this test's own, and no engine of the
// user's is touched; the engine (which outlives `autan lsp`) is killed at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as h from './harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const EXT_DIR = path.resolve(here, '..', '..');
const VSIX = process.env.AUTAN_E2E_VSIX || path.join(EXT_DIR, 'autan.vsix');
const DOCS_SHOT = path.join(EXT_DIR, 'docs', 'ghost-text.png');
const EXT = 'autan.autan';
const STATUS = 'autan.autan.autan.status';
const FILE = 'geometry.py';

const SOURCE = `"""Small geometry helpers."""

import math


class Rectangle:
    def __init__(self, width, height):
        self.width = width
        self.height = height

    def area(self):
        return self.width * self.height


class Circle:
    def __init__(self, radius):
        self.radius = radius

    def area(self):
        return math.pi * self.radius ** 2

`;
// Typed at the end (line 22). With editor.autoIndent "none" each Enter leaves
// the cursor at column 1, where the bundled model writes several lines: slow
// enough on CPU to see the ghost text grow.
const FIRST = 'def total_area(shapes):\n    total = 0\n';

function findServer() {
  if (process.env.AUTAN_E2E_SERVER) return process.env.AUTAN_E2E_SERVER;
  for (const dir of (process.env.PATH || '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'autan');
    try { fs.accessSync(candidate, fs.constants.X_OK); return candidate; } catch { /* next */ }
  }
  return null;
}

/** 1-based line:col of the end of `text` (where the cursor is after typing it at the file's end). */
function endPosition(text) {
  const lines = text.split('\n');
  return `${lines.length}:${lines[lines.length - 1].length + 1}`;
}

const COMPLETION_LINE = /completion (\S+):(\d+):(\d+): (?:cancelled|(\d+) item\(s\)) in (\d+) ms, (\d+) characters streamed/;

function completionLines(log) {
  return log.split('\n').filter((l) => l.includes('] completion ')).map((l) => {
    const m = COMPLETION_LINE.exec(l);
    return m && { line: l, file: m[1], pos: `${m[2]}:${m[3]}`, items: m[4] === undefined ? null : Number(m[4]),
      ms: Number(m[5]), streamed: Number(m[6]) };
  });
}

/** autan lsp processes under code-server. */
function lspProcesses(s, server) {
  return h.descendantProcesses(s.server.pid).filter((p) => p.cmdline.includes(server) && / lsp\b/.test(p.cmdline));
}

async function step(name, fn) {
  const started = Date.now();
  try {
    const out = await fn();
    console.log(`autan e2e: ${name}: ok (${Date.now() - started} ms)`);
    return out;
  } catch (e) {
    e.message = `step "${name}": ${e.message}`;
    throw e;
  }
}

test('autan in code-server: status, streamed ghost text, Tab, next word, toggle, log', { timeout: 420_000 }, async () => {
  h.requireTools(); // missing tools fail the test (never a skip)
  const server = findServer();
  assert.ok(server && fs.existsSync(server),
    `the autan executable was not found (${server ?? 'not on PATH'}): set AUTAN_E2E_SERVER to it`);
  assert.ok(fs.existsSync(VSIX), `${VSIX} is missing: run npm run package in editors/vscode`);

  // Short (Unix socket paths must stay under ~100 bytes) and private.
  const own = fs.mkdtempSync(path.join(os.tmpdir(), 'autan-e2e-srv-'));
  fs.mkdirSync(path.join(own, 'cache'));
  fs.mkdirSync(path.join(own, 'run'), { mode: 0o700 });
  h.trackMarker(own); // the engine's command line names its socket in `own`
  try {
    await h.withSession('autan', {
      files: { [FILE]: SOURCE },
      vsix: VSIX,
      env: { XDG_CACHE_HOME: path.join(own, 'cache'), XDG_RUNTIME_DIR: path.join(own, 'run') },
      // autan.serverPath is `machine-overridable`: VS Code ignores it in the User settings
      // of a remote window (code-server's is one), so it goes to the Remote settings.
      machineSettings: { 'autan.serverPath': server },
      settings: {
        'editor.inlineSuggest.enabled': true,
        'editor.autoIndent': 'none',
        'editor.autoClosingBrackets': 'never',
        'editor.autoClosingQuotes': 'never',
        // Nothing else over the ghost text.
        'editor.quickSuggestions': { other: 'off', comments: 'off', strings: 'off' },
        'editor.suggestOnTriggerCharacters': false,
        'editor.wordBasedSuggestions': 'off',
        'editor.parameterHints.enabled': false,
        // 48 tokens, all of them (the first request also waits for the engine to
        // start, which would use up the default 1.5 s budget): a few hundred ms of
        // streaming on CPU.
        'autan.completion.maxTokens': 48,
        'autan.completion.latencyBudgetMs': 30_000,
        'autan.model.device': 'cpu',
      },
    }, async (s) => {
      const filePath = path.join(s.workspace, FILE);
      const logText = () => { const p = s.logFile(EXT, 'autan'); return p ? fs.readFileSync(p, 'utf8') : ''; };
      const completions = () => completionLines(logText());
      const answered = (pos) => completions().find((c) => c && c.pos === pos && c.items > 0);
      // The extension's log goes with the artifacts, failure or not.
      const saveLog = () => fs.writeFileSync(path.join(h.ARTIFACTS, 'autan-extension.log'), logText());
      try {

        await step('the status item reaches Ready', async () => {
          const label = await s.waitForStatusBarItem(STATUS, /^autan: Ready\b/, { timeoutMs: 120_000 });
          assert.match(label, /^autan: Ready \(\d+ files? indexed\)$/);
          assert.equal(lspProcesses(s, server).length, 1, 'one autan lsp process under code-server');
        });

        await s.openFile(FILE);
        await s.focusEditorEnd();
        const firstPos = endPosition(SOURCE + FIRST);
        let final;
        await step('typing gets ghost text, growing while the model writes', async () => {
          await s.recordGhostText();
          await s.type(FIRST);
          const typedAt = await s.pageNow();
          await h.waitFor(() => answered(firstPos),
            { timeoutMs: 90_000, what: `a completion answered at ${firstPos} in the log` });
          const shown = async () => (await s.ghostTextHistory()).filter((e) => e.at >= typedAt).map((e) => e.text);
          // The final items: shown after the answer, then unchanged.
          final = await stableGhostText(s, 60_000).catch(async (e) => {
            // Each state with its time since the typing ended, and the extension's log: what
            // asked, what answered, what was re-triggered.
            const states = (await s.ghostTextHistory()).filter((x) => x.at >= typedAt)
              .map((x) => `+${x.at - typedAt} ms ${JSON.stringify(x.text)}`);
            e.message += ` (ghost texts shown: ${JSON.stringify(await shown())}; ` +
              `timeline: ${states.join(' | ')}; extension log:\n${logText().split('\n').slice(-40).join('\n')})`;
            throw e;
          });
          const seen = await shown();
          // The streamed text may pass through the final one (the server cuts what the
          // model writes): what counts is what showed before the final text settled.
          const settled = seen.lastIndexOf(final);
          const before = [...new Set(seen.slice(0, settled).filter(Boolean))];
          const lengths = new Set(before.map((t) => t.length));
          assert.ok(lengths.size >= 2,
            `the ghost text did not grow before the final text: ${JSON.stringify(before)} then ${JSON.stringify(final)}` +
            ` (all shown: ${JSON.stringify(seen)})`);
          assert.ok(answered(firstPos).streamed > 0, `nothing streamed: ${answered(firstPos).line}`);
          console.log(`autan e2e: streamed ${before.length} states (lengths ${[...lengths].join(', ')}) before ${final.length} characters`);
        });

        await step('a screenshot with ghost text', async () => {
          const shot = await s.screenshot('ghost-text.png');
          assert.ok(fs.statSync(shot).size > 10_000, `screenshot ${shot} looks empty`);
          if (process.env.AUTAN_E2E_UPDATE_DOCS === '1') {
            fs.mkdirSync(path.dirname(DOCS_SHOT), { recursive: true });
            fs.copyFileSync(shot, DOCS_SHOT);
          }
        });

        let word;
        await step('Ctrl+Right accepts only the next word', async () => {
          const before = await s.saveAndRead(FILE);
          assert.equal(before, SOURCE + FIRST);
          assert.equal(await s.ghostText(), final, 'saving kept the suggestion');
          await s.press('Control+ArrowRight');
          const after = await h.waitFor(async () => {
            const t = await s.saveAndRead(FILE);
            return t !== before && t;
          }, { timeoutMs: 10_000, what: 'the next word in the buffer' });
          assert.ok(after.startsWith(before), 'text was inserted at the cursor');
          word = after.slice(before.length);
          assert.ok(final.startsWith(word), `${JSON.stringify(word)} is not the start of ${JSON.stringify(final)}`);
          assert.ok(word.length < final.length, 'the whole suggestion was inserted');
          assert.match(word, /^\s*(?:\w+|[^\w\s]+)[^\S\n]*\n?$/, `more than a word: ${JSON.stringify(word)}`);
          await s.waitForLog(EXT, 'autan', new RegExp(`accepted \\(word\\) ${word.length} characters`), { timeoutMs: 10_000 });
          // The rest stays on screen.
          await s.waitForGhostText({ timeoutMs: 15_000, predicate: (t) => t === final.slice(word.length) });
        });

        await step('Tab accepts the rest of the suggestion', async () => {
          await s.press('Tab');
          const saved = await s.saveAndRead(FILE);
          assert.equal(saved, SOURCE + FIRST + final);
          const rest = final.length - word.length;
          await s.waitForLog(EXT, 'autan', new RegExp(`accepted \\(full\\) ${rest} characters`), { timeoutMs: 10_000 });
        });

        await step('toggled off: no server, no request, no ghost text', async () => {
          await s.press('Escape');
          await s.runCommand('autan: Toggle Completions');
          await s.waitForStatusBarItem(STATUS, /^autan: Disabled$/, { timeoutMs: 20_000 });
          await h.waitFor(() => lspProcesses(s, server).length === 0, { timeoutMs: 20_000, what: 'autan lsp to exit' });
          const count = completions().length;
          await s.focusEditorEnd();
          await s.recordGhostText();
          await s.type('\n\nclass Triangle:\n');
          await s.press('Alt+\\'); // autan.trigger: explicit, still nothing
          await h.sleep(4000);
          assert.deepEqual((await s.ghostTextHistory()).map((e) => e.text).filter(Boolean), [], 'no ghost text while disabled');
          assert.equal(completions().length, count, 'no completion request while disabled');
          assert.equal(lspProcesses(s, server).length, 0, 'no autan lsp while disabled');
        });

        await step('toggled on again: Ready, one server', async () => {
          await s.runCommand('autan: Toggle Completions');
          await s.waitForStatusBarItem(STATUS, /^autan: Ready\b/, { timeoutMs: 120_000 });
          assert.equal(lspProcesses(s, server).length, 1);
          await s.runCommand('autan: Show Statistics');
          const { text } = await s.waitForLog(EXT, 'autan', /autan\/stats \{/, { timeoutMs: 20_000 });
          assert.match(text, /"requests": \d+/);
        });

        await step('the log has one well-formed line per completion', async () => {
          const lines = completions();
          assert.ok(lines.length >= 2, `completion lines: ${lines.length}`);
          for (const c of lines) assert.ok(c, `malformed completion line in:\n${logText()}`);
          for (const c of lines) assert.equal(c.file, filePath);
          assert.ok(lines.some((c) => c.items > 0 && c.streamed > 0), 'a streamed completion with items');
          assert.match(logText(), /starting \S+ lsp \(found via setting\)/);
        });
      } finally {
        fs.mkdirSync(h.ARTIFACTS, { recursive: true });
        saveLog();
      }
    });
  } finally {
    await h.killByMarker(own);
    assert.deepEqual(h.processesWithMarker(own), [], 'the test\'s autan engine is gone');
    fs.rmSync(own, { recursive: true, force: true });
  }
});

/** The ghost text once it is non-empty and has not changed for 1.5 s. */
async function stableGhostText(s, timeoutMs) {
  let last = null, since = 0;
  return h.waitFor(async () => {
    const t = await s.ghostText();
    if (t !== last) { last = t; since = Date.now(); return null; }
    return t && Date.now() - since >= 1500 ? t : null;
  }, { timeoutMs, intervalMs: 100, what: 'a stable ghost text' });
}
