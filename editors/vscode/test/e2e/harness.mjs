// End-to-end harness: a real VS Code (code-server) run headless here, driven
// by Debian's chromium through playwright-core.  Plain ES module for Node 24,
// no build step, no dependencies besides the tools that tools.sh installs.
//
// Typical use (see smoke.test.mjs):
//
//   import * as h from './harness.mjs';
//   const s = await h.startSession({
//     files: {'a.py': 'def f():\n'},
//     settings: {'editor.inlineSuggest.enabled': true},
//     vsix: '/path/to/autan.vsix',            // optional
//   });
//   try {
//     await s.openFile('a.py');
//     await s.focusEditorEnd();
//     await s.type('x = 1');
//     assert.match(await s.editorText(), /x = 1/);
//   } finally {
//     await s.close();                        // always: kills everything
//   }
//
// Every wait is bounded; every process started here is killed by close(),
// by stopAll(), or at the latest when this Node process exits.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

// ------------------------------------------------------------------ tools --

/** Folder where tools.sh caches everything (same rule as tools.sh). */
export function toolsDir() {
  return process.env.AUTAN_EDITOR_TOOLS ||
    path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'autan', 'editor-tools');
}

/** Where screenshots and logs of failed runs go. */
export const ARTIFACTS = process.env.AUTAN_E2E_ARTIFACTS || '/tmp/autan-e2e';

let toolsCache = null;
/**
 * Paths of the tools: {node, codeServer, playwrightCore, chromium}.
 * Environment variables AUTAN_E2E_{NODE,CODE_SERVER,PLAYWRIGHT_CORE,CHROMIUM}
 * win over <toolsDir>/env.sh (written by tools.sh).  Throws a clear error
 * when something is missing.
 */
