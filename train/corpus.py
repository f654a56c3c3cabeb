"""The training corpus: permissively licensed source code found on this machine.

Sources, each a "package" (the unit of licensing, of repository packing and of the held-out
split):
- the Python standard library (PSF-2.0), one package per top-level subpackage (`stdlib-email`)
  and one (`stdlib`) for the top-level modules; its test suite is left out (fixtures made to be
  odd: bad encodings, deliberately broken syntax);
- installed distributions whose license metadata is MIT, BSD, Apache or PSF, with the files
  their RECORD lists; vendored copies of other projects inside them are left out, since their
  licenses are not the distribution's;
- folders given by the user (`--corpus DIR`), one package each, licensed as the user says.

Held-out packages are chosen from a hash of the package name alone, so every machine agrees
on the split whatever else it has installed: a model trained on one machine can be evaluated
on another without ever having seen the evaluation packages. Folders the user names are always
trained on (evaluate on a folder with `autan eval --corpus DIR`).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata as md
import json
import os
import re
import sysconfig
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

STDLIB_LICENSE = "PSF-2.0"
HELDOUT_FRACTION = 0.12
HELDOUT_SALT = "autan-heldout-v1"
# SPDX ids accepted in a License-Expression: the MIT, BSD, Apache and PSF families.
ALLOWED_SPDX = re.compile(r"(MIT|MIT-0|0BSD|BSD-[0-9A-Za-z.-]+|Apache-[0-9.]+|PSF-2\.0|"
                          r"Python-2\.0(\.1)?)", re.IGNORECASE)
ALLOWED_CLASSIFIERS = frozenset({"MIT License", "MIT No Attribution License (MIT-0)",
                                 "BSD License", "Apache Software License",
                                 "Python Software Foundation License"})
# Free-text License fields: refuse anything naming another license before looking for ours.
DENY_WORDS = re.compile(r"gpl|mpl|mozilla|eupl|cddl|\bepl\b|eclipse|proprietary|commercial|"
                        r"cc-by|cc0|\bbsl\b|boost|zlib|cnri|unlicense|\bisc\b|wtfpl|artistic",
                        re.IGNORECASE)
ALLOW_WORDS = re.compile(r"\bmit\b|\bbsd\b|apache|\bpsf\b|python software foundation",
                         re.IGNORECASE)
SKIP_DIRS = frozenset({"__pycache__", "_vendor", "vendor", "_vendored", "vendored",
                       "third_party", "_third_party", "site-packages", "dist-packages",
                       "test", "tests", "idle_test", "node_modules", ".git", "ensurepip",
                       "lib-dynload", "build", "dist", ".venv", "venv"})
SOURCE_SUFFIXES = frozenset({".py", ".pyi"})
USER_SUFFIXES = frozenset({".py", ".pyi", ".js", ".ts", ".go", ".rs", ".c", ".h", ".cc",
                           ".cpp", ".hpp", ".java", ".rb", ".lua", ".sh", ".php", ".cs"})
MIN_CHARS, MAX_CHARS, MAX_LINE = 32, 200_000, 1000
OWN_DISTRIBUTIONS = frozenset({"autan"})  # our own code is not corpus


@dataclass
class LicenseVerdict:
    license: str  # what the metadata says, shortened
    allowed: bool
    source: str  # License-Expression | classifier | License | none


@dataclass(frozen=True)
class Document:
    package: str
    path: str  # posix path inside the package's root (site-packages, stdlib, user folder)
    text: str


@dataclass
class PackageInfo:
    name: str
    version: str
    license: str
    license_source: str
    origin: str  # stdlib | site-packages | folder
    split: str = "train"  # train | heldout | excluded
    files: int = 0
    chars: int = 0


@dataclass
class Corpus:
    packages: list[PackageInfo] = field(default_factory=list)
    docs: list[Document] = field(default_factory=list)
    excluded: list[PackageInfo] = field(default_factory=list)

    def split(self, name: str) -> list[Document]:
        """The documents of the packages in split `name` (train or heldout)."""
        names = {p.name for p in self.packages if p.split == name}
        return [d for d in self.docs if d.package in names]


class SpdxParser:
    """A recursive-descent reader of SPDX expressions (OR binds loosest, then AND, then WITH),
    evaluating each license id against our families as it goes."""

    def __init__(self, expression: str) -> None:
        self.tokens = re.findall(r"\(|\)|[A-Za-z0-9.+:-]+", expression)
        self.pos = 0

    def peek(self) -> str:
        """The next token, upper-cased for operators; empty at the end."""
        return self.tokens[self.pos].upper() if self.pos < len(self.tokens) else ""

    def either(self) -> bool:
        value = self.both()
        while self.peek() == "OR":
            self.pos += 1
            value = self.both() or value
        return value

    def both(self) -> bool:
        value = self.atom()
        while self.peek() == "AND":
            self.pos += 1
            value = self.atom() and value
        return value

    def atom(self) -> bool:
        token = self.peek()
        if token in ("", "AND", "OR", "WITH", ")"):
            raise ValueError(f"unexpected {token or 'end'}")
        license_id = self.tokens[self.pos]
        self.pos += 1
        if license_id == "(":
            value = self.either()
            if self.peek() != ")":
                raise ValueError("unbalanced parenthesis")
            self.pos += 1
            return value
        if self.peek() == "WITH":
            self.pos += 2  # an exception only adds permissions
        return ALLOWED_SPDX.fullmatch(license_id) is not None


def spdx_allowed(expression: str) -> bool | None:
    """Whether an SPDX expression allows use under our families: every operand of an AND,
    some operand of an OR. None when the text is not an SPDX expression (free text)."""
    parser = SpdxParser(expression)
    try:
        value = parser.either()
    except ValueError:
        return None
    return value if parser.pos == len(parser.tokens) else None


def free_text_allowed(text: str) -> bool | None:
    """A License field in words ("BSD License", "Apache 2.0"); None when it is a whole license
    text or names nothing we know."""
    if len(text) > 120:
        return None
    if DENY_WORDS.search(text):
        return False
    return True if ALLOW_WORDS.search(text) else None


def classify_license(meta: md.PackageMetadata) -> LicenseVerdict:
    """The license verdict for a distribution: License-Expression first (it is exact), then the
    trove classifiers (every one must be ours), then the free-text License field."""
    expression = (meta.get("License-Expression") or "").strip()
    if expression:
        return LicenseVerdict(expression, bool(spdx_allowed(expression)), "License-Expression")
    classifiers = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or []
                   if c.startswith("License ::")]
    if classifiers:
        allowed = all(c in ALLOWED_CLASSIFIERS for c in classifiers)
        return LicenseVerdict(" / ".join(classifiers), allowed, "classifier")
    text = " ".join((meta.get("License") or "").split())
    if text:
        allowed = bool(spdx_allowed(text)) or bool(free_text_allowed(text))
        return LicenseVerdict(text[:80], allowed, "License")
    return LicenseVerdict("unknown", False, "none")


def is_heldout(name: str, fraction: float = HELDOUT_FRACTION, salt: str = HELDOUT_SALT) -> bool:
    """Deterministic held-out choice from the package name only (same on every machine)."""
    digest = hashlib.sha256(f"{salt}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def acceptable(text: str) -> bool:
    """Source worth training on: not tiny, not a generated table (huge, or very long lines)."""
    if not MIN_CHARS <= len(text) <= MAX_CHARS:
        return False
    return max((len(line) for line in text.split("\n")), default=0) <= MAX_LINE


def read_source(path: Path) -> str | None:
    """The file's text if it is UTF-8 and acceptable, else None."""
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    text = text.replace("\r\n", "\n")
    return text if acceptable(text) else None


