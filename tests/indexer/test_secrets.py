"""Secrets never leave: secret files are recognised by name, and every secret format is
redacted with the line count kept, while ordinary code is left exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from autan.indexer.files import discover_files, read_text
from autan.indexer.secrets import (
    PLACEHOLDER,
    contains_secret,
    is_secret_file,
    looks_random,
    redact_secrets,
    shannon_entropy,
)
from tests.indexer.fixtures import (
    ALNUM,
    SEEDED_SECRETS,
    UPPER_DIGITS,
    fake_jwt,
    fake_key_lines,
    fake_token,
    make_polyglot_repo,
    pem_block,
)


@pytest.mark.parametrize("path", [
    ".env", ".env.local", ".env.example", "config/production.env", ".envrc",
    "certs/server.pem", "tls/server.key", "store.p12", "cert.pfx", "app.keystore",
    "id_rsa", "home/.ssh/id_rsa.pub", "id_ed25519", "id_ecdsa_sk", ".netrc", ".pgpass",
    ".npmrc", ".pypirc", ".git-credentials", ".aws/credentials", "credentials.json",
    "gcp/my-project-credentials.json", "service-account.json", "secrets.yaml",
    "config/secrets.json", "prod.tfvars", "terraform.tfstate", ".docker/config.json",
    ".kube/config", ".ssh/config", "SECRETS.YML",
])
def test_secret_files_are_recognised(path: str) -> None:
    assert is_secret_file(path)


@pytest.mark.parametrize("path", [
    "config.py", "settings.py", "env.py", "environment.ts", "tokenizer.json", "key_utils.py",
    "monkey.py", "docs/keys.md", "credentials_provider.py", "CredentialsManager.java",
    "indexer/secrets.py", "src/secrets.ts", "docker/config.yaml", "kube/config.go",
    ".env_utils.py", "public.crt",
])
def test_ordinary_files_are_not_secret_files(path: str) -> None:
    assert not is_secret_file(path)


def _key(seed: str, n: int = 32, alphabet: str = ALNUM) -> str:
    return fake_token(seed, n, alphabet)


# (kind, the secret, the line it is written on). Prefixes are split so that no complete
# token appears in this source.
TOKEN_CASES: list[tuple[str, str, str]] = [
    ("aws-access-key-id", (k := "AK" + "IA" + _key("a", 16, UPPER_DIGITS)), f'key_id = "{k}"'),
    ("aws-access-key-id", (k := "AS" + "IA" + _key("b", 16, UPPER_DIGITS)), f"id: {k}"),
    ("github-token", (k := "gh" + "p_" + _key("c", 36)), f"git clone https://{k}@github.com/x"),
    ("github-token", (k := "gh" + "o_" + _key("d", 36)), f"call({k!r})"),
    ("github-token", (k := "gh" + "s_" + _key("e", 36)), f"# leaked {k}"),
    ("github-token", (k := "github" + "_pat_" + _key("f", 60)), f"const t = '{k}';"),
    ("gitlab-token", (k := "glpat" + "-" + _key("g", 20)), f"curl -H 'PRIVATE: {k}'"),
    ("slack-token", (k := "xo" + "xb-" + _key("h", 12, "0123456789") + "-" + _key("i", 24)),
     f"client = WebClient({k!r})"),
    ("slack-webhook", (k := "https://hooks.slack.com/services/" + _key("j", 30)),
     f"post({k!r})"),
    ("openai-key", (k := "sk" + "-" + _key("k", 48)), f"openai.api_key = '{k}'"),
    ("openai-key", (k := "sk" + "-proj-" + _key("l", 60, ALNUM + "_-")), f"use({k!r})"),
    ("anthropic-key", (k := "sk" + "-ant-api03-" + _key("m", 90, ALNUM + "_-")),
     f"Anthropic(api_key={k!r})"),
    ("google-api-key", (k := "AI" + "za" + _key("n", 35, ALNUM + "_-")), f"maps({k!r})"),
    ("stripe-key", (k := "sk" + "_live_" + _key("o", 24)), f"stripe.key = {k!r}"),
    ("stripe-key", (k := "rk" + "_live_" + _key("p", 24)), f"use({k!r})"),
    ("stripe-key", (k := "wh" + "sec_" + _key("q", 32)), f"verify(body, {k!r})"),
    ("npm-token", (k := "np" + "m_" + _key("r", 36)), f"//registry.npmjs.org/:_t={k}"),
    ("pypi-token", (k := "pypi" + "-AgE" + _key("s", 60)), f"twine upload -p {k}"),
    ("huggingface-token", (k := "hf" + "_" + _key("t", 34, "abcdefghijKLMNOPQ")),
     f"login({k!r})"),
    ("jwt", (k := fake_jwt("u")), f"fetch(url, {{headers: {{Authorization: 'Bearer {k}'}}}})"),
    ("url-password", (k := _key("v", 16)), f"DB = 'postgresql://admin:{k}@db.internal/app'"),
    ("url-password", (k := _key("w", 10)), f"redis://:{k}@cache:6379/0"),
]

# Generic rule: a random-looking value assigned to a secret-sounding name, in many syntaxes.
ASSIGNMENT_CASES: list[tuple[str, str]] = [
    ((k := _key("g1")), f'api_key = "{k}"'),
    ((k := _key("g2", 16)), f"password: {k}"),
    ((k := _key("g3")), f'{{"client_secret": "{k}"}}'),
    ((k := _key("g4")), f"export GITHUB_AUTH={k}"),
    ((k := _key("g5")), f'const authToken = "{k}"'),
    ((k := _key("g6")), f'token := "{k}"'),
    ((k := _key("g7")), f'private readonly apiKey: string = "{k}";'),
    ((k := _key("g8")), f"'secret_key' => '{k}',"),
    ((k := _key("g9")), f'let token: &str = "{k}";'),
    ((k := _key("g10", 14)), f"db.password={k}"),
    ((k := _key("g11")), f"Authorization: Bearer {k}"),
    ((k := _key("g12")), f'var sessionToken string = "{k}"'),
    ((k := _key("g13", 40, ALNUM + "/+")), f'AWS_SECRET_ACCESS_KEY = "{k}"'),
    ((k := "123e4567-e89b-12d3-a456-426614174000"), f'heroku_api_key = "{k}"'),
    ((k := _key("g14", 40, "0123456789abcdef")), f"SIGNING_KEY={k}"),
    ((k := _key("g15")), f"self.credentials = `{k}`"),
]


def _surround(line: str) -> str:
    return f"first line\n    {line}\nlast line\n"


def _assert_redacted(text: str, secret: str) -> str:
    redacted, spans = redact_secrets(text)
    assert secret not in redacted
    assert PLACEHOLDER in redacted and spans
    assert redacted.splitlines()[0] == text.splitlines()[0]
    assert redacted.splitlines()[-1] == text.splitlines()[-1]
    assert len(redacted.splitlines()) == len(text.splitlines())
    assert contains_secret(text) and not contains_secret(redacted)
    return redacted


@pytest.mark.parametrize(("kind", "secret", "line"), TOKEN_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(TOKEN_CASES)])
def test_each_token_format_is_redacted(kind: str, secret: str, line: str) -> None:
    text = _surround(line)
    _assert_redacted(text, secret)
    assert kind in {s.kind for s in redact_secrets(text)[1]}


@pytest.mark.parametrize(("secret", "line"), ASSIGNMENT_CASES,
                         ids=[c[1].split("=")[0][:24] for c in ASSIGNMENT_CASES])
def test_secret_assignments_are_redacted_in_every_syntax(secret: str, line: str) -> None:
    _assert_redacted(_surround(line), secret)


def test_only_the_value_is_replaced() -> None:
    secret = _key("only")
    redacted, spans = redact_secrets(f'token = "{secret}"  # prod\n')
    assert redacted == f'token = "{PLACEHOLDER}"  # prod\n'
    assert spans[0].line == 0 and spans[0].kind == "assigned-secret"


def test_aws_secret_next_to_a_key_id_is_redacted_whatever_its_name() -> None:
    key_id = "AK" + "IA" + _key("aws1", 16, UPPER_DIGITS)
    secret = _key("aws2", 40, ALNUM + "/+")
    text = _surround(f'boto3.client("s3", "{key_id}", "{secret}")')
    redacted = _assert_redacted(text, secret)
    assert key_id not in redacted


@pytest.mark.parametrize("label", ["RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY",
                                   "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY",
                                   "PGP PRIVATE KEY BLOCK"])
def test_private_key_blocks_keep_their_line_count(label: str) -> None:
    lines = fake_key_lines(label)
    text = "def f():\n    pass\n" + pem_block(label, lines) + "after = 1\n"
    redacted, spans = redact_secrets(text)
    assert [s.kind for s in spans] == ["private-key"] and spans[0].line == 2
    assert redacted.splitlines() == ["def f():", "    pass", PLACEHOLDER,
                                     *[""] * (len(lines) + 1), "after = 1"]
    assert not any(line in redacted for line in lines)


def test_private_key_in_a_json_string_and_truncated_keys_are_redacted() -> None:
    lines = fake_key_lines("json")
    block = pem_block("PRIVATE KEY", lines).replace("\n", "\\n")
    text = '{\n  "type": "service_account",\n  "private_key": "' + block + '"\n}\n'
    redacted = _assert_redacted(text, lines[0])
    assert redacted.splitlines()[3] == "}"
    truncated = pem_block("RSA PRIVATE KEY", lines).split("-----END")[0]
    redacted, spans = redact_secrets("x = 1\n" + truncated[:-20])
    assert spans and not any(line[:40] in redacted for line in lines)


def test_crlf_line_breaks_are_kept() -> None:
    lines = fake_key_lines("crlf")
    text = pem_block("RSA PRIVATE KEY", lines).replace("\n", "\r\n") + "tail\r\n"
    redacted, _ = redact_secrets(text)
    assert redacted == PLACEHOLDER + "\r\n" * (len(lines) + 2) + "tail\r\n"


FALSE_POSITIVES = """\
password = input("Password: ")
token = get_token()
if password == confirm_password:
    user_password_hash = hashlib.sha256(password.encode()).hexdigest()
