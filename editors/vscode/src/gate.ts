// The facts exclusions.ts decides on, gathered from VS Code: the settings, `autan.exclude`
// globs (matched by VS Code's own glob engine, as `files.exclude` is), and git.

import * as vscode from "vscode";

import { DocumentFacts, Refusal, documentRefusal, isSecretPath, requestRefusal } from "./exclusions";
import { GitIgnored } from "./gitIgnore";
import { ClientSettings } from "./settings";

/** The documents the server is told about at all: files and unsaved buffers. */
export const DOCUMENT_SELECTOR: vscode.DocumentSelector = [{ scheme: "file" }, { scheme: "untitled" }];

export class Gate {
  constructor(
    private readonly settings: () => ClientSettings,
    private readonly git: GitIgnored,
  ) {}

  /** Secret files are withheld from the server entirely (no didOpen, no didChange). */
  static isSecret(document: vscode.TextDocument): boolean {
    return document.uri.scheme === "file" && isSecretPath(document.uri.fsPath);
  }

  async facts(document: vscode.TextDocument): Promise<DocumentFacts> {
    const s = this.settings();
    const isFile = document.uri.scheme === "file";
    return {
      enabled: s.enable,
      languageId: document.languageId,
      languages: s.languages,
      path: isFile ? document.uri.fsPath : undefined,
      excludedByGlob: s.exclude.some((pattern) => vscode.languages.match({ pattern }, document) > 0),
      // Asked last and only when needed: it may wait for git the first time.
      gitIgnored: false,
    };
  }

  /** Why `document` gets no suggestion for this request, or undefined. */
  async refusal(document: vscode.TextDocument, invoked: boolean): Promise<Refusal | undefined> {
    const facts = await this.facts(document);
    const early = requestRefusal(facts, this.settings().triggerMode === "manual", invoked);
    if (early) {
      return early;
    }
    facts.gitIgnored = await this.git.isIgnored(document.uri);
    return documentRefusal(facts);
  }

  /** Why `document` gets nothing at all, for the status bar (trigger mode aside). */
  async documentRefusal(document: vscode.TextDocument): Promise<Refusal | undefined> {
    const facts = await this.facts(document);
    facts.gitIgnored = documentRefusal(facts) ? false : await this.git.isIgnored(document.uri);
    return documentRefusal(facts);
  }
}
