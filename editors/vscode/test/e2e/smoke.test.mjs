// Proves the harness drives a real VS Code with no autan extension:
// code-server on a temp git workspace, open a Python file, type, read back.
// Run: see README.md (tools.sh first; missing tools fail the test)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as h from './harness.mjs';


test('code-server + chromium: open a Python file, type, read the buffer', { timeout: 180_000 }, async () => {
  h.requireTools(); // missing tools fail the test (never a skip)
  await h.withSession('smoke', {
    files: { 'src/hello.py': 'def greet(name):\n    return "hi " + name\n' },
    settings: { 'editor.inlineSuggest.enabled': true },
  }, async (s) => {
    await s.openFile('src/hello.py');
    const before = await s.editorText();
    assert.match(before, /def greet\(name\):/);

    await s.focusEditorEnd();
    await s.type('x = 42');
    await h.waitFor(async () => (await s.editorText()).includes('x = 42'),
      { timeoutMs: 10_000, what: 'typed text in the buffer' });

    const text = await s.editorText();
    assert.equal(text, 'def greet(name):\n    return "hi " + name\nx = 42');
    assert.equal(await s.ghostText(), '', 'no inline completion provider, so no ghost text');
    // The status bar is there (an item we know exists: the language mode).
    assert.ok(await s.page.locator('#workbench\\.parts\\.statusbar').isVisible());

    const shot = await s.screenshot('smoke.png');
    assert.ok(fs.statSync(shot).size > 10_000, `screenshot ${shot} looks empty`);

    // Exact text from disk after Ctrl+S.
    const saved = await s.saveAndRead('src/hello.py');
    assert.equal(saved, 'def greet(name):\n    return "hi " + name\nx = 42');

    // The command palette works (a built-in command with a visible effect).
    await s.runCommand('View: Toggle Word Wrap');
    await s.runCommand('View: Toggle Word Wrap');
    console.log(`smoke: screenshot ${path.resolve(shot)}`);
  });
});
