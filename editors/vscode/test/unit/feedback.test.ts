// Acceptance feedback: one "shown" per suggestion, partial accepts matched to it.
import assert from "node:assert/strict";
import { test } from "node:test";

import { SuggestionTracker, acceptParams, insertedLength, insertedText } from "../../src/feedback";

const URI = "file:///w/a.py";

test("typing along or streaming in is the same suggestion; a different one is new", () => {
  const t = new SuggestionTracker();
  assert.equal(t.offer(URI, 1, "    ", "ret"), true);
  assert.equal(t.offer(URI, 1, "    ", "return x"), false); // streamed further
  assert.equal(t.offer(URI, 1, "    re", "turn x"), false); // typed along
  assert.equal(t.offer(URI, 1, "    re", "set()"), true); // another suggestion
  assert.equal(t.offer(URI, 2, "    re", "set()"), true); // another line
  assert.equal(t.offer("file:///w/b.py", 2, "    re", "set()"), true);
});

test("partial accepts must take the start of the suggestion on screen", () => {
  const t = new SuggestionTracker();
  t.offer(URI, 1, "", "return x + 1");
  assert.equal(t.partial(URI, "return"), true);
  assert.equal(t.partial(URI, " x"), true);
  assert.equal(t.partial(URI, " y"), false); // not ours (another provider's ghost text)
  assert.equal(t.partial("file:///w/b.py", " +"), false);
  t.clear();
  assert.equal(t.partial(URI, " +"), false);
  assert.equal(t.offer(URI, 1, "return x", " + 1"), true); // after clear, a new suggestion
});

test("inserted length counts what an accept added over what it replaced", () => {
  const changes = [{ text: "foo()", rangeLength: 1 }, { text: "", rangeLength: 3 }];
  assert.equal(insertedLength(changes), 4);
  assert.equal(insertedText(changes), "foo()");
  assert.deepEqual(acceptParams(URI, "word", 3), { textDocument: { uri: URI }, kind: "word", acceptedLength: 3 });
});
