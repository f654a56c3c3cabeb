"""Which files of a repository get indexed, and how their bytes become text.

The walk is the indexer's first filter and its cheapest: everything it drops is never read,
parsed, stored or put in a prompt. It keeps what a person would call the project's own code
and drops the rest (dependencies, build output, binaries, minified bundles, machine-written
sources, credentials), reporting each drop as `Skipped(path, reason)` so a missing file can be
explained. It never raises for a bad tree: unreadable folders, broken links and bad ignore
patterns become skip reasons or are passed over.

Ignore rules follow git's precedence, lowest first: `.git/info/exclude`, the root
`.gitignore`, each nested `.gitignore` (relative to its own folder), then the root
`.autanignore` and `FileOptions.extra_ignores`. The last matching pattern wins, and a folder
that is ignored is not entered, so nothing under it can be re-included, as in git. The rules
apply whether or not the folder is a git repository.

Symbolic links are never followed: a link inside the root points at a file or folder that is
walked at its real path anyway, so following would only index duplicates, and not following
means no loop can hang the walk. Links are reported with a reason saying which kind they are.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import fnmatch
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pathspec import GitIgnoreSpec

from autan.indexer.secrets import is_secret_file


class Reason:
    """Why a path was skipped (`Skipped.reason`): plain strings, stable for tools and tests."""

    VCS = "vcs"  # .git, .hg, .svn, editor folders: never project code
    VENDORED = "vendored"  # a folder named in VENDORED_DIRS (dependencies, build output, caches)
    IGNORED = "ignored"  # .gitignore, .git/info/exclude, .autanignore or extra_ignores
    SECRET = "secret"  # secrets.is_secret_file
    TOO_LARGE = "too-large"  # over FileOptions.max_bytes
    BINARY = "binary"  # known binary extension, or a NUL byte in the first 8 KB
    MINIFIED = "minified"  # .min.js/.min.css/.map, or a line over max_line_length
    GENERATED = "generated"  # a lockfile, or a generated-code marker in the first lines
    SYMLINK = "symlink"  # a link to a file or folder inside the root: walked at its real path
    SYMLINK_LOOP = "symlink-loop"  # a link cycle, or a folder link to its own ancestor
    SYMLINK_OUTSIDE = "symlink-outside-root"
    SYMLINK_BROKEN = "symlink-broken"
    SPECIAL = "special"  # fifo, socket, device: opening one could block
    UNREADABLE = "unreadable"  # permission denied, vanished during the walk, root missing
    MISSING = "missing"  # classify_path only: the path (or a folder above it) does not exist
    FOLDER = "folder"  # classify_path only: a folder the walk enters, not a file to index


# Always skipped, whatever the ignore files say.
VCS_DIRS: tuple[str, ...] = (
    ".git", ".hg", ".svn", ".bzr", "_darcs", ".jj", ".pijul", ".idea", ".vscode", ".autan",
)

# Folder names (fnmatch patterns) of third-party code, build output and tool caches. Names that
# are as often a project's own sources (bin, out, coverage, lib) are left to ignore files. A
# project whose own code lives in a folder named here can pass its own `FileOptions.skip_dirs`.
VENDORED_DIRS: tuple[str, ...] = (
    "node_modules", "bower_components", "jspm_packages", "vendor", "third_party",
    "third-party", "thirdparty", "dist", "build", "_build", "target", ".venv", "venv",
    "virtualenv", "__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".hypothesis", ".eggs", "*.egg-info", "site-packages", ".gradle", ".next",
    ".nuxt", ".svelte-kit", ".parcel-cache", ".turbo", ".cache", ".terraform", ".serverless",
    ".dart_tool", ".pub-cache", "elm-stuff", "Pods", "Carthage", "DerivedData", "htmlcov",
    ".nyc_output", "bazel-*", ".ipynb_checkpoints", ".stack-work", ".cargo",
)

BINARY_EXTENSIONS = frozenset((
    ".png .jpg .jpeg .gif .bmp .ico .icns .webp .tif .tiff .psd .heic .avif .svgz "
    ".ttf .otf .woff .woff2 .eot "
    ".zip .tar .gz .tgz .bz2 .xz .7z .rar .zst .lz4 .jar .war .ear .whl .egg .deb .rpm "
    ".dmg .iso .apk .ipa "
    ".o .a .so .dylib .dll .exe .bin .obj .lib .pyc .pyo .pyd .class .wasm .pdb .beam "
    ".mp3 .mp4 .wav .ogg .flac .aac .m4a .avi .mov .mkv .webm "
    ".pdf .doc .docx .xls .xlsx .ppt .pptx .odt .ods "
    ".sqlite .sqlite3 .db .parquet .arrow .feather .npy .npz .pkl .pickle .pt .pth "
    ".safetensors .onnx .h5 .hdf5 .gguf .ckpt .tflite .mo .DS_Store"
).lower().split())

MINIFIED_SUFFIXES: tuple[str, ...] = (".min.js", ".min.mjs", ".min.css", "-min.js", ".map")

GENERATED_NAMES = frozenset({
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock",
    "Cargo.lock", "poetry.lock", "Pipfile.lock", "uv.lock", "pdm.lock", "composer.lock",
    "Gemfile.lock", "go.sum", "flake.lock", "mix.lock", "pubspec.lock", "Podfile.lock",
})

# Lower-case markers that tools write near the top of the files they generate.
GENERATED_MARKERS: tuple[str, ...] = (
    "@generated", "do not edit", "code generated by", "autogenerated", "auto-generated",
    "this file was generated", "this file is generated",
)

AUTANIGNORE = ".autanignore"
_TEXT_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE,
              codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class FileOptions:
    """What discover_files keeps; the defaults suit code completion."""

    max_bytes: int = 1_000_000  # bigger files are data or bundles, and crowd the prompt
    max_line_length: int = 1000  # longer lines mean minified or generated
    sniff_bytes: int = 64 * 1024  # how much of each file the content checks read
    binary_sniff_bytes: int = 8 * 1024  # where a NUL byte means binary (as git decides)
    marker_lines: int = 10  # how many first lines may carry a generated-code marker
    skip_dirs: tuple[str, ...] = VENDORED_DIRS
    extra_ignores: tuple[str, ...] = ()  # gitignore-syntax lines, applied like .autanignore


@dataclass(frozen=True)
class Candidate:
    """A file to index: repo-relative path with '/', and its identity for incremental updates."""

    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skipped:
    """A file or folder left out, and why (one of the `Reason` strings)."""

    path: str
    reason: str


def discover_files(
    root: Path, options: FileOptions | None = None
) -> tuple[list[Candidate], list[Skipped]]:
    """Walk `root` and split it into files to index and paths skipped, both sorted by path."""
    walk = _Walk(Path(os.path.realpath(root)), options or FileOptions())
    walk.run()
    walk.candidates.sort(key=lambda c: c.path)
    walk.skipped.sort(key=lambda s: s.path)
    return walk.candidates, walk.skipped


def classify_path(
    root: Path, path: str | os.PathLike[str], options: FileOptions | None = None
) -> Candidate | Skipped:
    """What discover_files(root, options) says about one path, without walking the tree.

    `path` is repository-relative ('/' or os.sep) or absolute under `root`. The answer is
    the Candidate discover_files would list, or the Skipped it would list for the path or for
    the folder above it that the walk does not enter (so its `path` may be that folder's).
    Two reasons exist only here: `missing` (the path is gone) and `folder` (a folder the walk
    enters). The same rule code runs for both functions, on the path's ancestors only, so
    they cannot disagree. A path outside `root` raises ValueError.
    """
    walk = _Walk(Path(os.path.realpath(root)), options or FileOptions())
    return walk.classify(relative_path(root, path))


def relative_path(root: Path, path: str | os.PathLike[str]) -> str:
    """`path` (relative, or absolute under `root` as given or as resolved) as discover_files
    names it. The last component is never resolved: a link is a link, not what it points
    at. ValueError for a path outside `root`."""
    real = Path(os.path.realpath(root))
    path = Path(path)
    if not path.is_absolute():
        rel = path
    else:
        path = Path(os.path.abspath(path))
        for base in (Path(os.path.abspath(root)), real):
            if path.is_relative_to(base):
                rel = path.relative_to(base)
                break
        else:
            rel = (Path(os.path.realpath(path.parent)) / path.name).relative_to(real)
    if ".." in rel.parts:
        raise ValueError(f"{path} is not inside {root}")
    return "" if rel == Path(".") else rel.as_posix()


def is_rules_file(root: Path, path: str | os.PathLike[str]) -> bool:
    """Whether `path` (absolute, or relative to `root`) is a file the ignore rules are read
    from: any .gitignore, the root .autanignore, or the git dir's info/exclude."""
    path = Path(path)
    if path.name == ".gitignore":
        return True
    full = Path(os.path.abspath(path if path.is_absolute() else root / path))
    real = Path(os.path.realpath(root))
    return full in (real / AUTANIGNORE, Path(os.path.abspath(root)) / AUTANIGNORE) or (
        os.path.realpath(full) == os.path.realpath(_git_info_exclude(real)))


class _Entry(Protocol):
    """What the walk reads of a folder entry: os.DirEntry, or _PathEntry for one path."""

    name: str
    path: str

    def is_dir(self, *, follow_symlinks: bool = True) -> bool: ...
    def is_file(self, *, follow_symlinks: bool = True) -> bool: ...
    def is_symlink(self) -> bool: ...
    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result: ...


@dataclass(frozen=True)
class _PathEntry:
    """An os.DirEntry stand-in for one named path (DirEntry cannot be constructed)."""

    name: str
    path: str
    lstat: os.stat_result

    @classmethod
    def at(cls, folder: Path, name: str) -> _PathEntry | None:
        """The entry `name` of `folder`, or None when there is none."""
        path = os.path.join(folder, name)
        try:
            return cls(name, path, os.lstat(path))
        except (FileNotFoundError, NotADirectoryError):
            return None

    def _mode(self, follow_symlinks: bool) -> int:
        if follow_symlinks and self.is_symlink():
            try:
                return os.stat(self.path).st_mode
            except OSError:  # as DirEntry: a broken link is neither a folder nor a file
                return 0
        return self.lstat.st_mode

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        return stat.S_ISDIR(self._mode(follow_symlinks))

    def is_file(self, *, follow_symlinks: bool = True) -> bool:
        return stat.S_ISREG(self._mode(follow_symlinks))

    def is_symlink(self) -> bool:
        return stat.S_ISLNK(self.lstat.st_mode)

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        return os.stat(self.path) if follow_symlinks else self.lstat


def _listable(folder: Path) -> bool:
    """Whether the walk could list `folder` (opening it is enough to know)."""
    try:
        with os.scandir(folder):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class _Rules:
    """One ignore file's patterns, relative to the folder `base` ('' is the root)."""

    base: str
    spec: GitIgnoreSpec


def _compile(lines: list[str]) -> GitIgnoreSpec | None:
    """Compile gitignore lines, dropping any single line pathspec rejects (git ignores them)."""
    try:
        spec = GitIgnoreSpec.from_lines(lines)
    except Exception:  # pathspec raises its own errors and re.error for bad ranges
        spec = GitIgnoreSpec.from_lines([line for line in lines if _valid_line(line)])
    return spec if len(spec) else None


def _valid_line(line: str) -> bool:
    try:
        GitIgnoreSpec.from_lines([line])
    except Exception:
        return False
    return True


def _load_rules(path: Path, base: str) -> _Rules | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    spec = _compile(text.splitlines())
    return _Rules(base, spec) if spec is not None else None


def _git_info_exclude(root: Path) -> Path:
    """The info/exclude of root's git dir, also for worktrees and submodules (.git a file)."""
    git = root / ".git"
    if git.is_file():
        try:
            first = git.read_text(encoding="utf-8", errors="replace").splitlines()[0]
        except (OSError, IndexError):
            return git / "info" / "exclude"
        git = (root / first.removeprefix("gitdir:").strip()).resolve()
        with contextlib.suppress(OSError):  # a worktree: info/ lives in the common dir
            git = (git / (git / "commondir").read_text(encoding="utf-8").strip()).resolve()
    return git / "info" / "exclude"


def _is_ignored(rel: str, is_dir: bool, rules: tuple[_Rules, ...]) -> bool:
    """Git's answer for `rel`: the highest-precedence file with a matching pattern decides."""
    for rule in reversed(rules):
        if rule.base and not rel.startswith(rule.base + "/"):
            continue
        sub = rel[len(rule.base) + 1:] if rule.base else rel
        result = rule.spec.check_file(sub + "/" if is_dir else sub)
        if result.include is not None:
            return bool(result.include)
    return False


def _within(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


def _classify_symlink(link: str, parent_real: str, root_real: str) -> str:
    """Which kind of link this is, without ever walking through it."""
    try:
        target_stat = os.stat(link)
    except OSError as exc:
        return Reason.SYMLINK_LOOP if exc.errno == errno.ELOOP else Reason.SYMLINK_BROKEN
    target = os.path.realpath(link)
    if not _within(target, root_real):
        return Reason.SYMLINK_OUTSIDE
    if stat.S_ISDIR(target_stat.st_mode) and _within(parent_real, target):
        return Reason.SYMLINK_LOOP
    return Reason.SYMLINK


def _name_reason(name: str) -> str | None:
    """Skip reasons that the file name alone decides, before any read."""
    lower = name.lower()
    if os.path.splitext(lower)[1] in BINARY_EXTENSIONS or lower in BINARY_EXTENSIONS:
        return Reason.BINARY
    if lower.endswith(MINIFIED_SUFFIXES):
        return Reason.MINIFIED
    if name in GENERATED_NAMES:
        return Reason.GENERATED
    return None


def _looks_binary(head: bytes) -> bool:
    """A NUL byte means binary, except in UTF-16/32 text, which announces itself with a BOM."""
    return not head.startswith(_TEXT_BOMS) and b"\0" in head


def _content_reason(head: bytes, options: FileOptions) -> str | None:
    """Skip reasons read from the first `sniff_bytes` of the file."""
    if _looks_binary(head[:options.binary_sniff_bytes]):
        return Reason.BINARY
    lines = head.split(b"\n")
    top = b"\n".join(lines[:options.marker_lines]).decode("latin-1").lower()
    if any(marker in top for marker in GENERATED_MARKERS):
        return Reason.GENERATED
    if any(len(line) > options.max_line_length for line in lines):
        return Reason.MINIFIED
    return None


def _file_reason(path: Path, size: int, options: FileOptions) -> str | None:
    """Why a regular file is not indexed, or None to index it."""
    reason = _name_reason(path.name) or (Reason.TOO_LARGE if size > options.max_bytes else None)
    if reason is not None:
        return reason
    try:
        with open(path, "rb") as handle:
            head = handle.read(options.sniff_bytes)
    except OSError:
        return Reason.UNREADABLE
    return _content_reason(head, options)


def content_reason(name: str, data: bytes, options: FileOptions) -> str | None:
    """Why a file of this name and these bytes would not be indexed, or None: the rules the
    walk applies to a file on disk, for content read from elsewhere (a git revision)."""
    return (_name_reason(name) or (Reason.TOO_LARGE if len(data) > options.max_bytes else None)
            or _content_reason(data[:options.sniff_bytes], options))


@dataclass
class _Walk:
    """One walk's state: the root, the options, the top ignore rules and the two results."""

    root: Path
    options: FileOptions
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    top: tuple[_Rules, ...] = ()

    def run(self) -> None:
        inherited = self._start()
        if inherited is None:
            self.skipped.append(Skipped("", Reason.UNREADABLE))
            return
        stack: list[tuple[str, tuple[_Rules, ...]]] = [("", inherited)]
        while stack:
            rel_dir, inherited = stack.pop()
            rules = self._enter(rel_dir, inherited)
            stack.extend((sub, rules) for sub in self._scan(rel_dir, rules))

    def _start(self) -> tuple[_Rules, ...] | None:
        """Load the root-wide rules into `top`; return the rules the root folder inherits
        (.git/info/exclude), or None when the root is not a folder."""
        if not self.root.is_dir():
            return None
        base = _load_rules(_git_info_exclude(self.root), "")
        top = [_load_rules(self.root / AUTANIGNORE, ""), self._extra_rules()]
        self.top = tuple(rule for rule in top if rule is not None)
        return (base,) if base else ()

    def _enter(self, rel_dir: str, inherited: tuple[_Rules, ...]) -> tuple[_Rules, ...]:
        """The rules inside `rel_dir`: the inherited ones, then its own .gitignore."""
        own = _load_rules(self.root / rel_dir / ".gitignore", rel_dir)
        return (*inherited, own) if own else inherited

    def classify(self, rel: str) -> Candidate | Skipped:
        """What `run` would say about `rel`, walking only its ancestors (see classify_path)."""
        rules = self._start()
        if rules is None:
            return Skipped("", Reason.UNREADABLE)
        if not os.path.lexists(self.root / rel):
            return Skipped(rel, Reason.MISSING)
        parts = rel.split("/") if rel else []
        for depth, name in enumerate(parts):
            parent = "/".join(parts[:depth])
            here = f"{parent}/{name}" if parent else name
            if not _listable(self.root / parent):
                return Skipped(parent, Reason.UNREADABLE)
            rules = self._enter(parent, rules)
            entry = _PathEntry.at(self.root / parent, name)
            if entry is None:
                return Skipped(rel, Reason.MISSING)
            try:
                walk_in = self._visit(entry, here, rules)
            except OSError:
                return Skipped(here, Reason.UNREADABLE)
            if self.candidates or self.skipped:
                return self.candidates[-1] if self.candidates else self.skipped[-1]
            if not walk_in:  # unreachable: _visit records every entry it does not enter
                return Skipped(here, Reason.SPECIAL)
        return Skipped(rel, Reason.FOLDER)

    def _extra_rules(self) -> _Rules | None:
        spec = _compile(list(self.options.extra_ignores))
        return _Rules("", spec) if spec is not None else None

    def _scan(self, rel_dir: str, rules: tuple[_Rules, ...]) -> list[str]:
        """Visit one folder's entries; return the sub-folders to walk next."""
        try:
            with os.scandir(self.root / rel_dir) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            self.skipped.append(Skipped(rel_dir, Reason.UNREADABLE))
            return []
        subdirs = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                if self._visit(entry, rel, rules):
                    subdirs.append(rel)
            except OSError:
                self.skipped.append(Skipped(rel, Reason.UNREADABLE))
        return subdirs

    def _visit(self, entry: _Entry, rel: str, rules: tuple[_Rules, ...]) -> bool:
        """Record one entry; True when it is a folder to walk into."""
        is_dir = entry.is_dir(follow_symlinks=False)
        reason = self._early_reason(entry, rel, is_dir, rules)
        if reason is not None:
            self.skipped.append(Skipped(rel, reason))
            return False
        if is_dir:
            return True
        if not entry.is_file(follow_symlinks=False):
            self.skipped.append(Skipped(rel, Reason.SPECIAL))
            return False
        info = entry.stat(follow_symlinks=False)
        reason = _file_reason(Path(entry.path), info.st_size, self.options)
        if reason is not None:
            self.skipped.append(Skipped(rel, reason))
        else:
            self.candidates.append(Candidate(rel, info.st_size, info.st_mtime_ns))
        return False

    def _early_reason(
        self, entry: _Entry, rel: str, is_dir: bool, rules: tuple[_Rules, ...]
    ) -> str | None:
        """Reasons decided by name, ignore rules and link kind, before any stat or read."""
        if entry.name in VCS_DIRS:
            return Reason.VCS
        if not is_dir and is_secret_file(rel):
            return Reason.SECRET
        if _is_ignored(rel, is_dir, rules + self.top):
            return Reason.IGNORED
        if entry.is_symlink():
            parent = os.path.dirname(os.path.join(self.root, rel))
            return _classify_symlink(entry.path, parent, str(self.root))
        if is_dir and any(fnmatch.fnmatchcase(entry.name, p) for p in self.options.skip_dirs):
            return Reason.VENDORED
        return None


def decode_text(data: bytes) -> tuple[str, str | None]:
    """Bytes to text, never failing: (text, note), the note saying which fallback was used.

    UTF-8 (with or without BOM) is the norm. A file with a UTF-16/32 BOM is decoded as such.
    A file with some valid multi-byte UTF-8 and a few bad bytes is mostly UTF-8: bad bytes
    become U+FFFD. A file with no multi-byte UTF-8 at all is a legacy 8-bit encoding: cp1252
    if it fits (Windows files), else latin-1, which maps every byte and so loses nothing.
    Line endings are kept as on disk.
    """
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32-le"),
                       (codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            note = None if codec == "utf-8" else f"decoded as {codec} (BOM)"
            return data[len(bom):].decode(codec, errors="replace"), note
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        where = exc.start
    mostly = data.decode("utf-8", errors="replace")
    if not mostly.replace("\ufffd", "").isascii():
        return mostly, f"invalid UTF-8 at byte {where}: replaced with U+FFFD"
    for codec in ("cp1252", "latin-1"):
        try:
            return data.decode(codec), f"not UTF-8 (byte {where}): decoded as {codec}"
        except UnicodeDecodeError:
            continue
    return mostly, None  # unreachable: latin-1 decodes every byte


def read_text(path: str | os.PathLike[str]) -> tuple[str | None, str | None]:
    """(text, note) for a file: text None when unreadable, the note saying why; otherwise the
    note is None for clean UTF-8 or names the fallback decode (see decode_text)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return None, f"unreadable: {exc.strerror or exc}"
    return decode_text(data)
