// Finding the server: setting, workspace .venv, PATH.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Lookup, findServer, missingMessage } from "../../src/serverPath";

function lookup(files: string[], over: Partial<Lookup> = {}): Lookup {
  return { setting: undefined, folders: ["/w1", "/w2"], envPath: "/usr/bin:/opt/bin", home: "/home/u",
    platform: "linux", isExecutable: (f) => files.includes(f), ...over };
}

test("the setting wins, with ~ and workspace-relative paths", () => {
  assert.deepEqual(findServer(lookup(["/home/u/bin/autan", "/w1/.venv/bin/autan"], { setting: "~/bin/autan" })),
    { command: "/home/u/bin/autan", source: "setting" });
  assert.deepEqual(findServer(lookup(["/w1/tools/autan"], { setting: "tools/autan" })),
    { command: "/w1/tools/autan", source: "setting" });
  assert.deepEqual(findServer(lookup(["/opt/bin/autan-dev"], { setting: "autan-dev" })),
    { command: "/opt/bin/autan-dev", source: "setting" });
});

test("a setting naming a missing file is reported, not replaced by another server", () => {
  const found = findServer(lookup(["/usr/bin/autan"], { setting: "/nope/autan" }));
  assert.deepEqual(found, { tried: ["/nope/autan (autan.serverPath)"] });
});

test("then a workspace .venv, in folder order, then PATH", () => {
  assert.deepEqual(findServer(lookup(["/w2/.venv/bin/autan", "/usr/bin/autan"])),
    { command: "/w2/.venv/bin/autan", source: "workspace" });
  assert.deepEqual(findServer(lookup(["/opt/bin/autan"])), { command: "/opt/bin/autan", source: "PATH" });
});

test("nothing found lists every place looked at", () => {
  const found = findServer(lookup([]));
  assert.ok("tried" in found);
  assert.deepEqual(found.tried, ["/w1/.venv/bin/autan", "/w2/.venv/bin/autan", "autan on PATH"]);
  assert.match(missingMessage(found), /autan\.serverPath/);
});
