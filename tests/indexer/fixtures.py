"""Fixture repositories for the indexer's tests, built in a temporary folder.

`make_polyglot_repo` writes a small project in five languages whose files import each other,
plus everything the file walk must leave out (secrets, a binary, a 5 MB bundle, a symlink
loop, ignored files); `git_init` turns any folder into a git repository with a scripted,
deterministic history. `SEEDED_SECRETS` lists every fake credential written, so a test can
assert that none of them reaches an index, a context or a prompt.

The fake credentials are derived from hashes at import time, never written out whole in this
source, so secret scanners do not flag the repository and autan indexing itself sees none.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from git import Repo

ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits


def fake_token(seed: str, length: int, alphabet: str = ALNUM) -> str:
    """A deterministic random-looking string: same seed, same token, on every machine."""
    out: list[str] = []
    counter = 0
    while len(out) < length:
        digest = hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        out.extend(alphabet[b % len(alphabet)] for b in digest)
        counter += 1
    return "".join(out[:length])


def fake_key_lines(seed: str, lines: int = 4) -> list[str]:
    """Base64 lines of 64 characters, as in a PEM private key body."""
    raw = b"".join(hashlib.sha512(f"{seed}:{i}".encode()).digest() for i in range(lines))
    text = base64.b64encode(raw).decode()
    return [text[i:i + 64] for i in range(0, 64 * lines, 64)]


def pem_block(label: str, lines: list[str]) -> str:
    """A PEM block around `lines`: label "RSA PRIVATE KEY", "OPENSSH PRIVATE KEY", ..."""
    dashes = "-" * 5
    body = "\n".join(lines)
    return f"{dashes}BEGIN {label}{dashes}\n{body}\n{dashes}END {label}{dashes}\n"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def fake_jwt(seed: str) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps({"sub": fake_token(seed, 10, string.digits)}).encode())
    return f"{header}.{payload}.{fake_token(seed + ':sig', 43, ALNUM + '_-')}"


AWS_KEY_ID = "AK" + "IA" + fake_token("aws-id", 16, UPPER_DIGITS)
AWS_SECRET_KEY = fake_token("aws-secret", 40, ALNUM + "/+")
GITHUB_TOKEN = "ghp" + "_" + fake_token("github", 36)
OPENAI_KEY = "sk-" + "proj-" + fake_token("openai", 48, ALNUM + "_-")
PASSWORD = fake_token("password", 24, ALNUM + "!#%&*^~")
CONFIG_KEY_LINES = fake_key_lines("config-pem")
ID_RSA_KEY_LINES = fake_key_lines("id-rsa")
ENV_API_TOKEN = fake_token("env-token", 32)
ENV_DB_PASSWORD = fake_token("env-db", 18)
SLACK_WEBHOOK_PATH = "T" + fake_token("slack-t", 8, UPPER_DIGITS) + "/B" + fake_token(
    "slack-b", 8, UPPER_DIGITS) + "/" + fake_token("slack-w", 24)
STRIPE_KEY = "sk" + "_live_" + fake_token("stripe", 24)
GOOGLE_KEY = "AI" + "za" + fake_token("google", 35, ALNUM + "_-")
ANTHROPIC_KEY = "sk-" + "ant-api03-" + fake_token("anthropic", 80, ALNUM + "_-")
JWT = fake_jwt("jwt")

# Every fake credential the polyglot repo contains (private keys as their base64 lines).
SEEDED_SECRETS: list[str] = [
    AWS_KEY_ID, AWS_SECRET_KEY, GITHUB_TOKEN, OPENAI_KEY, PASSWORD, *CONFIG_KEY_LINES,
    *ID_RSA_KEY_LINES, ENV_API_TOKEN, ENV_DB_PASSWORD, SLACK_WEBHOOK_PATH, STRIPE_KEY,
    GOOGLE_KEY, ANTHROPIC_KEY, JWT,
]


def write(root: Path, rel: str, content: str | bytes) -> Path:
    """Write `content` at root/rel, creating folders; str is written as UTF-8."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    path.write_bytes(data)
    return path