def skipped(parts: Iterable[str]) -> bool:
    """Whether a path through these folders is left out (tests, vendored code, build output)."""
    return any(p in SKIP_DIRS or p.startswith((".", "config-")) for p in parts)


def walk_sources(root: Path, suffixes: frozenset[str]) -> Iterator[Path]:
    """Source files under `root` in sorted order, never entering skipped folders (the stdlib
    folder holds site-packages, which must not be walked as part of it)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not skipped([d]))
        for name in sorted(files):
            if Path(name).suffix in suffixes:
                yield Path(folder) / name


def stdlib_packages(root: Path | None = None) -> dict[str, list[Document]]:
    """The standard library's documents by package: `stdlib-<name>` for each top-level
    folder, `stdlib` for the top-level modules."""
    root = root or Path(sysconfig.get_paths()["stdlib"])
    groups: dict[str, list[Document]] = {}
    for path in walk_sources(root, SOURCE_SUFFIXES):
        rel = path.relative_to(root)
        name = "stdlib" if len(rel.parts) == 1 else f"stdlib-{rel.parts[0]}"
        text = read_source(path)
        if text is not None:
            groups.setdefault(name, []).append(Document(name, rel.as_posix(), text))
    return groups


def canonical_name(name: str) -> str:
    """PEP 503 normalisation, so one distribution has one name everywhere."""
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution_docs(dist: md.Distribution, name: str) -> list[Document]:
    """The Python sources a distribution's RECORD lists, outside vendored and test folders."""
    docs = []
    for file in sorted(dist.files or [], key=str):
        parts = file.parts
        if file.suffix not in SOURCE_SUFFIXES or ".." in parts or skipped(parts[:-1]):
            continue
        if any(p.endswith((".dist-info", ".egg-info")) for p in parts):
            continue
        text = read_source(Path(str(dist.locate_file(file))))
        if text is not None:
            docs.append(Document(name, file.as_posix(), text))
    return docs


