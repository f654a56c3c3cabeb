// One running server and everything tied to it: the client, the status bar's server state,
// the server's notifications, acceptance feedback and `autan/stats`.

import * as vscode from "vscode";
import { DidChangeConfigurationNotification, LanguageClient, State } from "vscode-languageclient/node";

import { makeClient, locateServer } from "./client";
import { REFUSAL_TEXT } from "./exclusions";
import { AcceptKind, acceptParams } from "./feedback";
import { Gate } from "./gate";
import { InlineCompletions } from "./inline";
import { missingMessage } from "./serverPath";
import { ClientSettings } from "./settings";
import { RecentRequest, parseStatus, timingsLine } from "./status";
import { StatusBar } from "./statusBar";
import { parseProgress } from "./streaming";

export class Session implements vscode.Disposable {
  readonly inline: InlineCompletions;
  private client: LanguageClient | undefined;
  private warnedMissing = false;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly statusBar: StatusBar,
    private readonly gate: Gate,
    private readonly settings: () => ClientSettings,
  ) {
    this.inline = new InlineCompletions({
      settings,
      log,
      protocolUri: (uri) => this.protocolUri(uri),
      notifyShown: (uri) => this.notify("autan/didShowCompletion", { textDocument: { uri } }),
      onStreaming: (text) => statusBar.setStreaming(text),
    }, gate);
  }

  /** A document's uri as the server sees it (and echoes in its notifications). */
  protocolUri(uri: vscode.Uri): string {
    return this.client?.code2ProtocolConverter.asUri(uri) ?? uri.toString();
  }

  get running(): boolean {
    return this.client?.state === State.Running;
  }

  async start(): Promise<void> {
    if (!this.settings().enable) {
      this.statusBar.set({ state: "disabled", message: "" });
      return;
    }
    const location = locateServer();
    if (!("command" in location)) {
      const message = missingMessage(location);
      this.log.error(message);
      this.statusBar.set({ state: "stopped", message: "(autan not found)" });
      if (!this.warnedMissing) {
        this.warnedMissing = true; // one notification per window; the log keeps the rest
        void vscode.window.showErrorMessage(message, "Open Settings", "Show Log").then((pick) => {
          if (pick === "Open Settings") {
            void vscode.commands.executeCommand("workbench.action.openSettings", "autan.serverPath");
          } else if (pick === "Show Log") {
            this.log.show();
          }
        });
      }
      return;
    }
    this.log.info(`starting ${location.command} lsp (found via ${location.source})`);
    this.statusBar.set({ state: "starting", message: "" });
    const client = makeClient(location, this.log, this.inline);
    this.client = client;
    client.onDidChangeState((e) => {
      if (e.newState === State.Stopped && this.client === client) {
        this.statusBar.set({ state: "stopped", message: "(see the log)" });
      }
    });
    client.onNotification("autan/status", (params: unknown) => this.onStatus(params));
    client.onNotification("autan/inlineCompletionProgress", (params: unknown) => {
      const progress = parseProgress(params);
      if (progress) {
        this.inline.onProgress(progress);
      }
    });
    try {
      await client.start();
    } catch (err) {
      this.log.error(`the server did not start: ${String(err)}`);
      this.statusBar.set({ state: "stopped", message: "(see the log)" });
    }
  }

  async stop(): Promise<void> {
    this.inline.stop();
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop();
      } catch (err) {
        this.log.warn(`stopping the server: ${String(err)}`);
      }
    }
  }

  async restart(): Promise<void> {
    this.warnedMissing = false; // a restart is the user asking again: tell them again
    await this.stop();
    await this.start();
  }

  /** Server-relevant settings changed: the server pulls them (didChangeConfiguration with no
   * settings), so it gets them through the filtering middleware. */
  settingsChanged(): void {
    if (this.running) {
      void this.client?.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
    }
  }

  accepted(uri: string, kind: AcceptKind, length: number): void {
    this.log.info(`accepted (${kind}) ${length} characters`);
    this.notify("autan/didAcceptCompletion", acceptParams(uri, kind, length));
  }

  async stats(recent: number): Promise<Record<string, unknown> | undefined> {
    if (!this.running) {
      return undefined;
    }
    return this.client?.sendRequest<Record<string, unknown>>("autan/stats", { recent });
  }

  /** The status bar's "not here" reason for the active editor. */
  async refreshHere(): Promise<void> {
    const document = vscode.window.activeTextEditor?.document;
    const refusal = document && vscode.languages.match(
      [{ scheme: "file" }, { scheme: "untitled" }], document) > 0
      ? await this.gate.documentRefusal(document)
      : undefined;
    this.statusBar.setHere(refusal && refusal !== "disabled" ? REFUSAL_TEXT[refusal] : undefined);
  }

  dispose(): void {
    this.inline.dispose();
    void this.stop();
  }

  private onStatus(params: unknown): void {
    const status = parseStatus(params);
    if (!status) {
      return;
    }
    const wasGenerating = this.statusBar.state.state === "generating";
    this.statusBar.set(this.settings().enable ? status : { state: "disabled", message: "" });
    if (status.state === "error") {
      this.log.error(`server: ${status.message}`);
    }
    if (wasGenerating && status.state !== "generating") {
      void this.refreshLastRequest();
    }
  }

  private async refreshLastRequest(): Promise<void> {
    try {
      const stats = await this.stats(1);
      const recent = Array.isArray(stats?.recent) ? (stats.recent as RecentRequest[]) : [];
      this.statusBar.setLastRequest(timingsLine(recent[recent.length - 1]));
    } catch (err) {
      this.log.debug(`autan/stats failed: ${String(err)}`);
    }
  }

  private notify(method: string, params: object): void {
    if (this.running) {
      this.client?.sendNotification(method, params).catch((err: unknown) =>
        this.log.debug(`${method} failed: ${String(err)}`));
    }
  }
}
