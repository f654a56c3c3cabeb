// The status bar mapping: server notifications to text, tooltip and summaries.
import assert from "node:assert/strict";
import { test } from "node:test";

import { itemView, parseStatus, statsSummary, timingsLine, tooltipMarkdown } from "../../src/status";

test("autan/status params are validated", () => {
  assert.deepEqual(parseStatus({ state: "indexing", message: "/w", percentage: 42.4 }), { state: "indexing", message: "/w", percentage: 42 });
  assert.deepEqual(parseStatus({ state: "ready" }), { state: "ready", message: "" });
  assert.equal(parseStatus({ state: "disabled" }), undefined); // a client state, not the server's
  assert.equal(parseStatus(null), undefined);
  assert.equal(parseStatus({ state: "indexing", percentage: 140 })?.percentage, 100);
});

test("each state has its own text", () => {
  const texts = (["starting", "indexing", "ready", "generating", "error", "stopped", "disabled"] as const)
    .map((state) => itemView({ state, message: "m" }).text);
  assert.equal(itemView({ state: "indexing", message: "", percentage: 42 }).text, "$(sync~spin) autan 42%");
  assert.equal(new Set(texts).size, texts.length - 1, texts.join()); // starting and generating share a spinner
  assert.equal(itemView({ state: "error", message: "boom" }).alarm, true);
  assert.match(itemView({ state: "error", message: "boom" }).label, /boom/);
});

test("ready over a refused file says why", () => {
  const view = itemView({ state: "ready", message: "" }, "git ignores this file");
  assert.equal(view.text, "$(circle-slash) autan");
  assert.match(view.label, /git ignores/);
});

test("the last request's timings, in order, with token counts", () => {
  const line = timingsLine({ prompt_tokens: 900, cached_tokens: 850, generated_tokens: 12,
    timings_ms: { decode: 80.25, total: 212.4, context: 8.14 } });
  assert.equal(line, "total 212 ms · context 8.1 ms · decode 80.3 ms · 900 prompt tokens (850 cached), 12 generated");
  assert.match(timingsLine({ from_cache: true, timings_ms: { total: 0.4 } }) ?? "", /type-ahead cache/);
  assert.equal(timingsLine(undefined), undefined);
});

test("streamed text is fenced safely and trimmed to its tail", () => {
  const md = tooltipMarkdown(itemView({ state: "generating", message: "" }), "total 5 ms", "a```b");
  assert.match(md, /````\na```b\n````/);
  const long = tooltipMarkdown(itemView({ state: "generating", message: "" }), undefined, "x".repeat(1000) + "END");
  assert.ok(long.includes("…") && long.includes("END") && long.length < 700);
});

test("the stats summary reports the acceptance rate", () => {
  const s = statsSummary({ requests: 10, answered: 8, cache_hits: 3,
    acceptance: { shown: 8, accepted: 2, partially_accepted: 1, accepted_chars: 40, rate: 0.25 } });
  assert.match(s, /10 requests, 8 answered, 3 from cache; 8 shown, 2 accepted \(25%\), 1 partly, 40 characters/);
});