JAVA_APP = "java/src/main/java/com/example/app/App.java"
JAVA_USER = "java/src/main/java/com/example/model/User.java"

# The project's own code: what the walk must keep, with the imports resolution must follow.
SOURCES: dict[str, str] = {
    "README.md": "# Polyglot fixture\n\nA small project in five languages.\n",
    "main.py": "import pkg.app\n\nif __name__ == \"__main__\":\n    print(pkg.app.main())\n",
    "pkg/__init__.py": '"""Fixture package."""\n\nfrom pkg.core import add\n\n__all__ = ["add"]\n',
    "pkg/core.py": (
        '"""Arithmetic core."""\n\n\ndef add(a: int, b: int) -> int:\n    return a + b\n\n\n'
        "class Calculator:\n    def total(self, values: list[int]) -> int:\n"
        "        result = 0\n        for value in values:\n"
        "            result = add(result, value)\n"
        "        return result\n"
    ),
    "pkg/util/__init__.py": "from .strings import slugify\n\n__all__ = [\"slugify\"]\n",
    "pkg/util/strings.py": (
        "import re\n\nfrom ..core import add\n\n\ndef slugify(text: str) -> str:\n"
        '    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")\n\n\n'
        "def padded_length(text: str, pad: int) -> int:\n    return add(len(text), pad)\n"
    ),
    "pkg/util/local_settings.py": "DEBUG = True\n",
    "pkg/app.py": (
        "from pkg.util.strings import slugify\n\n"
        "from . import core\nfrom .config import region\n\n\n"
        "def main() -> str:\n    return slugify(f\"total {core.add(1, 2)} in {region()}\")\n"
    ),
    "web/package.json": '{"name": "web", "version": "1.0.0", "type": "module"}\n',
    "web/src/api.ts": (
        'import { formatUrl } from "./helpers";\n\n'
        "export interface Request {\n  path: string;\n}\n\n"
        "export function fetchPath(req: Request): string {\n  return formatUrl(req.path);\n}\n"
    ),
    "web/src/helpers.js": (
        'import { fetchPath } from "./api";\n\nexport function formatUrl(path) {\n'
        '  return "/api/" + path;\n}\n\nexport function ping() {\n'
        '  return fetchPath({ path: "ping" });\n}\n'
    ),
    "go/go.mod": "module example.com/polyglot\n\ngo 1.22\n",
    "go/cmd/server/main.go": (
        'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/polyglot/internal/store"\n)\n\n'
        'func main() {\n\ts := store.New()\n\ts.Put("k", "v")\n\tfmt.Println(s.Get("k"))\n}\n'
    ),
    "go/internal/store/store.go": (
        "package store\n\n// Store is an in-memory map.\n"
        "type Store struct {\n\tdata map[string]string\n}"
        "\n\nfunc New() *Store {\n\treturn &Store{data: map[string]string{}}\n}\n\n"
        "func (s *Store) Put(k, v string) {\n\ts.data[k] = v\n}\n\n"
        "func (s *Store) Get(k string) string {\n\treturn s.data[k]\n}\n"
    ),
    "rust/Cargo.toml": '[package]\nname = "polyglot"\nversion = "0.1.0"\nedition = "2021"\n',
    "rust/src/main.rs": (
        "mod lexer;\nmod parser;\n\nuse crate::parser::parse;\n\n"
        'fn main() {\n    println!("{:?}", parse("1 + 2"));\n}\n'
    ),
    "rust/src/lexer.rs": (
        "#[derive(Debug, PartialEq)]\npub enum Token {\n    Num(i64),\n    Plus,\n}\n\n"
        "pub fn lex(src: &str) -> Vec<Token> {\n    src.split_whitespace()\n"
        '        .map(|w| if w == "+" { Token::Plus } else { Token::Num(w.parse().unwrap()) })\n'
        "        .collect()\n}\n"
    ),
    "rust/src/parser.rs": (
        "use crate::lexer::{lex, Token};\n\npub fn parse(src: &str) -> i64 {\n"
        "    lex(src).iter().map(|t| match t {\n        Token::Num(n) => *n,\n"
        "        Token::Plus => 0,\n    }).sum()\n}\n"
    ),
    JAVA_APP: (
        "package com.example.app;\n\nimport com.example.model.User;\n\npublic class App {\n"
        '    public static void main(String[] args) {\n        User u = new User("ada");\n'
        "        System.out.println(u.getName());\n    }\n}\n"
    ),
    JAVA_USER: (
        "package com.example.model;\n\npublic class User {\n    private final String name;\n\n"
        "    public User(String name) {\n        this.name = name;\n    }\n\n"
        "    public String getName() {\n        return name;\n    }\n}\n"
    ),
    "trace-2.txt": "not under logs/, so logs/.gitignore does not apply\n",
    "logs/audit.log": "re-included by logs/.gitignore\n",
    "logs/keep.log": "re-included by the root .gitignore\n",
}

