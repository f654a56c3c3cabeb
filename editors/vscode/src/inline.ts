// The inline-completion middleware: vscode-languageclient's feature sends
// textDocument/inlineCompletion and converts the answer; this decides whether to ask at all
// (gate.ts), answers from the streamed text while the model writes (streaming.ts), and tags
// what it hands VS Code for acceptance feedback (feedback.ts).

import * as vscode from "vscode";
import type { Middleware } from "vscode-languageclient/node";

import { SuggestionTracker } from "./feedback";
import { Gate } from "./gate";
import { REFUSAL_TEXT } from "./exclusions";
import { ClientSettings } from "./settings";
import { FinalItem, Pos, Progress, Streams, View, before } from "./streaming";

export const ACCEPTED_COMMAND = "autan._accepted"; // run by VS Code after a full accept
const RETRIGGER_MS = 100; // coalesce progress into one re-trigger, and let VS Code settle between two
const RETRIGGER_ATTEMPTS = 5; // see retrigger
const REFOCUS_ATTEMPT = 3; // see retrigger

// The signature of the feature's own request (not exported by vscode-languageclient 11).
type ProvideInlineCompletionItemsSignature =
  Parameters<NonNullable<Middleware["provideInlineCompletionItems"]>>[4];
type Answer = vscode.InlineCompletionItem[] | vscode.InlineCompletionList | null | undefined;

export interface InlineHost {
  settings(): ClientSettings;
  protocolUri(uri: vscode.Uri): string;
  log: vscode.LogOutputChannel;
  notifyShown(uri: string): void;
  onStreaming(text: string): void;
}

function finalItems(answer: Answer): FinalItem[] {
  const items = Array.isArray(answer) ? answer : (answer?.items ?? []);
  return items.flatMap((item) => {
    const text = typeof item.insertText === "string" ? item.insertText : item.insertText.value;
    const range = item.range instanceof vscode.Range ? item.range : undefined;
    const replace = range && range.isSingleLine ? range.end.character - range.start.character : 0;
    return text ? [{ text, replaceLength: Math.max(0, replace) }] : [];
  });
}

function typedSince(document: vscode.TextDocument, start: Pos, position: vscode.Position): string | undefined {
  const from = new vscode.Position(start.line, start.character);
  return before(position, from) ? undefined : document.getText(new vscode.Range(from, position));
}

function cancelled(token: vscode.CancellationToken): Promise<void> {
  return new Promise((resolve) => {
    if (token.isCancellationRequested) {
      resolve();
    }
    token.onCancellationRequested(() => resolve());
  });
}

export class InlineCompletions implements vscode.Disposable {
  readonly streams = new Streams();
  readonly tracker = new SuggestionTracker();
  private retriggerTimer: ReturnType<typeof setTimeout> | undefined;
  private retriggering = false;
  private retriggerAgain = false;
  /** Whether VS Code's current answer came from an explicit (Invoke) request: see retrigger. */
  private answeredExplicitly = false;
  private provideCalls = 0;

  constructor(
    private readonly host: InlineHost,
    private readonly gate: Gate,
  ) {}

  /** `middleware.provideInlineCompletionItems`. */
  provide = async (
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
    next: ProvideInlineCompletionItemsSignature,
  ): Promise<Answer> => {
    this.provideCalls++;
    const uri = this.host.protocolUri(document.uri);
    const invoked = context.triggerKind === vscode.InlineCompletionTriggerKind.Invoke;
    // A stream the user asked for keeps answering while they type along it, manual mode or not.
    const streaming = this.streams.current?.uri === uri;
    const refusal = await this.gate.refusal(document, invoked || streaming);
    if (refusal) {
      this.host.log.debug(`no request for ${document.uri.fsPath}: ${REFUSAL_TEXT[refusal]}`);
      return null;
    }
    if (!this.host.settings().streamProgress || context.selectedCompletionInfo) {
      // Items must extend the suggest widget's selection: the server's answer, as it is.
      this.streams.end();
      const answer = await next(document, position, context, token);
      return this.present(document, position, finalItems(answer));
    }
    const answer = await this.fromStream(document, position, context, token, next, uri);
    if (!token.isCancellationRequested) {
      this.answeredExplicitly = invoked; // VS Code keeps this answer and its request
    }
    return answer;
  };