export function tools() {
  if (toolsCache) return toolsCache;
  const file = {};
  const envFile = path.join(toolsDir(), 'env.sh');
  if (fs.existsSync(envFile)) {
    for (const line of fs.readFileSync(envFile, 'utf8').split('\n')) {
      const m = /^(?:export\s+)?([A-Z0-9_]+)=['"]?(.*?)['"]?$/.exec(line.trim());
      if (m) file[m[1]] = m[2];
    }
  }
  const get = (k, dflt) => process.env[k] || file[k] || dflt;
  const t = {
    node: get('AUTAN_E2E_NODE', null),
    codeServer: get('AUTAN_E2E_CODE_SERVER', null),
    playwrightCore: get('AUTAN_E2E_PLAYWRIGHT_CORE', null),
    chromium: get('AUTAN_E2E_CHROMIUM', '/usr/bin/chromium'),
  };
  for (const [k, v] of Object.entries(t)) {
    if (!v || !fs.existsSync(v)) {
      throw new Error(`e2e tool '${k}' not found (${v ?? 'unset'}); run: bash editors/vscode/test/e2e/tools.sh`);
    }
  }
  return (toolsCache = t);
}

/**
 * The tools, or an Error that fails the calling test with what to run.  The
 * tests never skip for missing tools: a runner installs them first
 * (tools.sh), so a missing tool is a broken setup, reported as a failure.
 */
export function requireTools() {
  try {
    return tools();
  } catch (e) {
    throw new Error(`${e.message}\n(the VS Code e2e tests need the tools that tools.sh installs; ` +
      'they fail rather than skip when those are missing)');
  }
}

let pwCache = null;
async function playwright() {
  if (!pwCache) {
    const req = createRequire(path.join(tools().playwrightCore, 'package.json'));
    pwCache = req(tools().playwrightCore);
  }
  return pwCache;
}

// ----------------------------------------------------------------- utils --

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll fn() until it returns a truthy value; throws after timeoutMs. */
export async function waitFor(fn, { timeoutMs = 10000, intervalMs = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeoutMs;
  let last, lastErr;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) { lastErr = e; }
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` +
        (lastErr ? ` (last error: ${lastErr.message})` : ''));
    }
    await sleep(intervalMs);
  }
}

async function withTimeout(promise, ms, what) {
  let timer;
  try {
    return await Promise.race([
      promise,
      new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms); }),
    ]);
  } finally { clearTimeout(timer); }
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function mkTemp(prefix) {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}

// ------------------------------------------------------ process tracking --

const tracked = new Set();   // pids of process-group leaders we spawned
const trackedMarkers = new Set(); // unique strings in cmdlines of our chromium

function descendants(rootPid) {
  // Walk /proc once: ppid map, then the tree under rootPid.
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch { /* gone */ }
  }
  const out = [];
  const stack = [rootPid];
  while (stack.length) {
    const p = stack.pop();
    for (const c of kids.get(p) || []) { out.push(c); stack.push(c); }
  }
  return out;
}

function pidsWithMarker(marker) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(marker)) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

function killQuiet(pid, sig) {
  try { process.kill(pid, sig); } catch { /* gone */ }
}

/**
 * Kill a process group we spawned (leader pid) and every descendant, also
 * ones that moved to their own group: SIGTERM, then SIGKILL after graceMs.
 */
export async function killTree(pid, { graceMs = 3000 } = {}) {
  const all = [pid, ...descendants(pid)];
  killQuiet(-pid, 'SIGTERM');
  for (const p of all) killQuiet(p, 'SIGTERM');
  const end = Date.now() + graceMs;
  while (Date.now() < end && all.some(alive)) await sleep(100);
  killQuiet(-pid, 'SIGKILL');
  for (const p of all) if (alive(p)) killQuiet(p, 'SIGKILL');
  tracked.delete(pid);
}

function killEverythingSync() {
  for (const pid of tracked) {
    for (const p of [pid, ...descendants(pid)]) killQuiet(p, 'SIGKILL');
    killQuiet(-pid, 'SIGKILL');
  }
  for (const m of trackedMarkers) for (const p of pidsWithMarker(m)) killQuiet(p, 'SIGKILL');
  tracked.clear();
  trackedMarkers.clear();
}

process.on('exit', killEverythingSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => { killEverythingSync(); process.exit(128 + os.constants.signals[sig]); });
}

/**
 * Kill, at the latest when this process exits, every process whose command
 * line contains `marker` (a unique temporary path): for processes that leave
 * the trees we spawned, e.g. autan's engine, which runs in its own session
 * and outlives the `autan lsp` that started it.
 */
export function trackMarker(marker) {
  trackedMarkers.add(marker);
}

/** [{pid, cmdline}] of every descendant of `pid` (found through /proc). */
export function descendantProcesses(pid) {
  return descendants(pid).map((p) => {
    try {
      return { pid: p, cmdline: fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') };
    } catch { return null; }
  }).filter(Boolean);
}

/** Pids of the processes whose command line contains `marker`. */
export function processesWithMarker(marker) {
  return pidsWithMarker(marker);
}

/** SIGTERM, then SIGKILL after graceMs, every process whose command line contains `marker`. */
export async function killByMarker(marker, { graceMs = 3000 } = {}) {
  const pids = pidsWithMarker(marker);
  for (const p of pids) killQuiet(p, 'SIGTERM');
  const end = Date.now() + graceMs;
  while (Date.now() < end && pids.some(alive)) await sleep(100);
  for (const p of pids) if (alive(p)) killQuiet(p, 'SIGKILL');
  trackedMarkers.delete(marker);
}

const sessions = new Set();
/** Close every open session (browser + code-server) and kill leftovers. */
export async function stopAll() {
  for (const s of [...sessions]) await s.close().catch(() => {});
  killEverythingSync();
}

// -------------------------------------------------------------- workspace --

async function writeFiles(root, files) {
  for (const [rel, content] of Object.entries(files || {})) {
    const p = path.join(root, rel);
    await fsp.mkdir(path.dirname(p), { recursive: true });
    await fsp.writeFile(p, content);
  }
}

/**
 * A temporary git repository with the given files ({relPath: content}),
 * committed once (commit: false to leave them untracked).  Returns its path.
 */
export async function makeGitWorkspace(files = {}, { commit = true, dir = null } = {}) {
  const ws = dir || await mkTemp('autan-e2e-ws-');
  await fsp.mkdir(ws, { recursive: true });
  await writeFiles(ws, files);
  const git = (...args) => execFileSync('git', args, {
    cwd: ws, stdio: 'pipe', timeout: 30000,
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'e2e', GIT_AUTHOR_EMAIL: 'e2e@example.invalid',
      GIT_COMMITTER_NAME: 'e2e', GIT_COMMITTER_EMAIL: 'e2e@example.invalid' },
  });
  git('init', '-q', '-b', 'main');
  if (commit) {
    git('add', '-A');
    git('-c', 'commit.gpgsign=false', 'commit', '-q', '--allow-empty', '-m', 'e2e fixture');
  }
  return ws;
}

// ---------------------------------------------------------------- profile --

/** Settings every run gets (the first four are needed, see README). */
export const BASE_SETTINGS = {
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  // Quieter, more deterministic UI.
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'git.openRepositoryInParentFolders': 'never',
  'editor.renderWhitespace': 'none',
  'editor.minimap.enabled': false,
  'files.autoSave': 'off',
  'window.restoreWindows': 'none',
};

/**
 * A fresh temporary profile: {root, userDataDir, extensionsDir, settingsPath,
 * settings}.  `settings` are merged over BASE_SETTINGS and written to
 * <userDataDir>/User/settings.json; `machineSettings` (settings of scope
 * machine / machine-overridable) to <userDataDir>/Machine/settings.json;
 * `keybindings` (array) to keybindings.json.
 */
export async function makeProfile({ settings = {}, machineSettings = null, keybindings = null } = {}) {
  const root = await mkTemp('autan-e2e-profile-');
  const userDataDir = path.join(root, 'user-data');
  const extensionsDir = path.join(root, 'extensions');
  const userDir = path.join(userDataDir, 'User');
  await fsp.mkdir(userDir, { recursive: true });
  await fsp.mkdir(extensionsDir, { recursive: true });
  const merged = { ...BASE_SETTINGS, ...settings };
  const settingsPath = path.join(userDir, 'settings.json');
  await fsp.writeFile(settingsPath, JSON.stringify(merged, null, 2));
  if (keybindings) await fsp.writeFile(path.join(userDir, 'keybindings.json'), JSON.stringify(keybindings, null, 2));
  if (machineSettings) {
    // code-server's "Remote" settings: the only user-level place for settings of scope
    // `machine` / `machine-overridable` (VS Code drops those from User settings in a
    // remote window, which a code-server window is; see README).
    await fsp.mkdir(path.join(userDataDir, 'Machine'), { recursive: true });
    await fsp.writeFile(path.join(userDataDir, 'Machine', 'settings.json'), JSON.stringify(machineSettings, null, 2));
  }
  // Our own code-server config: nothing is read from or written to ~/.config.
  const configPath = path.join(root, 'code-server.yaml');
  await fsp.writeFile(configPath, 'auth: none\ncert: false\n');
  return { root, userDataDir, extensionsDir, settingsPath, configPath, settings: merged };
}

/** Rewrite the user settings of a profile (VS Code picks the change up live). */
export async function updateSettings(profile, settings) {
  profile.settings = { ...profile.settings, ...settings };
  await fsp.writeFile(profile.settingsPath, JSON.stringify(profile.settings, null, 2));
}

function csEnv(profile) {
  const tmp = path.join(profile.root, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  return { XDG_DATA_HOME: path.join(profile.root, 'xdg-data'), TMPDIR: tmp };
}

function csBaseArgs(profile) {
  return ['--config', profile.configPath, '--user-data-dir', profile.userDataDir,
    '--extensions-dir', profile.extensionsDir];
}

function runCodeServerCli(profile, args, { timeoutMs = 120000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(tools().codeServer, [...csBaseArgs(profile), ...args], {
      detached: true, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...csEnv(profile) },
    });
    tracked.add(child.pid);
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { killTree(child.pid, { graceMs: 500 }); reject(new Error(`code-server ${args.join(' ')}: timed out after ${timeoutMs} ms\n${out}`)); }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code) => {
      clearTimeout(timer);
      tracked.delete(child.pid);
      if (code === 0) resolve(out);
      else reject(new Error(`code-server ${args.join(' ')} exited ${code}:\n${out}`));
    });
  });
}

/**
 * `code-server --install-extension <vsix> --force` into the profile's
 * extensions dir.  Returns the CLI output.
 */
export async function installExtension(profile, vsixPath, { timeoutMs = 120000 } = {}) {
  if (!fs.existsSync(vsixPath)) throw new Error(`vsix not found: ${vsixPath}`);
  const out = await runCodeServerCli(profile, ['--install-extension', path.resolve(vsixPath), '--force'], { timeoutMs });
  if (!/successfully installed|already installed/i.test(out)) {
    throw new Error(`install of ${vsixPath} did not report success:\n${out}`);
  }
  return out;
}

/** `code-server --list-extensions --show-versions` for the profile. */
export async function listExtensions(profile) {
  const out = await runCodeServerCli(profile, ['--list-extensions', '--show-versions'], { timeoutMs: 60000 });
  return out.split('\n').map((l) => l.trim()).filter((l) => /^[\w.-]+\.[\w.-]+@/.test(l));
}

// ------------------------------------------------------------ code-server --

/**
 * Start code-server on a free 127.0.0.1 port for `workspace`, poll /healthz.
 * `env` is added to the server's environment (the extension host and any
 * language server it spawns inherit it: put autan's PATH etc. there).
 * Returns {url, port, pid, logPath, workspace, stop()}.
 */
export async function startCodeServer({ profile, workspace, env = {}, port = null, timeoutMs = 60000, extraArgs = [] }) {
  port = port || await freePort();
  const logPath = path.join(profile.root, 'code-server.log');
  const log = fs.openSync(logPath, 'a');
  const args = [...csBaseArgs(profile), '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--ignore-last-opened', ...extraArgs, workspace];
  const child = spawn(tools().codeServer, args, {
    detached: true, stdio: ['ignore', log, log],
    // XDG_DATA_HOME: code-server's heartbeat and coder-logs land in the
    // profile, not in ~/.local/share/code-server.  (XDG_CACHE_HOME is left
    // alone: the extension host and autan inherit this environment.)
    // TMPDIR: VS Code's vscode-ipc-*.sock / vscode-git-*.sock go there and
    // are not removed when the server is killed.
    env: { ...process.env, ...csEnv(profile), ...env },
  });
  fs.closeSync(log);
  tracked.add(child.pid);
  let exited = null;
  child.on('exit', (code, sig) => { exited = { code, sig }; });
  const url = `http://127.0.0.1:${port}`;
  const server = {
    url, port, pid: child.pid, logPath, workspace, profile,
    async stop() { if (tracked.has(child.pid) || alive(child.pid)) await killTree(child.pid); },
    log() { try { return fs.readFileSync(logPath, 'utf8'); } catch { return ''; } },
  };
  try {
    await waitFor(async () => {
      if (exited) throw new Error(`code-server exited early (${JSON.stringify(exited)}):\n${server.log()}`);
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
      return r.ok;
    }, { timeoutMs, intervalMs: 250, what: `code-server /healthz on ${url}` });
  } catch (e) {
    await server.stop();
    if (exited) throw new Error(`code-server exited early (${JSON.stringify(exited)}):\n${server.log()}`);
    throw new Error(`${e.message}\n--- code-server log ---\n${server.log()}`);
  }
  return server;
}

// ---------------------------------------------------------------- browser --

/**
 * Launch chromium (headless) via playwright-core with a persistent profile
 * in a temp dir (so that close() can find and kill all its processes).
 * Returns {context, page, profileDir, close()}.
 */
export async function launchBrowser({ viewport = { width: 1400, height: 900 }, headless = true } = {}) {
  const { chromium } = await playwright();
  const profileDir = await mkTemp('autan-e2e-chromium-');
  trackedMarkers.add(profileDir);
  const context = await withTimeout(chromium.launchPersistentContext(profileDir, {
    executablePath: tools().chromium,
    headless,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    viewport,
    timeout: 60000,
    // Keep chromium's crash reports and dconf out of ~/.config and ~/.cache.
    env: { ...process.env, XDG_CONFIG_HOME: path.join(profileDir, 'xdg-config'), XDG_CACHE_HOME: path.join(profileDir, 'xdg-cache') },
  }), 70000, 'chromium launch');
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(15000);
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  return {
    context, page, profileDir, consoleErrors,
    async close() {
      await withTimeout(context.close(), 10000, 'chromium close').catch(() => {});
      const left = pidsWithMarker(profileDir);
      for (const p of left) killQuiet(p, 'SIGKILL');
      trackedMarkers.delete(profileDir);
      await fsp.rm(profileDir, { recursive: true, force: true }).catch(() => {});
    },
  };
}

/** Open `<url>/?folder=<workspace>` and wait for the workbench. */
export async function openWorkbench(page, server, { timeoutMs = 60000 } = {}) {
  await page.goto(`${server.url}/?folder=${encodeURIComponent(server.workspace)}`, { timeout: timeoutMs, waitUntil: 'domcontentloaded' });
  await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: timeoutMs });
  // The status bar and activity bar come last; then the workbench takes keys.
  await page.locator('#workbench\\.parts\\.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
  await sleep(500);
}

