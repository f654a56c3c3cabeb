// The commands. Suggestion navigation wraps VS Code's own `editor.action.inlineSuggest.*`
// commands, so autan's keys do what VS Code's do; the accept-next-word/line wrappers also
// measure the edit, since VS Code's stable API reports no partial accept to the provider.

import * as vscode from "vscode";

import { REFUSAL_TEXT } from "./exclusions";
import { AcceptKind, Change, insertedLength, insertedText } from "./feedback";
import { Gate } from "./gate";
import { ACCEPTED_COMMAND } from "./inline";
import { Session } from "./session";
import { SECTION } from "./settings";
import { statsSummary } from "./status";

const RECENT_EDIT_MS = 1000; // a full accept's edit reaches the extension just before its command

interface Edit {
  uri: string;
  changes: Change[];
  at: number;
}

export class Commands implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private lastEdit: Edit | undefined;
  private partialEdits: Change[] | undefined; // collecting, while a word/line accept runs
  private fullDuringPartial = false;

  constructor(
    private readonly session: Session,
    private readonly gate: Gate,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const register = (id: string, run: (...args: never[]) => unknown) =>
      this.disposables.push(vscode.commands.registerCommand(id, run));
    register("autan.toggle", () => this.toggle());
    register("autan.restart", () => this.session.restart());
    register("autan.trigger", () => this.trigger());
    register("autan.acceptNextWord", () => this.acceptPart("word", "editor.action.inlineSuggest.acceptNextWord"));
    register("autan.acceptNextLine", () => this.acceptPart("line", "editor.action.inlineSuggest.acceptNextLine"));
    register("autan.showNext", () => vscode.commands.executeCommand("editor.action.inlineSuggest.showNext"));
    register("autan.showPrevious", () => vscode.commands.executeCommand("editor.action.inlineSuggest.showPrevious"));
    register("autan.showStats", () => this.showStats());
    register("autan.showLog", () => this.log.show());
    register("autan.menu", () => this.menu());
    register(ACCEPTED_COMMAND, (uri: string, length: number) => this.acceptedFull(uri, length));
    this.disposables.push(vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)));
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    if (!e.contentChanges.length) {
      return;
    }
    const changes = e.contentChanges.map((c) => ({ text: c.text, rangeLength: c.rangeLength }));
    this.lastEdit = { uri: this.session.protocolUri(e.document.uri), changes, at: Date.now() };
    this.partialEdits?.push(...changes);
  }

  private async toggle(): Promise<void> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const inspect = config.inspect<boolean>("enable");
    // Flip it where it is set, so a workspace setting is not shadowed by a user one.
    const target = inspect?.workspaceFolderValue !== undefined
      ? vscode.ConfigurationTarget.WorkspaceFolder
      : inspect?.workspaceValue !== undefined
        ? vscode.ConfigurationTarget.Workspace
        : vscode.ConfigurationTarget.Global;
    await config.update("enable", !config.get<boolean>("enable", true), target);
  }

  private async trigger(): Promise<void> {
    const document = vscode.window.activeTextEditor?.document;
    const refusal = document ? await this.gate.refusal(document, true) : undefined;
    if (refusal) {
      vscode.window.setStatusBarMessage(`autan: ${REFUSAL_TEXT[refusal]}`, 4000);
      return;
    }
    await vscode.commands.executeCommand("editor.action.inlineSuggest.trigger");
  }

  private async acceptPart(kind: AcceptKind, command: string): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    this.partialEdits = [];
    this.fullDuringPartial = false;
    try {
      await vscode.commands.executeCommand(command);
    } finally {
      const edits = this.partialEdits;
      this.partialEdits = undefined;
      const uri = editor ? this.session.protocolUri(editor.document.uri) : "";
      // The last word of a suggestion makes VS Code accept it whole (its command reports it).
      if (editor && edits.length && !this.fullDuringPartial &&
          this.session.inline.tracker.partial(uri, insertedText(edits))) {
        this.session.accepted(uri, kind, insertedLength(edits));
      }
    }
  }

  private acceptedFull(uri: string, fallbackLength: number): void {
    const edit = this.lastEdit;
    const recent = edit && edit.uri === uri && Date.now() - edit.at < RECENT_EDIT_MS;
    const length = recent ? insertedLength(edit.changes) : fallbackLength;
    this.fullDuringPartial = this.partialEdits !== undefined;
    this.session.inline.tracker.clear();
    this.session.accepted(uri, "full", length);
  }

  private async showStats(): Promise<void> {
    const stats = await this.session.stats(5).catch((err: unknown) => {
      this.log.warn(`autan/stats failed: ${String(err)}`);
      return undefined;
    });
    if (!stats) {
      void vscode.window.showWarningMessage("autan: the server is not running.", "Show Log")
        .then((pick) => pick && this.log.show());
      return;
    }
    this.log.info(`autan/stats ${JSON.stringify(stats, null, 2)}`);
    const pick = await vscode.window.showInformationMessage(statsSummary(stats), "Show Details");
    if (pick) {
      this.log.show();
    }
  }

  private async menu(): Promise<void> {
    const enabled = vscode.workspace.getConfiguration(SECTION).get<boolean>("enable", true);
    const items: Array<vscode.QuickPickItem & { command: string }> = [
      { label: enabled ? "$(circle-slash) Disable completions" : "$(check) Enable completions", command: "autan.toggle" },
      { label: "$(debug-restart) Restart the server", command: "autan.restart" },
      { label: "$(graph) Show statistics", command: "autan.showStats" },
      { label: "$(output) Show the log", command: "autan.showLog" },
      { label: "$(gear) Settings", command: "autan.openSettings" },
    ];
    const pick = await vscode.window.showQuickPick(items, { title: "autan" });
    if (pick?.command === "autan.openSettings") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "@ext:autan.autan");
    } else if (pick) {
      await vscode.commands.executeCommand(pick.command);
    }
  }
}