  /** `autan/inlineCompletionProgress`. */
  onProgress(progress: Progress): void {
    if (this.streams.progress(progress)) {
      this.host.onStreaming(this.streams.current?.streamed ?? "");
      this.retrigger();
    }
  }

  /** Typing or moving off the stream stops it (and its generation) right away, not at the
   * next provider call, which never comes when the cursor leaves. */
  onCursor(document: vscode.TextDocument, position: vscode.Position): void {
    const s = this.streams.current;
    if (s && s.uri === this.host.protocolUri(document.uri)) {
      const view = this.streams.view(s.uri, position, typedSince(document, s.start, position));
      if (view.kind === "diverged") {
        this.streams.end();
      }
    }
  }

  stop(): void {
    this.streams.end();
    this.tracker.clear();
  }

  dispose(): void {
    clearTimeout(this.retriggerTimer);
    this.stop();
  }

  private async fromStream(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
    next: ProvideInlineCompletionItemsSignature,
    uri: string,
  ): Promise<Answer> {
    const look = (): View => {
      const s = this.streams.current;
      return s ? this.streams.view(uri, position, typedSince(document, s.start, position)) : { kind: "none" };
    };
    // One new request at most per call: when the stream waited on ends without a text for
    // here (it diverged, or the server answered nothing for a document typed on since), the
    // call asks from here instead of answering nothing: no later call may come to do it.
    let started = false;
    let view = look();
    for (;;) {
      if (view.kind === "diverged") {
        this.streams.end();
        view = { kind: "none" };
      }
      if (view.kind === "none" && !started) {
        this.startStream(document, position, context, next, uri);
        started = true;
        view = look();
      }
      if (view.kind !== "pending" || token.isCancellationRequested) {
        break;
      }
      await Promise.race([this.streams.nextUpdate(), cancelled(token)]);
      view = look();
    }
    if (token.isCancellationRequested || view.kind !== "text") {
      return null;
    }
    return this.present(document, position, view.items);
  }

  /** Send the request detached from VS Code's token: re-triggers cancel VS Code's provider
   * calls, and must not cancel the generation they are showing. */
  private startStream(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    next: ProvideInlineCompletionItemsSignature,
    uri: string,
  ): void {
    const source = new vscode.CancellationTokenSource();
    const session = this.streams.begin(uri, position, () => source.cancel());
    const started = Date.now();
    Promise.resolve(next(document, position, context, source.token))
      .then(finalItems, (err: unknown) => {
        if (!source.token.isCancellationRequested) {
          this.host.log.warn(`inline completion failed: ${String(err)}`);
        }
        return null;
      })
      .then((items) => {
        const cancelledEarly = source.token.isCancellationRequested;
        source.dispose();
        this.host.log.info(
          `completion ${document.uri.fsPath}:${position.line + 1}:${position.character + 1}: ` +
            (cancelledEarly ? "cancelled" : `${items?.length ?? 0} item(s)`) +
            ` in ${Date.now() - started} ms, ${session.streamed.length} characters streamed`,
        );
        if (this.streams.finish(session, items)) {
          this.retrigger(); // show the final items (or ask again: see Streams.view)
        }
      });
  }

  private present(document: vscode.TextDocument, position: vscode.Position, items: FinalItem[]): Answer {
    if (!items.length) {
      return null;
    }
    const uri = this.host.protocolUri(document.uri);
    const prefix = document.lineAt(position.line).text.slice(0, position.character);
    if (this.tracker.offer(uri, position.line, prefix, items[0].text)) {
      this.host.notifyShown(uri);
    }
    return items.map((item) => new vscode.InlineCompletionItem(
      item.text,
      new vscode.Range(position, position.translate(0, item.replaceLength)),
      { title: "accepted", command: ACCEPTED_COMMAND, arguments: [uri, item.text.length] },
    ));
  }

