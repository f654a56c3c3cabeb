// The status bar item. Its id is stable (`autan.status`; in the DOM
// `autan.autan.autan.status`) because the end-to-end tests find it by id; its text and
// tooltip come from status.ts.

import * as vscode from "vscode";

import { ItemView, Status, itemView, tooltipMarkdown } from "./status";

export const STATUS_ITEM_ID = "autan.status";
const STREAM_REFRESH_MS = 100; // the tooltip need not follow every token

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private status: Status = { state: "starting", message: "" };
  private here: string | undefined;
  private lastRequest: string | undefined;
  private streaming: string | undefined;
  private streamTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    this.item = vscode.window.createStatusBarItem(STATUS_ITEM_ID, vscode.StatusBarAlignment.Right, 100);
    this.item.name = "autan";
    this.item.command = "autan.menu";
    this.render();
    this.item.show();
  }

  get state(): Status {
    return this.status;
  }

  set(status: Status): void {
    this.status = status;
    if (status.state !== "generating") {
      this.streaming = undefined;
    }
    this.render();
  }

  /** Why the active editor gets nothing (undefined: it may get suggestions). */
  setHere(reason: string | undefined): void {
    if (reason !== this.here) {
      this.here = reason;
      this.render();
    }
  }

  setLastRequest(line: string | undefined): void {
    this.lastRequest = line;
    this.render();
  }

  setStreaming(text: string): void {
    this.streaming = text;
    this.streamTimer ??= setTimeout(() => {
      this.streamTimer = undefined;
      this.render();
    }, STREAM_REFRESH_MS);
  }

  dispose(): void {
    clearTimeout(this.streamTimer);
    this.item.dispose();
  }

  private render(): void {
    const view: ItemView = itemView(this.status, this.here);
    this.item.text = view.text;
    // The accessibility label is what screen readers (and the e2e tests) read.
    this.item.accessibilityInformation = { label: `autan: ${view.label}` };
    this.item.backgroundColor = view.alarm ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    const tooltip = new vscode.MarkdownString(tooltipMarkdown(view, this.lastRequest, this.streaming));
    tooltip.supportThemeIcons = false;
    this.item.tooltip = tooltip;
  }
}