# Ignore files: nested rules, negation, anchoring, and an ignored folder that a negation
# cannot reopen (git does not look inside an excluded folder).
IGNORE_FILES: dict[str, str] = {
    ".gitignore": "# fixture rules\n*.log\n!keep.log\n/scratch/\n!scratch/keep.py\n*.tmp\n",
    "logs/.gitignore": "!audit.log\ntrace-*.txt\n",
    "pkg/.gitignore": "/local_settings.py\n",
    ".autanignore": "docs/private/\n*.snap\n",
}

IGNORED_FILES: dict[str, str] = {
    "logs/debug.log": "ignored by *.log\n",
    "logs/trace-1.txt": "ignored by logs/.gitignore\n",
    "pkg/local_settings.py": "SECRET_MODE = 1\n",
    "scratch/keep.py": "print('the folder is excluded, so the negation cannot reopen it')\n",
    "cache.tmp": "temporary\n",
    "docs/private/plan.md": "ignored by .autanignore\n",
    "tests/__snapshots__/view.snap": "ignored by .autanignore\n",
}


def secret_files() -> dict[str, str]:
    """Files carrying the seeded secrets: two skipped whole, two indexed and redacted."""
    config_py = (
        '"""Deployment settings (fake credentials, for the redaction tests)."""\n\n'
        f'AWS_ACCESS_KEY_ID = "{AWS_KEY_ID}"\n'
        f'AWS_SECRET_ACCESS_KEY = "{AWS_SECRET_KEY}"\n'
        f'GITHUB_TOKEN = "{GITHUB_TOKEN}"\n'
        f'OPENAI_API_KEY = "{OPENAI_KEY}"\n'
        f'password = "{PASSWORD}"\n\n'
        f'SIGNING_KEY = """{pem_block("RSA PRIVATE KEY", CONFIG_KEY_LINES)}"""\n\n\n'
        'def region() -> str:\n    return "eu-west-1"\n'
    )
    config_js = (
        f'export const SLACK_WEBHOOK = "https://hooks.slack.com/services/{SLACK_WEBHOOK_PATH}";\n'
        f'export const STRIPE_KEY = "{STRIPE_KEY}";\n'
        f"export const MAPS_KEY = '{GOOGLE_KEY}';\n"
        f"export const headers = {{ Authorization: `Bearer {JWT}` }};\n"
        f'export const anthropic = {{ apiKey: "{ANTHROPIC_KEY}" }};\n'
    )
    env = (
        f"API_TOKEN={ENV_API_TOKEN}\n"
        f"DATABASE_URL=postgres://app:{ENV_DB_PASSWORD}@db:5432/app\n"
    )
    return {
        "pkg/config.py": config_py,
        "web/src/config.js": config_js,
        ".env": env,
        "deploy/id_rsa": pem_block("OPENSSH PRIVATE KEY", ID_RSA_KEY_LINES),
    }


BUNDLE_BYTES = 5 * 1024 * 1024


