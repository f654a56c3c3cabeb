// The extension's entry point: wires the log, the status bar, the gate, the server session
// and the commands, and follows settings and the active editor.

import * as vscode from "vscode";

import { Commands } from "./commands";
import { Gate } from "./gate";
import { GitIgnored } from "./gitIgnore";
import { Session } from "./session";
import { SECTION, changeEffect, clientSettings } from "./settings";
import { StatusBar } from "./statusBar";

/** The LogOutputChannel; VS Code writes it to `<logs>/<session>/exthost1/autan.autan/autan.log`. */
export const LOG_CHANNEL = "autan";

let session: Session | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel(LOG_CHANNEL, { log: true });
  const settings = () => clientSettings((key) => vscode.workspace.getConfiguration(SECTION).get(key));
  const statusBar = new StatusBar();
  const git = new GitIgnored(log);
  const gate = new Gate(settings, git);
  session = new Session(log, statusBar, gate, settings);
  const current = session;
  context.subscriptions.push(log, statusBar, git, current, new Commands(current, gate, log));

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => onSettings(e, current, statusBar)),
    vscode.window.onDidChangeActiveTextEditor(() => void current.refreshHere()),
    vscode.window.onDidChangeTextEditorSelection((e) => {
      const active = e.selections[0]?.active;
      if (active) {
        current.inline.onCursor(e.textEditor.document, active);
      }
    }),
    vscode.workspace.onDidCloseTextDocument((document) => git.forget(document.uri)),
  );
  await current.start();
  void current.refreshHere();
}

async function onSettings(e: vscode.ConfigurationChangeEvent, current: Session, statusBar: StatusBar): Promise<void> {
  if (!e.affectsConfiguration(SECTION)) {
    return;
  }
  const effect = changeEffect((section) => e.affectsConfiguration(section));
  const enabled = vscode.workspace.getConfiguration(SECTION).get<boolean>("enable", true);
  if (effect.refreshClient) {
    current.inline.stop();
    void vscode.commands.executeCommand("editor.action.inlineSuggest.hide");
  }
  if (!enabled) {
    // Off means off: no server process either (it holds the index and maybe the engine).
    await current.stop();
    statusBar.set({ state: "disabled", message: "" });
  } else if (effect.restart || !current.running) {
    await current.restart();
  } else if (effect.notifyServer) {
    current.settingsChanged();
  }
  await current.refreshHere();
}

export async function deactivate(): Promise<void> {
  await session?.stop();
  session = undefined;
}
