// Acceptance feedback: which suggestion is on screen, whether an answer is a new suggestion or
// the same one seen from further on, and whether an edit took part of it. Pure; the glue sends
// `autan/didShowCompletion` and `autan/didAcceptCompletion` (see server/lsp.py).
//
// VS Code's stable API has no "shown" or "partially accepted" event (those are proposed API),
// so: "shown" is an answer handed to VS Code that is not the continuation of the previous one
// (typing along a suggestion, or its text streaming in, asks again and gets the same
// suggestion); a full accept runs the item's command; a word or line accept goes through this
// extension's wrapper commands, which measure the edit.

export type AcceptKind = "full" | "word" | "line";

interface Shown {
  uri: string;
  line: number;
  prefix: string; // the line before the cursor when offered
  target: string; // prefix + the suggestion: the text the line would read once accepted
  remaining: string; // what is still to accept, from the cursor
}

export class SuggestionTracker {
  private shown: Shown | undefined;

  /** An answer handed to VS Code; true when it is a new suggestion (send didShow). */
  offer(uri: string, line: number, linePrefix: string, text: string): boolean {
    const target = linePrefix + text;
    const prev = this.shown;
    const same =
      prev !== undefined &&
      prev.uri === uri &&
      prev.line === line &&
      linePrefix.startsWith(prev.prefix) &&
      (prev.target.startsWith(target) || target.startsWith(prev.target));
    this.shown = { uri, line, prefix: same ? prev!.prefix : linePrefix, target, remaining: text };
    return !same;
  }

  /** An edit made by an accept-next-word/line command; true when it took the start of the
   * suggestion on screen (another provider's ghost text gives false). */
  partial(uri: string, inserted: string): boolean {
    const s = this.shown;
    if (!s || s.uri !== uri || !inserted || !s.remaining.startsWith(inserted)) {
      return false;
    }
    s.remaining = s.remaining.slice(inserted.length);
    return true;
  }

  /** The suggestion was accepted whole, or dismissed: the next answer is a new one. */
  clear(): void {
    this.shown = undefined;
  }
}

/** A VS Code content change, reduced to what insertion length needs. */
export interface Change {
  text: string;
  rangeLength: number;
}

/** Characters an edit added (an inline accept replaces its range with the insert text). */
export function insertedLength(changes: readonly Change[]): number {
  return changes.reduce((n, c) => n + Math.max(0, c.text.length - c.rangeLength), 0);
}

/** The text an edit inserted, for matching against the suggestion. */
export function insertedText(changes: readonly Change[]): string {
  return changes.map((c) => c.text).join("");
}

export interface AcceptParams {
  textDocument: { uri: string };
  kind: AcceptKind;
  acceptedLength: number;
}

export function acceptParams(uri: string, kind: AcceptKind, acceptedLength: number): AcceptParams {
  return { textDocument: { uri }, kind, acceptedLength };
}
