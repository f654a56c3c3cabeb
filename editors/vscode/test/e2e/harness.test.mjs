// Checks the harness's extension-facing helpers against a tiny fixture
// extension (fixture-ext/, packed to a .vsix here; not autan): install,
// ghost text (two lines), Tab accept, status bar item, LogOutputChannel file,
// command palette.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as h from './harness.mjs';
import { makeVsix } from './vsix.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const EXT = 'e2e-fixture.fixture-ext';

test('fixture extension: ghost text, accept, status bar, log channel, command', { timeout: 180_000 }, async () => {
  h.requireTools(); // missing tools fail the test (never a skip)
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'autan-e2e-vsix-'));
  const vsix = await makeVsix(path.join(here, 'fixture-ext'), path.join(tmp, 'fixture-ext-0.0.1.vsix'));
  try {
    await h.withSession('harness-fixture', {
      files: { 'main.py': 'import os\n' },
      settings: { 'editor.inlineSuggest.enabled': true },
      vsix,
    }, async (s) => {
      const exts = await h.listExtensions(s.profile);
      assert.ok(exts.some((e) => e.startsWith(`${EXT}@`)), `installed: ${exts}`);

      const status = await s.waitForStatusBarItem(`${EXT}.fixtureStatus`, /Fixture ready/, { timeoutMs: 30_000 });
      assert.match(status, /Fixture ready/);
      const log = await s.waitForLog(EXT, 'Fixture', /fixture activated/);
      assert.match(log.path, /logs\/[^/]+\/exthost1\/e2e-fixture\.fixture-ext\/Fixture\.log$/);

      await s.openFile('main.py');
      await s.focusEditorEnd();
      await s.type('fixture_');
      const ghost = await s.waitForGhostText({ timeoutMs: 15_000 });
      await s.screenshot('harness-ghost.png');
      assert.equal(ghost, 'ghost_one(1)\nsecond_line(2)');
      // Buffer text leaves the ghost text out.
      assert.equal(await s.editorText(), 'import os\nfixture_');

      await s.press('Tab');
      await s.waitForNoGhostText();
      assert.equal(await s.editorText(), 'import os\nfixture_ghost_one(1)\nsecond_line(2)');
      await s.screenshot('harness-accepted.png');

      await s.runCommand('E2E Fixture: Say Hello');
      await s.waitForLog(EXT, 'Fixture', /hello command ran/);
      await s.waitForStatusBarItem(`${EXT}.fixtureStatus`, 'Fixture hello');
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
