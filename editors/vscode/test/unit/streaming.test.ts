// Streaming ghost text: progress grows the answer, typing along keeps it, diverging stops it.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Streams, afterTyped, parseProgress } from "../../src/streaming";

const URI = "file:///w/a.py";
const AT = { line: 3, character: 4 };
const progress = (text: string, position = AT, uri = URI) => ({ uri, position, text });

function started(): { streams: Streams; aborted: () => number } {
  const streams = new Streams();
  let aborts = 0;
  streams.begin(URI, AT, () => aborts++);
  return { streams, aborted: () => aborts };
}

test("nothing streamed yet is pending; each progress grows the text", () => {
  const { streams } = started();
  assert.deepEqual(streams.view(URI, AT, ""), { kind: "pending" });
  assert.equal(streams.progress(progress("ret")), true);
  assert.equal(streams.progress(progress("ret")), false); // unchanged: no re-trigger
  assert.equal(streams.progress(progress("return x")), true);
  assert.deepEqual(streams.view(URI, AT, ""), { kind: "text", final: false, items: [{ text: "return x", replaceLength: 0 }] });
});

test("progress of another request or document is ignored", () => {
  const { streams } = started();
  assert.equal(streams.progress(progress("x", { line: 3, character: 5 })), false);
  assert.equal(streams.progress(progress("x", AT, "file:///w/b.py")), false);
  assert.deepEqual(streams.view(URI, AT, ""), { kind: "pending" });
  assert.deepEqual(streams.view("file:///w/b.py", AT, ""), { kind: "none" });
});

test("typing along the streamed text answers the rest of it", () => {
  const { streams, aborted } = started();
  streams.progress(progress("return x"));
  const at = { line: 3, character: 7 };
  assert.deepEqual(streams.view(URI, at, "ret"), { kind: "text", final: false, items: [{ text: "urn x", replaceLength: 0 }] });
  assert.deepEqual(streams.view(URI, { line: 3, character: 12 }, "return x"), { kind: "pending" });
  assert.deepEqual(streams.view(URI, { line: 3, character: 13 }, "return x "), { kind: "pending" }); // ahead of the stream
  assert.equal(aborted(), 0);
});

test("typing before anything streamed is divergence (ask again from there)", () => {
  const { streams } = started();
  assert.deepEqual(streams.view(URI, AT, ""), { kind: "pending" });
  assert.deepEqual(streams.view(URI, { line: 3, character: 7 }, "ret"), { kind: "diverged" });
  assert.deepEqual(streams.view(URI, { line: 4, character: 0 }, "x\n"), { kind: "diverged" });
});

test("typing that diverges, or moving before the start, is divergence", () => {
  const { streams, aborted } = started();
  streams.progress(progress("return x"));
  assert.deepEqual(streams.view(URI, { line: 3, character: 7 }, "rex"), { kind: "diverged" });
  assert.deepEqual(streams.view(URI, { line: 3, character: 2 }, undefined), { kind: "diverged" });
  assert.deepEqual(streams.view(URI, { line: 2, character: 9 }, ""), { kind: "diverged" });
  streams.end();
  assert.equal(aborted(), 1); // the generation is cancelled
  assert.deepEqual(streams.view(URI, AT, ""), { kind: "none" });
});

test("the final items replace the streamed text, seen from what was typed", () => {
  const { streams, aborted } = started();
  const session = streams.current!;
  streams.progress(progress("return x +"));
  assert.equal(streams.finish(session, [{ text: "return x + 1", replaceLength: 1 }, { text: "raise", replaceLength: 0 }]), true);
  assert.deepEqual(streams.view(URI, AT, ""), { kind: "text", final: true,
    items: [{ text: "return x + 1", replaceLength: 1 }, { text: "raise", replaceLength: 0 }] });
  assert.deepEqual(streams.view(URI, { line: 3, character: 7 }, "ret"), { kind: "text", final: true,
    items: [{ text: "urn x + 1", replaceLength: 1 }] });
  assert.equal(streams.progress(progress("return x + 1 late")), false); // after the answer
  assert.deepEqual(streams.view(URI, { line: 3, character: 16 }, "return x + 1"), { kind: "none" }); // all accepted
  streams.end();
  assert.equal(aborted(), 0); // a finished request is not cancelled
});

test("an empty answer is empty where asked, and asks again after typing", () => {
  const { streams } = started();
  streams.finish(streams.current!, null);
  assert.deepEqual(streams.view(URI, AT, ""), { kind: "empty" });
  assert.deepEqual(streams.view(URI, { line: 3, character: 5 }, "r"), { kind: "none" });
});

test("a replaced stream is aborted and its late answer ignored", async () => {
  const { streams, aborted } = started();
  const old = streams.current!;
  const woken = streams.nextUpdate();
  streams.begin(URI, { line: 9, character: 0 }, () => undefined);
  await woken; // waiters of the old stream wake up and look again
  assert.equal(aborted(), 1);
  assert.equal(streams.finish(old, [{ text: "stale", replaceLength: 0 }]), false);
  assert.deepEqual(streams.view(URI, { line: 9, character: 0 }, ""), { kind: "pending" });
});

test("progress params are validated", () => {
  assert.deepEqual(parseProgress({ textDocument: { uri: URI }, position: AT, text: "x" }), progress("x"));
  assert.equal(parseProgress({ textDocument: { uri: URI }, position: { line: 1 }, text: "x" }), undefined);
  assert.equal(parseProgress(null), undefined);
});

test("afterTyped keeps only items that go on with the typed text", () => {
  assert.deepEqual(afterTyped([{ text: "foo", replaceLength: 0 }, { text: "bar", replaceLength: 2 }], "b"),
    [{ text: "ar", replaceLength: 2 }]);
});