def installed_packages() -> Iterator[tuple[PackageInfo, list[Document]]]:
    """Every installed distribution once, with its license verdict; documents only for the
    allowed ones (the others are recorded as excluded, unread)."""
    seen: set[str] = set()
    dists = sorted(md.distributions(), key=lambda d: canonical_name(d.metadata["Name"] or ""))
    for dist in dists:
        name = canonical_name(dist.metadata["Name"] or "")
        if not name or name in seen or name in OWN_DISTRIBUTIONS:
            continue
        seen.add(name)
        verdict = classify_license(dist.metadata)
        info = PackageInfo(name, dist.version or "", verdict.license, verdict.source,
                           "site-packages", "train" if verdict.allowed else "excluded")
        yield info, distribution_docs(dist, name) if verdict.allowed else []


def folder_package(root: Path) -> tuple[PackageInfo, list[Document]]:
    """A user-given folder as one package, under the license its owner vouches for."""
    root = root.resolve()
    name = canonical_name(root.name)
    docs = [Document(name, p.relative_to(root).as_posix(), text)
            for p in walk_sources(root, USER_SUFFIXES) if (text := read_source(p)) is not None]
    return PackageInfo(name, "", "user-supplied", "user", "folder"), docs


def gather(folders: Iterable[Path] = (), stdlib: bool = True, site: bool = True,
           heldout_fraction: float = HELDOUT_FRACTION) -> Corpus:
    """Collect the corpus: documents deduplicated by content (first seen wins), each package
    recorded with its license and split."""
    sources: list[tuple[PackageInfo, list[Document]]] = [folder_package(f) for f in folders]
    if stdlib:
        version = sysconfig.get_python_version()
        sources += [(PackageInfo(n, version, STDLIB_LICENSE, "python", "stdlib"), d)
                    for n, d in sorted(stdlib_packages().items())]
    if site:
        sources += list(installed_packages())
    corpus, hashes = Corpus(), set()
    for info, docs in sources:
        if info.split == "excluded":
            corpus.excluded.append(info)
            continue
        kept = [d for d in docs if (h := hashlib.sha1(d.text.encode()).digest()) not in hashes
                and not hashes.add(h)]
        if kept:
            held = info.origin != "folder" and is_heldout(info.name, heldout_fraction)
            info.split = "heldout" if held else "train"
            info.files, info.chars = len(kept), sum(len(d.text) for d in kept)
            corpus.packages.append(info)
            corpus.docs.extend(kept)
    return corpus


def merge(base: Corpus, extra: Corpus) -> Corpus:
    """`base` plus the packages of `extra` it lacks (by name), documents deduplicated by
    content: a prepared corpus grown with what another machine has installed."""
    names = {p.name for p in base.packages} | {p.name for p in base.excluded}
    hashes = {hashlib.sha1(d.text.encode()).digest() for d in base.docs}
    out = Corpus(list(base.packages), list(base.docs), list(base.excluded))
    for info in extra.excluded:
        if info.name not in names:
            out.excluded.append(info)
    for info in extra.packages:
        if info.name in names:
            continue
        kept = [d for d in extra.docs if d.package == info.name and
                (h := hashlib.sha1(d.text.encode()).digest()) not in hashes and not hashes.add(h)]
        if kept:
            info.files, info.chars = len(kept), sum(len(d.text) for d in kept)
            out.packages.append(info)
            out.docs.extend(kept)
    return out


def corpus_meta(corpus: Corpus) -> dict:
    """Packages and licenses as JSON (corpus.json, and the model card's table)."""
    return {"packages": [asdict(p) for p in corpus.packages],
            "excluded": [asdict(p) for p in corpus.excluded]}


def save_corpus(corpus: Corpus, folder: Path) -> Path:
    """`corpus.json` (packages, licenses, split) and `docs.jsonl.gz` (the texts): a few tens
    of MB for the whole standard library and site-packages, small enough to carry."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.json").write_text(json.dumps(corpus_meta(corpus), indent=1) + "\n")
    tmp = folder / "docs.jsonl.gz.tmp"
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=6) as f:
        for d in corpus.docs:
            f.write(json.dumps(asdict(d), ensure_ascii=False) + "\n")
    os.replace(tmp, folder / "docs.jsonl.gz")
    return folder


def load_corpus(folder: Path) -> Corpus:
    """The corpus `save_corpus` wrote."""
    meta = json.loads((folder / "corpus.json").read_text(encoding="utf-8"))
    with gzip.open(folder / "docs.jsonl.gz", "rt", encoding="utf-8") as f:
        docs = [Document(**json.loads(line)) for line in f]
    return Corpus([PackageInfo(**p) for p in meta["packages"]], docs,
                  [PackageInfo(**p) for p in meta.get("excluded", [])])