// ----------------------------------------------------------------- editor --

async function quickInputVisible(page) {
  return page.locator('.quick-input-widget').isVisible().catch(() => false);
}

async function waitQuickInputHidden(page, timeoutMs = 10000) {
  await waitFor(async () => !(await quickInputVisible(page)), { timeoutMs, what: 'quick input to close' });
}

/**
 * Open a workspace file via Quick Open (Ctrl+P, type, Enter); waits for its
 * tab to become active and its editor to show.
 */
export async function openFile(page, relPath, { timeoutMs = 20000 } = {}) {
  const base = path.basename(relPath);
  const end = Date.now() + timeoutMs;
  let lastErr;
  while (Date.now() < end) {
    try {
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+P');
      const input = page.locator('.quick-input-widget .quick-input-box input');
      await input.waitFor({ state: 'visible', timeout: 5000 });
      await input.fill(relPath);
      // Wait until a result row names the file, then take the first row.
      await waitFor(async () => {
        const labels = await page.locator('.quick-input-list .monaco-list-row').evaluateAll(
          (rows) => rows.map((r) => r.getAttribute('aria-label') || r.textContent || ''));
        return labels.some((l) => l.includes(base));
      }, { timeoutMs: Math.max(1000, Math.min(8000, end - Date.now())), what: `Quick Open result for ${relPath}` });
      await page.keyboard.press('Enter');
      await waitQuickInputHidden(page, 5000);
      await waitFor(async () => {
        const label = await page.locator('.tabs-container .tab.active').first().getAttribute('aria-label').catch(() => null);
        return label && label.includes(base);
      }, { timeoutMs: 8000, what: `active tab ${base}` });
      await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor({ state: 'visible', timeout: 8000 });
      return;
    } catch (e) { lastErr = e; await sleep(500); }
  }
  throw new Error(`openFile(${relPath}) failed: ${lastErr?.message}`);
}