API_KEY_ENV_VAR = "OPENAI_API_KEY"
auth_url = "https://accounts.example.com/o/oauth2/v2/auth"
secret_name = "prod/database/credentials"
color = "#ff00aa"
TEST_USER_ID = "123e4567-e89b-12d3-a456-426614174000"
commit = "9fceb02d0ae598e95dc970b74767f19372d61af8"
dsn = f"postgresql://{user}:{password}@{host}/{db}"
url = "postgresql://user:${DB_PASSWORD}@localhost/app"
token_type = "Bearer"
const token = await getAccessToken(req);
password := r.FormValue("password")
headers = {"Authorization": f"Bearer {token}"}
BEGIN = "-----BEGIN RSA PRIVATE KEY-----"
END = "-----END RSA PRIVATE KEY-----"
sort_key = lambda item: item.name
tokenizer_path = "models/tokenizer-v2-final.json"
keyword = "sk-learn-compatible-estimator"
self.cache_key = f"user:{user_id}:profile"
export const passwordRegex = /^(?=.*[A-Z])(?=.*\\d).{12,}$/;
var ErrInvalidToken = errors.New("invalid token")
csrf_token_header = "X-CSRF-Token-Header-Name"
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
api_key = os.getenv("OPENAI_API_KEY", "")
private_key_path = "~/.ssh/id_ed25519"
access_token_expire_minutes: int = 30
credentials = service_account.Credentials.from_service_account_file(path)
token_url: "https://oauth2.googleapis.com/token"
auth = HTTPBasicAuth(username, password)
Authorization: Bearer ${TOKEN}
password = "changeme"
author_name = "Jane Q. Public-Smith"
author_email = "jane.q.public.smith@example.com"
"""


@pytest.mark.parametrize("line", FALSE_POSITIVES.splitlines())
def test_ordinary_code_is_left_alone(line: str) -> None:
    assert redact_secrets(line + "\n") == (line + "\n", [])


def test_a_realistic_module_is_unchanged() -> None:
    source = Path(__file__).resolve().parents[2] / "indexer" / "files.py"
    text = source.read_text(encoding="utf-8")
    assert redact_secrets(text) == (text, [])


def test_entropy_and_randomness_thresholds() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)
    assert looks_random(_key("r1"))
    assert not looks_random("a" * 40)
    assert not looks_random("get_user_profile_settings_v2")
    assert not looks_random(_key("r2", 19))  # shorter than the generic minimum
    assert not looks_random("{{ secrets.DEPLOY_TOKEN_VALUE }}")


def test_every_seeded_secret_is_redacted_or_its_file_skipped(tmp_path: Path) -> None:
    root = make_polyglot_repo(tmp_path / "repo")
    candidates, skipped = discover_files(root)
    skipped_paths = {s.path for s in skipped}
    leaks = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = path.relative_to(root).as_posix()
        text, _ = read_text(path)
        assert text is not None
        if rel in skipped_paths or any(rel.startswith(s + "/") for s in skipped_paths):
            continue
        redacted, _ = redact_secrets(text)
        leaks += [(rel, s[:8]) for s in SEEDED_SECRETS if s in redacted]
    assert not leaks
    assert {".env", "deploy/id_rsa"} <= skipped_paths
    assert {"pkg/config.py", "web/src/config.js"} <= {c.path for c in candidates}


def test_seeded_secrets_are_all_found_in_the_fixture(tmp_path: Path) -> None:
    """The leak test above means something only if the secrets were really written."""
    root = make_polyglot_repo(tmp_path / "repo")
    everything = "".join(
        read_text(p)[0] or "" for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    assert all(secret in everything for secret in SEEDED_SECRETS)


def test_redaction_finishes_on_large_and_hostile_text() -> None:
    source = (Path(__file__).resolve().parents[2] / "indexer" / "files.py").read_text()
    hostile = [
        source * (1_000_000 // len(source)),
        ("-----BEGIN PRIVATE KEY-----" + "A" * 30 + "\n") * 20_000,
        "password=" * 100_000,
        ("token_key_secret_password_auth " * 40 + "\n") * 500,
    ]
    for text in hostile:  # a catastrophic regex would not return (timings: benchmarks)
        redacted, _ = redact_secrets(text)
        assert redacted.count("\n") == text.count("\n")
