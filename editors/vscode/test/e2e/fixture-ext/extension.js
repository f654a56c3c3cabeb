// Fixture extension for harness.test: not autan. CommonJS, no dependencies.
const vscode = require('vscode');

function activate(context) {
  const log = vscode.window.createOutputChannel('Fixture', { log: true });
  context.subscriptions.push(log);
  log.info('fixture activated');

  const item = vscode.window.createStatusBarItem('fixtureStatus', vscode.StatusBarAlignment.Right, 100);
  item.text = '$(check) Fixture ready';
  item.show();
  context.subscriptions.push(item);

  context.subscriptions.push(vscode.commands.registerCommand('e2eFixture.hello', () => {
    log.info('hello command ran');
    item.text = 'Fixture hello';
  }));

  // Ghost text after a line ending in "fixture_": two lines.
  context.subscriptions.push(vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, {
    provideInlineCompletionItems(doc, pos) {
      const before = doc.lineAt(pos.line).text.slice(0, pos.character);
      if (!before.endsWith('fixture_')) return [];
      log.info(`inline completion at ${pos.line}:${pos.character}`);
      return [new vscode.InlineCompletionItem('ghost_one(1)\nsecond_line(2)', new vscode.Range(pos, pos))];
    },
  }));
}

function deactivate() {}

module.exports = { activate, deactivate };