/** The active editor's `.monaco-editor` locator. */
export function activeEditor(page) {
  return page.locator('.editor-group-container.active .editor-instance .monaco-editor').first();
}

/**
 * Focus the active editor and put the cursor at the end of the document
 * (click on the last `.view-line`, wait for `.monaco-editor.focused`, then
 * Ctrl+End).
 */
export async function focusEditorEnd(page, { timeoutMs = 10000 } = {}) {
  const ed = activeEditor(page);
  await ed.waitFor({ state: 'visible', timeout: timeoutMs });
  const lines = ed.locator('.view-lines .view-line');
  await lines.last().click({ timeout: timeoutMs });
  await page.locator('.monaco-editor.focused').first().waitFor({ state: 'visible', timeout: timeoutMs });
  await page.keyboard.press('Control+End');
}

/** Type text into whatever has focus (`\n` presses Enter). */
export async function typeText(page, text, { delay = 30 } = {}) {
  await page.keyboard.type(text, { delay });
}

/** Press one key or chord, e.g. 'Tab', 'Escape', 'Control+ArrowRight'. */
export async function pressKey(page, key, { times = 1, delay = 30 } = {}) {
  for (let i = 0; i < times; i++) {
    await page.keyboard.press(key);
    if (delay) await sleep(delay);
  }
}

