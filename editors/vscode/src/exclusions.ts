// Which documents are never completed, and why. Pure: the glob and git answers come in as
// booleans (the glue asks VS Code and the git extension), so the unit tests can drive it.
//
// Secret files mirror the server's own list (indexer/secrets.py SECRET_FILE_PATTERNS,
// _WORD_PATTERNS, CODE_EXTENSIONS; tests/lsp/test_vscode_contract.py checks they agree): the
// server refuses them too, but the client does not even send their text (didOpen/didChange are
// withheld) or ask for a completion in them.

// Matched case-insensitively against the last path components (a pattern with one "/" against
// the last two), with fnmatch's "*".
export const SECRET_FILE_PATTERNS: readonly string[] = [
  ".env", ".env.*", "*.env", ".envrc",
  "*.pem", "*.key", "*.p12", "*.pfx", "*.p8", "*.ppk", "*.jks", "*.keystore", "*.keytab",
  "*.ovpn", "*.kdbx", "*.gpg",
  "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*",
  ".netrc", "_netrc", ".pgpass", ".npmrc", ".pypirc", ".git-credentials", ".htpasswd",
  ".dockercfg", ".docker/config.json", ".kube/config", ".ssh/*",
  "credentials*",
  "*-credentials.json", "*_credentials.json", "service-account*.json",
  "service_account*.json", "client_secret*.json",
  "secrets.*", "secret.*",
  "*.tfvars", "*.tfvars.json", "*.tfstate", "*.tfstate.backup",
];

// Word patterns name ordinary source files too (secrets.py); those are code, not secrets.
export const WORD_PATTERNS: readonly string[] = ["credentials*", "secrets.*", "secret.*"];
export const CODE_EXTENSIONS: readonly string[] = [
  ".py", ".pyi", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".go", ".rs", ".java",
  ".kt", ".kts", ".scala", ".rb", ".php", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs",
  ".swift", ".m", ".lua", ".dart", ".ex", ".exs", ".clj", ".hs", ".ml", ".r", ".jl",
];

function fnmatch(name: string, pattern: string): boolean {
  const body = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${body.join(".*")}$`, "s").test(name);
}

/** True for a file that is a credential as a whole (same answer as `is_secret_file`). */
export function isSecretPath(filePath: string): boolean {
  const parts = filePath.replace(/\\/g, "/").toLowerCase().split("/");
  const name = parts[parts.length - 1];
  const code = CODE_EXTENSIONS.some((ext) => name.endsWith(ext));
  return SECRET_FILE_PATTERNS.some((pattern) => {
    if (code && WORD_PATTERNS.includes(pattern)) {
      return false;
    }
    const depth = pattern.split("/").length;
    return parts.length >= depth && fnmatch(parts.slice(-depth).join("/"), pattern);
  });
}

export type Refusal =
  | "disabled" // autan.enable is off
  | "language" // not in autan.languages
  | "secret"
  | "excluded" // matches an autan.exclude glob
  | "gitignored"
  | "manual"; // triggerMode manual and the request was not asked for

export interface DocumentFacts {
  enabled: boolean;
  languageId: string;
  languages: readonly string[] | null;
  path: string | undefined; // undefined for documents that are not files (untitled)
  excludedByGlob: boolean;
  gitIgnored: boolean;
}

/** Why a document gets no suggestions at all, or undefined when it may get them. */
export function documentRefusal(doc: DocumentFacts): Refusal | undefined {
  if (!doc.enabled) {
    return "disabled";
  }
  if (doc.languages !== null && !doc.languages.includes(doc.languageId)) {
    return "language";
  }
  if (doc.path !== undefined && isSecretPath(doc.path)) {
    return "secret";
  }
  if (doc.excludedByGlob) {
    return "excluded";
  }
  return doc.gitIgnored ? "gitignored" : undefined;
}

/** Why one request gets no suggestion: the document's refusal, or manual trigger mode. */
export function requestRefusal(
  doc: DocumentFacts,
  manualMode: boolean,
  invoked: boolean,
): Refusal | undefined {
  return documentRefusal(doc) ?? (manualMode && !invoked ? "manual" : undefined);
}

export const REFUSAL_TEXT: Record<Refusal, string> = {
  disabled: "completions are switched off (autan.enable)",
  language: "this language is not in autan.languages",
  secret: "secret files (.env, keys, credentials) are never completed",
  excluded: "this file matches autan.exclude",
  gitignored: "git ignores this file",
  manual: "manual trigger mode: press Alt+\\ to ask",
};
