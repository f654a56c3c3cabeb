// The language client: `autan lsp` over stdio (vscode-languageclient appends `--stdio`), its
// middleware (settings filter, secret files withheld, inline completions) and the server's
// custom notifications.

import * as fs from "node:fs";
import * as os from "node:os";
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  Middleware,
  RevealOutputChannelOn,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

import { DOCUMENT_SELECTOR, Gate } from "./gate";
import { InlineCompletions } from "./inline";
import { Missing, ServerLocation, findServer } from "./serverPath";
import { SECTION, clientSettings, serverSettings } from "./settings";

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function locateServer(): ServerLocation | Missing {
  const settings = clientSettings((key) => vscode.workspace.getConfiguration(SECTION).get(key));
  return findServer({
    setting: settings.serverPath,
    folders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
    envPath: process.env.PATH ?? "",
    home: os.homedir(),
    platform: process.platform,
    isExecutable,
  });
}

/** The server's settings as they stand now (client-only keys removed). */
export function currentServerSettings(): Record<string, unknown> {
  return serverSettings(vscode.workspace.getConfiguration(SECTION));
}

function middleware(inline: InlineCompletions): Middleware {
  // Secret files never reach the server: not their text, not their changes.
  const unlessSecret = <T>(document: vscode.TextDocument, send: () => Promise<T>) =>
    Gate.isSecret(document) ? Promise.resolve() : send();
  return {
    provideInlineCompletionItems: inline.provide,
    didOpen: (document, next) => unlessSecret(document, () => next(document)),
    didChange: (event, next) => unlessSecret(event.document, () => next(event)),
    didSave: (document, next) => unlessSecret(document, () => next(document)),
    didClose: (document, next) => unlessSecret(document, () => next(document)),
    workspace: {
      // The server asks for section "autan" (server/lsp.py pull_configuration); VS Code's
      // answer holds every key of it, the client-only ones too.
      configuration: async (params, token, next) => {
        const answer = await next(params, token);
        if (!Array.isArray(answer)) {
          return answer;
        }
        return answer.map((value, i) =>
          params.items[i]?.section === SECTION ? serverSettings(value) : value);
      },
    },
  };
}

export function makeClient(
  location: ServerLocation,
  log: vscode.LogOutputChannel,
  inline: InlineCompletions,
): LanguageClient {
  const server: ServerOptions = {
    command: location.command,
    args: ["lsp"],
    transport: TransportKind.stdio,
    options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath },
  };
  const options: LanguageClientOptions = {
    documentSelector: DOCUMENT_SELECTOR as LanguageClientOptions["documentSelector"],
    outputChannel: log,
    // The status bar item says when something is wrong; the log does not jump open.
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    initializationOptions: () => currentServerSettings(), // read again at each restart
    middleware: middleware(inline),
  };
  return new LanguageClient("autan", "autan", server, options);
}