/**
 * Ghost text currently shown in the active editor ('' when none): the first
 * line from `.ghost-text-decoration` / `.ghost-text-decoration-preview`
 * spans, further lines from `.suggest-preview-text .ghost-text`, joined.
 */
// Runs in the page: the ghost text of one `.monaco-editor` element.
function readGhostText(ed) {
  const txt = (el) => (el.textContent || '').replace(/\u00a0/g, ' ');
  const first = [...ed.querySelectorAll('.ghost-text-decoration, .ghost-text-decoration-preview')]
    .map(txt).join('');
  const rest = [];
  for (const block of ed.querySelectorAll('.suggest-preview-text')) {
    const lines = block.querySelectorAll('.view-line');
    if (lines.length) {
      for (const l of lines) rest.push([...l.querySelectorAll('.ghost-text')].map(txt).join('') || txt(l));
    } else {
      for (const g of block.querySelectorAll('.ghost-text')) rest.push(txt(g));
    }
  }
  return rest.length ? [first, ...rest].join('\n') : first;
}

export async function getGhostText(page) {
  return activeEditor(page).evaluate(readGhostText).catch(() => '');
}

/**
 * Start recording every ghost text the active editor renders (a
 * MutationObserver on the editor part, so no state between two polls is
 * missed).  Read the record with ghostTextHistory(); a new call starts over.
 */