  /** Whether the stream is in the active editor's document. */
  private streamHere(): boolean {
    const s = this.streams.current;
    const editor = vscode.window.activeTextEditor;
    return !!s && !!editor && this.host.protocolUri(editor.document.uri) === s.uri;
  }

  /** Move the focus to the status bar and straight back to the editor, where VS Code drops
   * the suggestion state it keeps (see retrigger). Only while this window has the focus and
   * the cursor still sits where the stream is shown, so it never pulls the focus from where
   * the user went; false when it did nothing. */
  private async refocus(): Promise<boolean> {
    const s = this.streams.current;
    const editor = vscode.window.activeTextEditor;
    if (!s || !editor || !vscode.window.state.focused || !editor.selection.isEmpty) {
      return false;
    }
    const typed = typedSince(editor.document, s.start, editor.selection.active);
    if (this.streams.view(s.uri, editor.selection.active, typed).kind !== "text") {
      return false;
    }
    this.host.log.debug("re-trigger: moving the focus out of the editor and back");
    await vscode.commands.executeCommand("workbench.action.focusStatusBar");
    await vscode.commands.executeCommand("workbench.action.focusActiveEditorGroup");
    return true;
  }

  /** Make VS Code ask the provider again, to show the grown text or the final items.
   *
   * VS Code (1.139) keeps the answer it has when a new request is "satisfied" by the one
   * that answered: same position, same document version, and the new one automatic or the
   * old one explicit (`editor.action.inlineSuggest.trigger` asks explicitly). So a trigger
   * refetches only while what is shown came from an automatic request; once an explicit
   * request answered, the suggestion is hidden first (`editor.action.inlineSuggest.hide`
   * clears VS Code's answer), then triggered; the provider answers at once from the stream,
   * so the ghost text is replaced within a frame or two. Re-triggers run one at a time.
   *
   * Now and then (about one completion in three in the end-to-end test, always right after a
   * hide) VS Code keeps the answer it fetched but shows nothing: the hide is then refused
   * (nothing is visible) and every trigger is satisfied by the answer it keeps, so the ghost
   * text would stay gone until the next keystroke. Its inline-suggestion state is also dropped
   * when the editor loses focus, so the third attempt moves the focus out and back
   * (`refocus`), and the trigger after it asks again. */
  private retrigger(): void {
    if (this.retriggering) {
      this.retriggerAgain = true;
      return;
    }
    this.retriggerTimer ??= setTimeout(() => {
      this.retriggerTimer = undefined;
      if (!this.streamHere()) {
        return;
      }
      this.retriggering = true;
      void (async () => {
        try {
          // A hide is a no-op while VS Code does not count its suggestion as visible yet
          // (then the trigger is "satisfied" and asks nothing): try again, a few times.
          for (let attempt = 1; attempt <= RETRIGGER_ATTEMPTS; attempt++) {
            const calls = this.provideCalls;
            if (attempt === REFOCUS_ATTEMPT) {
              if (!(await this.refocus())) {
                break;
              }
            } else if (this.answeredExplicitly) {
              await vscode.commands.executeCommand("editor.action.inlineSuggest.hide");
            }
            await vscode.commands.executeCommand("editor.action.inlineSuggest.trigger");
            if (this.provideCalls !== calls || !this.streamHere()) {
              break;
            }
            if (attempt === RETRIGGER_ATTEMPTS) {
              this.host.log.info(`re-trigger: VS Code did not ask again after ${attempt} tries`);
            }
            await new Promise((resolve) => setTimeout(resolve, RETRIGGER_MS * attempt));
          }
        } catch (err) {
          this.host.log.debug(`re-trigger failed: ${String(err)}`);
        } finally {
          this.retriggering = false;
          if (this.retriggerAgain) {
            this.retriggerAgain = false;
            this.retrigger();
          }
        }
      })();
    }, RETRIGGER_MS);
  }
}
