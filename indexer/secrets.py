"""Secrets never leave the machine's files: not into an index, a prompt, a log or a cache.

Two layers, because the two kinds of file need different treatment:

- `is_secret_file`: files whose whole point is a credential (`.env`, `id_rsa`, `*.pem`, ...)
  are never read; the file walk skips them with reason "secret".
- `redact_secrets`: every other file is indexed for its code, but each secret-looking span is
  replaced by `PLACEHOLDER` plus the span's own line breaks, so line numbers stay valid for
  definitions, imports and cursor positions computed on the original text.

False-positive policy: redacting too much costs a few prompt tokens; redacting too little sends
a credential to a model and into snapshots. So known token formats are always redacted, and
the generic rule (a random-looking literal assigned to a secret-sounding name) leans towards
redacting. What is deliberately left alone: literals that are not assigned to a secret name
(hex colours, git SHAs, UUIDs as test ids), calls and variables (`password = input()`,
`token = get_token()`), templates (`"${TOKEN}"`, `"{password}"`), identifier-like values
(`"OPENAI_API_KEY"`, `"x-auth-token-header"`), and dictionary-word passphrases without digits.
A UUID assigned to a secret name (`api_key = "123e4567-..."`) is redacted: many services use
UUID keys. The rules are in `_TOKEN_PATTERNS`, `_private_key_spans`, `_aws_secret_spans`,
`_url_password_spans` and `_assigned_secret_spans`; tests/indexer/test_secrets.py has one
case per rule and the false positives we refuse.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

PLACEHOLDER = "«redacted»"

# Matched case-insensitively against the last path components (a pattern with one '/' against
# the last two). Kept in one place so the list the docs show is the list the code uses.
SECRET_FILE_PATTERNS: tuple[str, ...] = (
    ".env", ".env.*", "*.env", ".envrc",  # dotenv and direnv files, templates included
    "*.pem", "*.key", "*.p12", "*.pfx", "*.p8", "*.ppk", "*.jks", "*.keystore", "*.keytab",
    "*.ovpn", "*.kdbx", "*.gpg",
    "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*",  # ssh keys (and their .pub: harmless)
    ".netrc", "_netrc", ".pgpass", ".npmrc", ".pypirc", ".git-credentials", ".htpasswd",
    ".dockercfg", ".docker/config.json", ".kube/config", ".ssh/*",
    "credentials*",  # ~/.aws/credentials, credentials.json, ...
    "*-credentials.json", "*_credentials.json", "service-account*.json",
    "service_account*.json", "client_secret*.json",
    "secrets.*", "secret.*",
    "*.tfvars", "*.tfvars.json", "*.tfstate", "*.tfstate.backup",
)

# Word-based patterns name ordinary source files too (credentials_provider.py, secrets.py in
# the standard library and in autan itself). Those are code: they are indexed and redacted,
# and only non-code files with these names are skipped whole.
_WORD_PATTERNS = frozenset({"credentials*", "secrets.*", "secret.*"})
CODE_EXTENSIONS = frozenset({
    ".py", ".pyi", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".go", ".rs", ".java",
    ".kt", ".kts", ".scala", ".rb", ".php", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs",
    ".swift", ".m", ".lua", ".dart", ".ex", ".exs", ".clj", ".hs", ".ml", ".r", ".jl",
})


@dataclass(frozen=True)
class SecretSpan:
    """Where a secret was, in the original text. Never holds the secret itself."""

    start: int  # character offset, inclusive
    end: int  # character offset, exclusive
    kind: str  # "private-key", "github-token", "assigned-secret", ...
    line: int  # 0-based line of `start`


def is_secret_file(path: str) -> bool:
    """True for a file that is a credential as a whole and must never be read."""
    parts = path.replace("\\", "/").lower().split("/")
    name = parts[-1]
    code = any(name.endswith(ext) for ext in CODE_EXTENSIONS)
    for pattern in SECRET_FILE_PATTERNS:
        if code and pattern in _WORD_PATTERNS:
            continue
        depth = pattern.count("/") + 1
        if len(parts) >= depth and fnmatch.fnmatchcase("/".join(parts[-depth:]), pattern):
            return True
    return False


def contains_secret(text: str) -> bool:
    """True when `redact_secrets` would change `text`."""
    return bool(find_secrets(text))


def redact_secrets(text: str) -> tuple[str, list[SecretSpan]]:
    """Replace each secret span by PLACEHOLDER and the span's own line breaks.

    Keeping the line breaks keeps every line number valid; columns after a redaction on the
    same line shift, which nothing in the indexer relies on.
    """
    spans = find_secrets(text)
    pieces: list[str] = []
    last = 0
    for span in spans:
        pieces.append(text[last:span.start])
        pieces.append(PLACEHOLDER + "".join(_LINE_BREAK.findall(text, span.start, span.end)))
        last = span.end
    pieces.append(text[last:])
    return "".join(pieces), spans


def find_secrets(text: str) -> list[SecretSpan]:
    """All secret spans of `text`, sorted, overlaps merged."""
    raw = [
        *_token_spans(text),
        *_private_key_spans(text),
        *_url_password_spans(text),
        *_assigned_secret_spans(text),
    ]
    raw.extend(_aws_secret_spans(text, [s for s in raw if s[2] == "aws-access-key-id"]))
    merged: list[tuple[int, int, str]] = []
    # Sorted by start, the longest first, a known format before the generic rule's name.
    for start, end, kind in sorted(raw, key=lambda s: (s[0], -s[1], s[2] == _GENERIC)):
        if text.startswith(PLACEHOLDER, start) and end - start == len(PLACEHOLDER):
            continue  # already redacted: redacting is idempotent
        if merged and start < merged[-1][1]:
            prev = merged[-1]
            merged[-1] = (prev[0], max(prev[1], end), prev[2])
        else:
            merged.append((start, end, kind))
    spans: list[SecretSpan] = []
    line = counted = 0
    for start, end, kind in merged:  # count line breaks once, not from 0 for every span
        line += text.count("\n", counted, start)
        counted = start
        spans.append(SecretSpan(start, end, kind, line))
    return spans


_Span = tuple[int, int, str]
_GENERIC = "assigned-secret"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _mixed(token: str) -> bool:
    """A random token of 20+ characters has digits, upper and lower case; words rarely do."""
    return (any(c.isdigit() for c in token) and any(c.isupper() for c in token)
            and any(c.islower() for c in token))


def _mixed_case(token: str) -> bool:
    return any(c.isupper() for c in token) and any(c.islower() for c in token)


@dataclass(frozen=True)
class _Pattern:
    kind: str
    needles: tuple[str, ...]  # literals every match contains: the regex runs only if one is there
    regex: re.Pattern[str]
    check: Callable[[str], bool] | None = None  # a further test on the matched text


_AWS_PREFIXES = ("AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA",
                 "AROA", "APKA", "ASCA")
_TOKEN_PATTERNS: tuple[_Pattern, ...] = (
    _Pattern("aws-access-key-id", _AWS_PREFIXES, re.compile(
        rf"\b(?:{'|'.join(_AWS_PREFIXES)})[A-Z0-9]{{16}}\b")),
    _Pattern("github-token", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
             re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,255}\b")),
    _Pattern("github-token", ("github_pat_",), re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,255}")),
    _Pattern("gitlab-token", ("glpat-",), re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    _Pattern("slack-token", ("xox",), re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}")),
    _Pattern("slack-token", ("xapp-",), re.compile(r"\bxapp-\d-[A-Za-z0-9-]{10,}")),
    _Pattern("slack-webhook", ("hooks.slack.com",), re.compile(
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{8,}")),
    _Pattern("anthropic-key", ("sk-ant-",), re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    _Pattern("openai-key", ("sk-",), re.compile(
        r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"), _mixed),
    _Pattern("google-api-key", ("AIza",), re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    _Pattern("stripe-key", ("_live_", "_test_"),
             re.compile(r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}")),
    _Pattern("stripe-key", ("whsec_",), re.compile(r"\bwhsec_[0-9A-Za-z]{24,}")),
    _Pattern("npm-token", ("npm_",), re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    _Pattern("pypi-token", ("pypi-AgE",), re.compile(r"\bpypi-AgE[A-Za-z0-9_-]{50,}")),
    _Pattern("huggingface-token", ("hf_",), re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"), _mixed_case),
    _Pattern("jwt", ("eyJ",), re.compile(
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
)


def _token_spans(text: str) -> Iterator[_Span]:
    """Known token formats: a prefix plus a body, redacted wherever they appear."""
    for pattern in _TOKEN_PATTERNS:
        if not any(needle in text for needle in pattern.needles):
            continue
        for match in pattern.regex.finditer(text):
            if pattern.check is None or pattern.check(match.group()):
                yield match.start(), match.end(), pattern.kind


_PEM_BEGIN = re.compile(r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
# What may lie between the markers: base64 lines, "Proc-Type: 4,ENCRYPTED" headers, and the
# quotes, pluses and "\n" escapes of a key pasted into source code as string literals.
_PEM_BODY = re.compile(r"[A-Za-z0-9+/=\s\\\"',:.-]*")
_PEM_LINES = re.compile(r"(?:[ \t]*(?:\r\n|\r|\n|\\n)[ \t]*[A-Za-z0-9+/=]{16,})*")
_PEM_MAX_BODY = 64 * 1024


def _private_key_spans(text: str) -> Iterator[_Span]:
    """BEGIN ... PRIVATE KEY blocks, through END, or through the base64 lines if truncated.

    The body must look like key material (40+ base64 characters), so code that merely names
    the markers (a PEM parser's constants) is left alone. Each END is searched for once and
    no body spans another BEGIN, so the scan stays linear however many markers there are.
    """
    done = 0
    end = _PEM_END.search(text)
    for begin in _PEM_BEGIN.finditer(text):
        if begin.start() < done:
            continue
        if end is not None and end.start() < begin.end():
            end = _PEM_END.search(text, begin.end())  # None from here on: no END remains
        stop = _PEM_LINES.match(text, begin.end()).end()
        if (end and end.start() - begin.end() <= _PEM_MAX_BODY
                and text.find("-----BEGIN", begin.end(), end.start()) < 0
                and _PEM_BODY.fullmatch(text, begin.end(), end.start())):
            stop = end.end()
        if sum(c.isalnum() or c in "+/" for c in text[begin.end():stop]) >= 40:
            done = stop
            yield begin.start(), stop, "private-key"


_B64_40 = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_AWS_WINDOW = 300


def _aws_secret_spans(text: str, key_ids: list[_Span]) -> Iterator[_Span]:
    """A 40-character secret access key near an access key id, whatever it is assigned to."""
    for start, end, _ in key_ids:
        lo, hi = max(0, start - _AWS_WINDOW), min(len(text), end + _AWS_WINDOW)
        for match in _B64_40.finditer(text, lo, hi):
            if _mixed(match.group()):
                yield match.start(), match.end(), "aws-secret-key"


_URL_PASSWORD = re.compile(
    r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/@'\"`]{0,200}:(?P<pw>[^\s:/@'\"`]{1,200})@")


_URL_PLACEHOLDER = re.compile(
    r"(?i)(?:my|your|the)?[-_]?(?:pass(?:word|wd)?|pwd|secret|token|key)|x+|\*+|changeme")


def _url_password_spans(text: str) -> Iterator[_Span]:
    """scheme://user:password@host: the password only, unless it is a template."""
    for match in _URL_PASSWORD.finditer(text):
        password = match.group("pw")
        if not _is_template(password) and not _URL_PLACEHOLDER.fullmatch(password):
            yield match.start("pw"), match.end("pw"), "url-password"


_MAX_NAME = 80
_MAX_ASSIGNMENT = 800
_NAME_BACK = re.compile(r"[\w.-]{0,80}\Z")
_NAME_FWD = re.compile(r"[\w.-]{0,80}")
# What follows a name: an assignment operator of any common syntax, then a literal or value:
#   name = "v"   name: "v"   "name": "v"   name := "v"   'name' => 'v'   NAME=v   name: v
#   password: str = "v"   var token string = "v"   Authorization: Bearer v
_AFTER_NAME = re.compile(
    r"""["']?
        (?:[ \t]*:[ \t]*[&'\w.\[\]<>,| ]{1,40}?(?=[ \t]*=)
           |[ \t]+[A-Za-z_][\w.\[\]*]{0,30}(?=[ \t]*=))?
        [ \t]*(?:=>|:=|==|=|:)[ \t]*
        (?:(?:Bearer|Basic|Token|token)[ \t]+)?
        (?:"(?P<dq>[^"\n]{1,500})"|'(?P<sq>[^'\n]{1,500})'|`(?P<bq>[^`\n]{1,500})`
           |(?P<bare>[^\s"'`,;()\[\]{}<>&|]{1,500}))""",
    re.VERBOSE,
)
# A secret word, the rest of its name, and the start of an assignment: where to look closer.
_CANDIDATE = re.compile(
    r"(?i)(?:token|secret|pass|pwd|key|auth|credential)[\w.-]{0,80}[\"']?"
    r"(?:[ \t]*[:=]|[ \t]+[A-Za-z_][\w.\[\]*]{0,30}[ \t]*=)")
_SECRET_NAME = re.compile(
    r"(?i)token|secret|passw(?:or)?d|passphrase|pwd|api[_-]?key|apikey|auth(?!or(?:s|ed|ship)?(?:$|[^a-z]))|credential"
    r"|private[_-]?key|access[_-]?key|(?:^|[_.-])pass(?:$|[_.-])|(?:^|[_.-])keys?$")
_CAMEL_KEY = re.compile(r"[a-z0-9]Keys?$")
_PASSWORD_NAME = re.compile(r"(?i)passw|passphrase|pwd|(?:^|[_.-])pass(?:$|[_.-])")
_ATTRIBUTE_PATH = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
MIN_SECRET_LENGTH = 20
MIN_PASSWORD_LENGTH = 12  # a password need not be long to matter
ENTROPY_THRESHOLD = 3.0  # bits per character; words and identifiers are excluded separately


def _assigned_secret_spans(text: str) -> Iterator[_Span]:
    """Random-looking values assigned to secret-sounding names.

    Anchored on each secret word followed by an operator: the whole name around the word is
    found by scanning over name characters, and the assignment is matched after it. The next
    search starts after the value, so the cost stays linear in the text.
    """
    pos = 0
    while (found := _CANDIDATE.search(text, pos)) is not None:
        back = _NAME_BACK.search(text, max(0, found.start() - _MAX_NAME), found.start())
        start = back.start() if back else found.start()
        end = _NAME_FWD.match(text, found.start()).end()
        match = _AFTER_NAME.match(text, end, min(len(text), end + _MAX_ASSIGNMENT))
        pos = max(found.end(), match.end() if match else 0)
        span = _assigned_value(text[start:end], match) if match else None
        if span is not None:
            yield span


def _assigned_value(name: str, match: re.Match[str]) -> _Span | None:
    """The value's span when `name` sounds secret and the value looks random."""
    if not (_SECRET_NAME.search(name) or _CAMEL_KEY.search(name)):
        return None
    group = next(g for g in ("dq", "sq", "bq", "bare") if match.group(g) is not None)
    value = match.group(group)
    min_length = MIN_PASSWORD_LENGTH if _PASSWORD_NAME.search(name) else MIN_SECRET_LENGTH
    if not looks_random(value, min_length):
        return None
    if group == "bare" and (match.string.startswith("(", match.end(group))
                            or _ATTRIBUTE_PATH.fullmatch(value)):
        return None  # code: `embed = ScaledEmbedding2D(...)`, `key = config.t2u_pad_id`
    return match.start(group), match.end(group), _GENERIC


def looks_random(value: str, min_length: int = MIN_SECRET_LENGTH) -> bool:
    """A credential-like literal: long, one word, not a template or identifier, high entropy."""
    if len(value) < min_length or any(c.isspace() for c in value) or _is_template(value):
        return False
    return not _is_wordlike(value) and shannon_entropy(value) >= ENTROPY_THRESHOLD


def shannon_entropy(value: str) -> float:
    """Bits per character of `value`'s own character distribution."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


_TEMPLATE = re.compile(
    r"\$\{|\{\{|%\(|^\$[A-Za-z_]\w*$|^<[^<>]*>$|^\{[^{}]*\}$|^\*+$|^x+$", re.IGNORECASE)


def _is_template(value: str) -> bool:
    """`${TOKEN}`, `$TOKEN`, `{password}`, `<your-key>`, `%(pw)s`, `****`: a reference."""
    return _TEMPLATE.search(value) is not None


# One separator-delimited part of an identifier-like value, matched unambiguously (every run
# is maximal), so a failed match costs linear time: UPPER (digits only at the end), a single
# letter ("v2", "X"), a number, or camel/lower words with acronyms ("getHTTPResponse2",
# "HiggsV2Model", "ProviderT").
_WORD_PART = re.compile(
    r"[A-Z]+\d{0,4}|[A-Za-z]\d{0,4}|\d{1,8}"
    r"|(?:[A-Z]{2,5}(?=[A-Z][a-z])|[A-Z]{1,5}(?![A-Za-z])\d{0,4}(?!\d)"
    r"|[A-Z]\d{1,4}(?=[A-Z])|[A-Z]?[a-z]{2,}(?![a-z])\d{0,4}(?!\d))+")
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")
_INNER_DIGITS = re.compile(r"(?<=[A-Za-z])\d+(?=[A-Za-z])")


def _is_wordlike(value: str) -> bool:
    """Made of words (snake, kebab, camel, dotted, a path or URL): an identifier, not a key.

    Every part between separators must be a word-shaped run: words of two or more lower-case
    letters (capitalised or not) with at most four trailing digits, short acronyms, UPPER
    words, single letters, numbers. Random tokens break this within a few characters: a lone
    lower-case letter between capitals or digits, digits inside a run of capitals. Two digit
    groups between letters in one part ("dead1234beef5678") also count as random, and so does
    a run of 16+ letters with few vowels (random lower case, where words have ~40% vowels).
    """
    parts = [part for part in _SEPARATORS.split(value) if part]
    return bool(parts) and all(
        _WORD_PART.fullmatch(part) and len(_INNER_DIGITS.findall(part)) < 2 for part in parts
    ) and all(_vowel_share(run) >= MIN_VOWEL_SHARE for run in _LONG_RUN.findall(value.lower()))


_LONG_RUN = re.compile(r"[a-z]{16,}")
MIN_VOWEL_SHARE = 0.3  # English compounds ~0.4 ("internationalization" 0.5); random ~0.19


def _vowel_share(run: str) -> float:
    """Share of vowels in a long letter run: what tells a compound word from random letters."""
    return sum(c in "aeiouy" for c in run) / len(run)
