// The settings filter: what reaches the server, and package.json agreeing with it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

import { CLIENT_ONLY_KEYS, SERVER_KEYS, changeEffect, clientSettings, serverSettings } from "../../src/settings";

const section = {
  enable: true, triggerMode: "manual", exclude: ["**/*.md"], serverPath: "/opt/autan",
  streamProgress: true, languages: null,
  model: { path: null, endpoint: null, endpointKind: "openai", device: "auto" },
  completion: { maxTokens: 32, debounceMs: 50 },
  // VS Code's WorkspaceConfiguration carries methods beside the values.
  get: () => undefined, has: () => false, inspect: () => undefined, update: async () => undefined,
};

test("client-only keys and methods never reach the server", () => {
  assert.deepEqual(serverSettings(section), {
    streamProgress: true, languages: null,
    model: { path: null, endpoint: null, endpointKind: "openai", device: "auto" },
    completion: { maxTokens: 32, debounceMs: 50 },
  });
});

test("keys the server does not know are dropped, not sent", () => {
  assert.deepEqual(serverSettings({ futureKey: 1, completion: { maxTokens: 8 } }), { completion: { maxTokens: 8 } });
  assert.deepEqual(serverSettings(null), {});
  assert.deepEqual(serverSettings([1, 2]), {});
});

test("every contributed setting is either the server's or the client's", () => {
  const manifest = JSON.parse(readFileSync(path.join(__dirname, "../../package.json"), "utf8"));
  const keys = Object.keys(manifest.contributes.configuration.properties).map((k) => k.replace(/^autan\./, ""));
  const top = new Set(keys.map((k) => k.split(".")[0]));
  assert.deepEqual([...top].sort(), [...SERVER_KEYS, ...CLIENT_ONLY_KEYS].sort());
  assert.equal(manifest.contributes.configuration.properties["autan.streamProgress"].default, true);
});

test("client settings fall back to their defaults on bad values", () => {
  const values: Record<string, unknown> = { enable: "yes", triggerMode: "sometimes", exclude: ["a", 3], serverPath: "  " };
  assert.deepEqual(clientSettings((k) => values[k]), {
    enable: true, triggerMode: "automatic", exclude: ["a"], serverPath: undefined,
    streamProgress: true, languages: null,
  });
  assert.equal(clientSettings((k) => ({ enable: false })[k as "enable"]).enable, false);
});

test("a changed setting restarts, notifies the server, or only refreshes the client", () => {
  const affects = (...changed: string[]) => (s: string) => changed.some((c) => c === s || c.startsWith(`${s}.`));
  assert.deepEqual(changeEffect(affects("autan.serverPath", "autan")), { restart: true, notifyServer: false, refreshClient: true });
  assert.deepEqual(changeEffect(affects("autan.completion.maxTokens")), { restart: false, notifyServer: true, refreshClient: false });
  assert.deepEqual(changeEffect(affects("autan.exclude")), { restart: false, notifyServer: false, refreshClient: true });
});