def junk_files() -> dict[str, str | bytes]:
    """Files the walk must skip for what they are, not for where they are."""
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64 + bytes(range(256))
    bundle = "var a=1;" * (BUNDLE_BYTES // 8)  # one 5 MB line
    generated = (
        "// Code generated by protoc-gen-go. DO NOT EDIT.\n\npackage store\n\n"
        "type Record struct{}\n"
    )
    return {
        "assets/logo.png": png,
        "tools/data.blob": b"BLOB" + b"\0\x01\x02" * 100,
        "web/static/app.bundle.js": bundle,
        "web/static/lib.min.js": "function a(){return 1}\n",
        "web/static/inline.js": "var x=[" + ",".join(["1"] * 2000) + "];\n",
        "go/internal/store/store.pb.go": generated,
        "web/package-lock.json": '{"lockfileVersion": 3}\n',
        "docs/legacy_latin1.txt": "Caf\u00e9 cr\u00e8me, na\u00efve r\u00e9sum\u00e9\n".encode(
            "latin-1"),
        "web/node_modules/left-pad/index.js": "module.exports = function leftPad() {};\n",
        "go/vendor/github.com/acme/lib/lib.go": "package lib\n",
        "rust/target/debug/build.log": "vendored folder\n",
        "pkg/__pycache__/core.cpython-311.pyc": b"\0\0cached",
    }


# Links: (link path, target as written). A loop through an ancestor, a two-link cycle, one
# out of the root, one broken, and one to a file inside the root.
LINKS: tuple[tuple[str, str], ...] = (
    ("links/self", "."),
    ("links/up", ".."),
    ("links/ping", "pong"),
    ("links/pong", "ping"),
    ("links/dangling", "missing.txt"),
    ("links/core.py", "../pkg/core.py"),
)
OUTSIDE_LINK = "links/outside"

# What discover_files must say about the polyglot repo: path -> reason.
EXPECTED_SKIPS: dict[str, str] = {
    ".env": "secret",
    "deploy/id_rsa": "secret",
    "assets/logo.png": "binary",
    "tools/data.blob": "binary",
    "web/static/app.bundle.js": "too-large",
    "web/static/lib.min.js": "minified",
    "web/static/inline.js": "minified",
    "go/internal/store/store.pb.go": "generated",
    "web/package-lock.json": "generated",
    "web/node_modules": "vendored",
    "go/vendor": "vendored",
    "rust/target": "vendored",
    "pkg/__pycache__": "vendored",
    "logs/debug.log": "ignored",
    "logs/trace-1.txt": "ignored",
    "pkg/local_settings.py": "ignored",
    "scratch": "ignored",
    "cache.tmp": "ignored",
    "docs/private": "ignored",
    "tests/__snapshots__/view.snap": "ignored",
    "links/self": "symlink-loop",
    "links/up": "symlink-loop",
    "links/ping": "symlink-loop",
    "links/pong": "symlink-loop",
    "links/dangling": "symlink-broken",
    "links/core.py": "symlink",
    OUTSIDE_LINK: "symlink-outside-root",
}

# Files discover_files must keep (besides the ignore files themselves).
EXPECTED_FILES: frozenset[str] = frozenset(
    [*SOURCES, "pkg/config.py", "web/src/config.js", "docs/legacy_latin1.txt", *IGNORE_FILES]
)


def make_polyglot_repo(root: Path) -> Path:
    """Write the polyglot project into `root` (created if missing) and return `root`.

    Not a git repository: call `git_init` for one. Symbolic links are created only where the
    platform allows; `EXPECTED_SKIPS` lists them all.
    """
    root.mkdir(parents=True, exist_ok=True)
    everything: dict[str, str | bytes] = {
        **SOURCES, **IGNORE_FILES, **IGNORED_FILES, **secret_files(), **junk_files()}
    for rel, content in everything.items():
        write(root, rel, content)
    for rel, target in (*LINKS, (OUTSIDE_LINK, os.fspath(root.resolve().parent))):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.symlink(target, root / rel)
        except OSError:  # no symlink support (Windows without privilege): skip the link
            continue
    return root


@dataclass(frozen=True)
class Commit:
    """One scripted commit: files appended to (`touch`), written whole, or deleted (None)."""

    message: str
    touch: tuple[str, ...] = ()
    files: Mapping[str, str | None] = field(default_factory=dict)
    author: str = "Ada Lovelace"
    email: str = "ada@example.com"


# Co-change history for the polyglot repo: pairs edited together, and a file added and
# removed again. The initial commit (every file at once) is not part of CO_CHANGE_COUNTS.
POLYGLOT_HISTORY: tuple[Commit, ...] = (
    Commit("core: add subtract", touch=("pkg/core.py", "pkg/util/strings.py")),
    Commit("web: retry requests", touch=("web/src/api.ts", "web/src/helpers.js")),
    Commit("core: fix overflow", touch=("pkg/core.py", "pkg/util/strings.py", "pkg/app.py")),
    Commit("store: add index", touch=("go/internal/store/store.go", "go/cmd/server/main.go")),
    Commit("web: typed errors", touch=("web/src/api.ts", "web/src/helpers.js")),
    Commit("core: docstrings", touch=("pkg/core.py", "pkg/util/strings.py")),
    Commit("rust: spans", touch=("rust/src/lexer.rs", "rust/src/parser.rs")),
    Commit("java: user email", touch=(JAVA_USER, JAVA_APP)),
    Commit("docs: readme", touch=("README.md",), author="Grace Hopper",
           email="grace@example.com"),
    Commit("add old module", files={"pkg/old.py": "def old() -> int:\n    return 1\n"}),
    Commit("remove old module", files={"pkg/old.py": None}),
)

# Times each pair (sorted) changed together in POLYGLOT_HISTORY.
CO_CHANGE_COUNTS: dict[tuple[str, str], int] = {
    ("pkg/core.py", "pkg/util/strings.py"): 3,
    ("web/src/api.ts", "web/src/helpers.js"): 2,
    ("pkg/app.py", "pkg/core.py"): 1,
    ("pkg/app.py", "pkg/util/strings.py"): 1,
    ("go/cmd/server/main.go", "go/internal/store/store.go"): 1,
    ("rust/src/lexer.rs", "rust/src/parser.rs"): 1,
    (JAVA_APP, JAVA_USER): 1,
}

_COMMENT = {".py": "# ", ".toml": "# ", ".md": "", ".txt": ""}
EPOCH = 1_700_000_000  # the initial commit's time; each scripted commit is an hour later


def _apply(root: Path, commit: Commit) -> None:
    for rel in commit.touch:
        path = root / rel
        prefix = _COMMENT.get(path.suffix, "// ")
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"{prefix}{commit.message}\n")
    for rel, content in commit.files.items():
        if content is None:
            (root / rel).unlink()
        else:
            write(root, rel, content)