export async function recordGhostText(page) {
  await page.evaluate(`(() => {
    const read = ${readGhostText.toString()};
    const part = document.querySelector('.part.editor') || document.body;
    const active = () => document.querySelector('.editor-group-container.active .editor-instance .monaco-editor');
    window.__autanGhostObserver?.disconnect();
    const history = window.__autanGhost = [];
    let last = null;
    const record = () => {
      const ed = active();
      const text = ed ? read(ed) : '';
      if (text !== last) { last = text; history.push({ text, at: Date.now() }); }
    };
    record();
    window.__autanGhostObserver = new MutationObserver(record);
    window.__autanGhostObserver.observe(part, { subtree: true, childList: true, characterData: true });
  })()`);
}

/** [{text, at}] since recordGhostText(): each change of the ghost text ('' = none), `at` the page's Date.now(). */
export async function ghostTextHistory(page) {
  return page.evaluate(() => window.__autanGhost || []);
}

/** The page's Date.now() (the clock of ghostTextHistory()). */
export async function pageNow(page) {
  return page.evaluate(() => Date.now());
}

/**
 * Wait until ghost text shows (and `predicate(text)` holds, if given);
 * returns the text.  Throws after timeoutMs.
 */
export async function waitForGhostText(page, { timeoutMs = 15000, predicate = null } = {}) {
  return waitFor(async () => {
    const t = await getGhostText(page);
    return t && (!predicate || predicate(t)) ? t : null;
  }, { timeoutMs, intervalMs: 100, what: 'ghost text' });
}

/** Wait until no ghost text shows. */
export async function waitForNoGhostText(page, { timeoutMs = 10000 } = {}) {
  await waitFor(async () => (await getGhostText(page)) === '', { timeoutMs, what: 'ghost text to disappear' });
}

/**
 * Text of the active editor's buffer as rendered: the visible `.view-line`s
 * in order of their position, ghost text left out, NBSP as space.  Exact for
 * files that fit the viewport and contain no tabs (tabs render as spaces);
 * for anything else use saveAndReadFile().
 */
export async function getEditorText(page) {
  return activeEditor(page).evaluate((ed) => {
    const GHOST = '.ghost-text-decoration, .ghost-text-decoration-preview, .ghost-text, .suggest-preview-text';
    const lines = [...ed.querySelectorAll('.view-lines > .view-line')]
      .map((l) => ({ top: parseFloat(l.style.top) || 0, el: l }))
      .sort((a, b) => a.top - b.top)
      .map(({ el }) => {
        const clone = el.cloneNode(true);
        for (const g of clone.querySelectorAll(GHOST)) g.remove();
        return (clone.textContent || '').replace(/\u00a0/g, ' ');
      });
    return lines.join('\n');
  });
}

/**
 * Save the active editor (Ctrl+S) and return the file's content from disk
 * once its mtime changed (exact text, tabs included).
 */
export async function saveAndReadFile(page, filePath, { timeoutMs = 10000 } = {}) {
  const before = fs.existsSync(filePath) ? fs.statSync(filePath).mtimeMs : 0;
  await page.keyboard.press('Control+S');
  await waitFor(() => fs.existsSync(filePath) && fs.statSync(filePath).mtimeMs !== before,
    { timeoutMs, what: `save of ${filePath}` });
  await sleep(100);
  return fsp.readFile(filePath, 'utf8');
}

/**
 * aria-label of a status bar item, by its DOM id `<publisher>.<name>.<itemId>`
 * (null when absent).
 */
export async function getStatusBarItem(page, id) {
  const loc = page.locator(`[id="${id}"]`);
  if (await loc.count() === 0) return null;
  const el = loc.first();
  return (await el.getAttribute('aria-label')) ?? (await el.innerText());
}

