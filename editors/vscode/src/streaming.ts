// Ghost text that grows while the model decodes.
//
// VS Code's inline-completion API takes one answer per request. The server streams the text
// of the completion it is generating (`autan/inlineCompletionProgress`, with the request's uri
// and position); on each one the extension re-triggers the inline suggestion, and the
// provider answers from here: the text streamed so far, then the final items (VS Code keeps
// an explicit answer it has, so a re-trigger hides the suggestion first: inline.ts). The server
// request itself runs detached from VS Code's cancellation (each re-trigger cancels VS Code's
// previous provider call, and must not cancel the generation); it is cancelled only when the
// user's typing leaves the suggestion, or a new request replaces it.
//
// Pure: positions are plain {line, character}, and the caller passes the text typed since the
// request started (document text from the start position to the cursor).

export interface Pos {
  line: number;
  character: number;
}

export interface FinalItem {
  text: string; // the insert text, from the request's position
  replaceLength: number; // characters after the position that it replaces
}

/** What to answer VS Code for a document and position. */
export type View =
  | { kind: "none" } // no stream here: ask the server
  | { kind: "diverged" } // typing left the stream: cancel it, then ask the server
  | { kind: "pending" } // nothing streamed yet: wait for the next update
  | { kind: "empty" } // the server answered nothing for this very position
  | { kind: "text"; items: FinalItem[]; final: boolean };

export class Session {
  streamed = "";
  /** undefined: the server has not answered; null: it answered nothing. */
  final: FinalItem[] | null | undefined = undefined;

  constructor(
    readonly uri: string,
    readonly start: Pos,
    readonly abort: () => void,
  ) {}

  get done(): boolean {
    return this.final !== undefined;
  }
}

export function samePos(a: Pos, b: Pos): boolean {
  return a.line === b.line && a.character === b.character;
}

export function before(a: Pos, b: Pos): boolean {
  return a.line < b.line || (a.line === b.line && a.character < b.character);
}

export interface Progress {
  uri: string;
  position: Pos;
  text: string;
}

/** An `autan/inlineCompletionProgress` notification's params, or undefined. */
export function parseProgress(params: unknown): Progress | undefined {
  const p = params as { textDocument?: { uri?: unknown }; position?: Partial<Pos>; text?: unknown };
  const uri = p?.textDocument?.uri;
  const line = p?.position?.line;
  const character = p?.position?.character;
  if (typeof uri !== "string" || typeof p.text !== "string" ||
      typeof line !== "number" || typeof character !== "number") {
    return undefined;
  }
  return { uri, position: { line, character }, text: p.text };
}

/** `items` seen from `typed` characters further on: only those that go on with what was
 * typed, cut after it. */
export function afterTyped(items: FinalItem[], typed: string): FinalItem[] {
  return items
    .filter((item) => item.text.startsWith(typed))
    .map((item) => ({ text: item.text.slice(typed.length), replaceLength: item.replaceLength }));
}

export class Streams {
  private session: Session | undefined;
  private waiters: Array<() => void> = [];

  get current(): Session | undefined {
    return this.session;
  }

  /** A new stream for a request the caller is about to send; any older one is aborted. */
  begin(uri: string, start: Pos, abort: () => void): Session {
    this.end();
    this.session = new Session(uri, start, abort);
    return this.session;
  }

  /** Take a progress notification; true when it grew the current stream (re-trigger). */
  progress(p: Progress): boolean {
    const s = this.session;
    if (!s || s.done || s.uri !== p.uri || !samePos(s.start, p.position)) {
      return false; // a stale request's progress, or one from another client's request
    }
    if (p.text === s.streamed) {
      return false;
    }
    s.streamed = p.text;
    this.wake();
    return true;
  }

  /** The server answered `session`'s request; true when it is still the current stream. */
  finish(session: Session, items: FinalItem[] | null): boolean {
    if (session.done) {
      return false;
    }
    session.final = items && items.length ? items : null;
    this.wake();
    return session === this.session;
  }

  /** Forget the stream, cancelling its request if it is still running. */
  end(): void {
    const s = this.session;
    this.session = undefined;
    if (s && !s.done) {
      s.abort();
    }
    this.wake();
  }

  /** What to answer at `pos` of `uri`, `typed` being the document text from the stream's
   * start to `pos` (undefined when `pos` is before the start). */
  view(uri: string, pos: Pos, typed: string | undefined): View {
    const s = this.session;
    if (!s || s.uri !== uri) {
      return { kind: "none" };
    }
    if (typed === undefined || before(pos, s.start)) {
      return { kind: "diverged" };
    }
    if (s.final === null) {
      // The server answers nothing for a document that changed under the request: ask again
      // (its type-ahead cache answers fast) unless nothing was typed.
      return typed === "" && samePos(pos, s.start) ? { kind: "empty" } : { kind: "none" };
    }
    if (s.final !== undefined) {
      const items = afterTyped(s.final, typed).filter((item) => item.text !== "");
      // Everything typed or accepted: the next suggestion is a new request.
      return items.length ? { kind: "text", items, final: true } : { kind: "none" };
    }
    if (s.streamed === "" && typed !== "") {
      // Typed on before the model wrote anything (it was still starting or reading the
      // prompt): nothing says the typing goes along it, and the server answers nothing for
      // a document that changed under the request. Ask again from here.
      return { kind: "diverged" };
    }
    if (!s.streamed.startsWith(typed)) {
      return s.streamed.length >= typed.length || !typed.startsWith(s.streamed)
        ? { kind: "diverged" }
        : { kind: "pending" }; // typed ahead of the stream, along what it may still write
    }
    const rest = s.streamed.slice(typed.length);
    return rest ? { kind: "text", items: [{ text: rest, replaceLength: 0 }], final: false } : { kind: "pending" };
  }

  /** Resolves on the next progress, answer or end. */
  nextUpdate(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((resolve) => resolve());
  }
}
