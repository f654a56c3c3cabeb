// Which documents are never completed.
import assert from "node:assert/strict";
import { test } from "node:test";

import { DocumentFacts, documentRefusal, isSecretPath, requestRefusal } from "../../src/exclusions";

test("secret files are recognised as the server recognises them", () => {
  for (const p of ["/w/.env", "/w/.env.local", "/w/prod.env", "/w/certs/server.PEM", "/w/tls.key",
    "/home/u/.ssh/id_rsa", "/home/u/.ssh/config", "/w/.kube/config", "/w/credentials.json",
    "C:\\w\\secrets.yaml", "/w/terraform.tfvars"]) {
    assert.equal(isSecretPath(p), true, p);
  }
  for (const p of ["/w/main.py", "/w/secrets.py", "/w/credentials_provider.ts", "/w/environment.ts",
    "/w/keyboard.rs", "/w/config.json", "/w/kube/config"]) {
    assert.equal(isSecretPath(p), false, p);
  }
});

const doc: DocumentFacts = { enabled: true, languageId: "python", languages: null, path: "/w/a.py",
  excludedByGlob: false, gitIgnored: false };

test("refusals, in order of precedence", () => {
  assert.equal(documentRefusal(doc), undefined);
  assert.equal(documentRefusal({ ...doc, enabled: false, path: "/w/.env" }), "disabled");
  assert.equal(documentRefusal({ ...doc, languages: ["rust"] }), "language");
  assert.equal(documentRefusal({ ...doc, languages: ["python"] }), undefined);
  assert.equal(documentRefusal({ ...doc, path: "/w/.env", excludedByGlob: true }), "secret");
  assert.equal(documentRefusal({ ...doc, excludedByGlob: true }), "excluded");
  assert.equal(documentRefusal({ ...doc, gitIgnored: true }), "gitignored");
  assert.equal(documentRefusal({ ...doc, path: undefined }), undefined); // untitled buffers
});

test("manual mode answers only asked-for requests", () => {
  assert.equal(requestRefusal(doc, true, false), "manual");
  assert.equal(requestRefusal(doc, true, true), undefined);
  assert.equal(requestRefusal(doc, false, false), undefined);
  assert.equal(requestRefusal({ ...doc, gitIgnored: true }, true, true), "gitignored");
});