def _commit(repo: Repo, message: str, when: int, author: str, email: str) -> None:
    """Stage everything (honouring .gitignore) and commit at a fixed time and identity."""
    repo.git.add(A=True)
    stamp = f"{when} +0000"
    env = {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": stamp,
           "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": email,
           "GIT_COMMITTER_DATE": stamp}
    repo.git.commit("-q", "--allow-empty", "--no-verify", "-m", message, env=env)


def git_init(root: Path, commits: Sequence[Commit] = ()) -> Repo:
    """Make `root` a git repository: an initial commit of what is there, then `commits`.

    Deterministic (fixed identities and dates, branch "main") and independent of the user's
    git configuration for anything that would change the history.
    """
    repo = Repo.init(root, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "Ada Lovelace")
        config.set_value("user", "email", "ada@example.com")
        config.set_value("commit", "gpgsign", "false")
        config.set_value("core", "autocrlf", "false")
    _commit(repo, "initial commit", EPOCH, "Ada Lovelace", "ada@example.com")
    for i, commit in enumerate(commits, start=1):
        _apply(root, commit)
        _commit(repo, commit.message, EPOCH + 3600 * i, commit.author, commit.email)
    return repo


def make_polyglot_git_repo(root: Path) -> Repo:
    """The polyglot project as a git repository with POLYGLOT_HISTORY on top."""
    make_polyglot_repo(root)
    return git_init(root, POLYGLOT_HISTORY)