/** Wait for a status bar item whose aria-label matches `re` (RegExp or string). */
export async function waitForStatusBarItem(page, id, re = /./, { timeoutMs = 15000 } = {}) {
  const rx = typeof re === 'string' ? new RegExp(re.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : re;
  return waitFor(async () => {
    const l = await getStatusBarItem(page, id);
    return l !== null && rx.test(l) ? l : null;
  }, { timeoutMs, what: `status bar item ${id} matching ${rx}` });
}

/**
 * Run a command via the command palette (F1, type `label`, Enter): waits for
 * the focused result row to contain `label` before pressing Enter.
 */
export async function runCommand(page, label, { timeoutMs = 15000 } = {}) {
  const end = Date.now() + timeoutMs;
  let lastErr;
  while (Date.now() < end) {
    try {
      await page.keyboard.press('Escape');
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget .quick-input-box input');
      await input.waitFor({ state: 'visible', timeout: 5000 });
      await input.fill(`>${label}`);
      const want = label.toLowerCase();
      await waitFor(async () => {
        const row = page.locator('.quick-input-list .monaco-list-row.focused').first();
        const l = ((await row.getAttribute('aria-label').catch(() => null)) || '').toLowerCase();
        return l.includes(want);
      }, { timeoutMs: 5000, what: `command palette row '${label}'` });
      await page.keyboard.press('Enter');
      await waitQuickInputHidden(page, 5000).catch(() => {}); // some commands open their own quick input
      return;
    } catch (e) { lastErr = e; await sleep(300); }
  }
  await page.keyboard.press('Escape').catch(() => {});
  throw new Error(`runCommand(${label}) failed: ${lastErr?.message}`);
}

/** Screenshot of the page to `file` (parent folders created). */
export async function screenshot(page, file) {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await withTimeout(page.screenshot({ path: file }), 15000, `screenshot ${file}`);
  return file;
}

// ------------------------------------------------------------------- logs --

/**
 * Path of an extension's LogOutputChannel file,
 * `<userDataDir>/logs/<ts>/exthost*\/<extensionId>/<channel>.log` (newest
 * session first), or null.  `extensionId` is `<publisher>.<name>`.
 */
export function findLogFile(userDataDir, extensionId, channel) {
  const logs = path.join(userDataDir, 'logs');
  if (!fs.existsSync(logs)) return null;
  const sessionsDirs = fs.readdirSync(logs).sort().reverse();
  for (const ts of sessionsDirs) {
    const dir = path.join(logs, ts);
    let subs = [];
    try { subs = fs.readdirSync(dir); } catch { continue; }
    // exthost1 first (as documented), then any other exthost* / window*.
    subs.sort((a, b) => (a === 'exthost1' ? -1 : b === 'exthost1' ? 1 : a.localeCompare(b)));
    for (const sub of subs) {
      const candidates = [path.join(dir, sub, extensionId, `${channel}.log`)];
      try {
        for (const w of fs.readdirSync(path.join(dir, sub))) {
          if (w.startsWith('exthost')) candidates.push(path.join(dir, sub, w, extensionId, `${channel}.log`));
        }
      } catch { /* not a dir */ }
      for (const c of candidates) if (fs.existsSync(c)) return c;
    }
  }
  return null;
}

/** Wait for the log file (and, if given, a line matching `re`); returns {path, text}. */
export async function waitForLog(userDataDir, extensionId, channel, re = null, { timeoutMs = 15000 } = {}) {
  return waitFor(() => {
    const p = findLogFile(userDataDir, extensionId, channel);
    if (!p) return null;
    const text = fs.readFileSync(p, 'utf8');
    return !re || re.test(text) ? { path: p, text } : null;
  }, { timeoutMs, intervalMs: 200, what: `log ${extensionId}/${channel}${re ? ` matching ${re}` : ''}` });
}

// ---------------------------------------------------------------- session --

/**
 * Everything in one call: workspace (temp git repo from `files`, or the
 * given `workspace`), profile with `settings`, optional `vsix` installed,
 * code-server started, chromium on the workbench.  Options:
 *   files, workspace, settings, machineSettings, keybindings, vsix (path or array), env,
 *   viewport, keep (keep temp dirs; default: env AUTAN_E2E_KEEP=1).
 * Returns a session object: {workspace, profile, server, browser, page,
 *   openFile(rel), focusEditorEnd(), type(text, opts), press(key, opts),
 *   ghostText(), recordGhostText(), ghostTextHistory(), pageNow(),
 *   waitForGhostText(opts), waitForNoGhostText(opts),
 *   editorText(), saveAndRead(rel), statusBarItem(id),
 *   waitForStatusBarItem(id, re, opts), runCommand(label),
 *   screenshot(nameOrPath), logFile(extId, channel),
 *   waitForLog(extId, channel, re, opts), updateSettings(obj), close()}.
 */
export async function startSession(opts = {}) {
  requireTools();
  const keep = opts.keep ?? process.env.AUTAN_E2E_KEEP === '1';
  const ownWorkspace = !opts.workspace;
  const workspace = opts.workspace || await makeGitWorkspace(opts.files || {});
  const profile = await makeProfile({ settings: opts.settings, machineSettings: opts.machineSettings, keybindings: opts.keybindings });
  let server = null, browser = null;
  const s = {
    workspace, profile, server: null, browser: null, page: null,
    async close() {
      sessions.delete(s);
      if (browser) await browser.close().catch(() => {});
      if (server) await server.stop().catch(() => {});
      browser = server = null;
      if (!keep) {
        await fsp.rm(profile.root, { recursive: true, force: true }).catch(() => {});
        if (ownWorkspace) await fsp.rm(workspace, { recursive: true, force: true }).catch(() => {});
      }
    },
  };
  sessions.add(s);
  try {
    for (const v of [].concat(opts.vsix || [])) await installExtension(profile, v);
    server = s.server = await startCodeServer({ profile, workspace, env: opts.env || {} });
    browser = s.browser = await launchBrowser({ viewport: opts.viewport });
    const page = s.page = browser.page;
    await openWorkbench(page, server);
    Object.assign(s, {
      openFile: (rel, o) => openFile(page, rel, o),
      focusEditorEnd: (o) => focusEditorEnd(page, o),
      type: (text, o) => typeText(page, text, o),
      press: (key, o) => pressKey(page, key, o),
      ghostText: () => getGhostText(page),
      recordGhostText: () => recordGhostText(page),
      ghostTextHistory: () => ghostTextHistory(page),
      pageNow: () => pageNow(page),
      waitForGhostText: (o) => waitForGhostText(page, o),
      waitForNoGhostText: (o) => waitForNoGhostText(page, o),
      editorText: () => getEditorText(page),
      saveAndRead: (rel, o) => saveAndReadFile(page, path.join(workspace, rel), o),
      statusBarItem: (id) => getStatusBarItem(page, id),
      waitForStatusBarItem: (id, re, o) => waitForStatusBarItem(page, id, re, o),
      runCommand: (label, o) => runCommand(page, label, o),
      screenshot: (name) => screenshot(page, path.isAbsolute(name) ? name : path.join(ARTIFACTS, name.endsWith('.png') ? name : `${name}.png`)),
      logFile: (extId, channel) => findLogFile(profile.userDataDir, extId, channel),
      waitForLog: (extId, channel, re, o) => waitForLog(profile.userDataDir, extId, channel, re, o),
      updateSettings: (obj) => updateSettings(profile, obj),
    });
    return s;
  } catch (e) {
    const log = server?.log?.() || '';
    await s.close();
    throw log ? new Error(`${e.message}\n--- code-server log (tail) ---\n${log.slice(-4000)}`) : e;
  }
}

/**
 * Run `fn(session)` inside a session; on failure, saves a screenshot and the
 * code-server log into ARTIFACTS/<name>-failure.{png,log} before rethrowing.
 * Always closes the session.
 */
export async function withSession(name, opts, fn) {
  const s = await startSession(opts);
  try {
    return await fn(s);
  } catch (e) {
    const base = path.join(ARTIFACTS, `${name.replace(/[^\w.-]+/g, '_')}-failure`);
    await screenshot(s.page, `${base}.png`).catch(() => {});
    await fsp.writeFile(`${base}.log`, s.server?.log?.() || '').catch(() => {});
    e.message += `\n(screenshot: ${base}.png, code-server log: ${base}.log)`;
    throw e;
  } finally {
    await s.close();
  }
}
