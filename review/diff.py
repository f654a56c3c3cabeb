"""The diff under review: which revisions, which files, which of their lines changed.

Only lines the diff added or changed are candidates. A file is left out, with the reason the
indexer would give, when it is deleted, binary, vendored, generated, minified, ignored or a
secret; what remains is read at the head revision with every secret replaced by the indexer's
placeholder before anything else sees it.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from autan.indexer.files import FileOptions, Reason, Skipped, classify_path, content_reason
from autan.indexer.secrets import find_secrets, is_secret_file, redact_secrets
from autan.review.types import ChangedFile

HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
DEFAULT_BRANCHES = ("origin/HEAD", "origin/main", "origin/master", "main", "master")
GIT_TIMEOUT_S = 120


class DiffError(Exception):
    """A revision or repository that cannot be reviewed; the message names it."""


@dataclass(frozen=True)
class Diff:
    root: Path
    base: str  # resolved commit ids
    head: str
    files: list[ChangedFile]
    skipped: list[Skipped]


def git(root: Path, *args: str) -> str:
    """stdout of `git args` in `root`; a failure raises DiffError with git's first line."""
    try:
        done = subprocess.run(["git", "-c", "core.quotePath=false", *args], cwd=root,
                              capture_output=True, text=True, encoding="utf-8",
                              errors="replace", timeout=GIT_TIMEOUT_S, check=False)
    except FileNotFoundError as err:
        raise DiffError("git is not installed (autan review reads the diff with git)") from err
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["git failed"])[0]
        raise DiffError(f"{root}: git {' '.join(args[:2])}: {first}")
    return done.stdout


def repository_root(start: Path) -> Path:
    if not start.is_dir():
        raise DiffError(f"{start}: no such folder")
    try:
        return Path(git(start, "rev-parse", "--show-toplevel").strip())
    except DiffError as err:
        raise DiffError(f"{start}: not inside a git repository") from err


def commit_of(root: Path, ref: str) -> str:
    """The commit `ref` names; a bad ref is bad input, named in the error."""
    try:
        return git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except DiffError as err:
        raise DiffError(f"{ref}: not a revision in {root}") from err


def ci_base(root: Path, env: Mapping[str, str]) -> str | None:
    """The base a CI system names: a GitHub pull request's base commit (from the event file,
    else its base branch), a GitLab merge request's diff base."""
    event_path = env.get("GITHUB_EVENT_PATH")
    if event_path and Path(event_path).is_file():
        try:
            event = json.loads(Path(event_path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            event = {}
        sha = ((event.get("pull_request") or {}).get("base") or {}).get("sha")
        if isinstance(sha, str) and sha:
            return sha
    if ref := env.get("GITHUB_BASE_REF"):
        return f"origin/{ref}" if _exists(root, f"origin/{ref}") else ref
    return env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA") or None


def default_branch(root: Path) -> str:
    for ref in DEFAULT_BRANCHES:
        if _exists(root, ref):
            return ref
    raise DiffError(f"{root}: no default branch to compare with (tried "
                    f"{', '.join(DEFAULT_BRANCHES)}); pass --base REF")


def _exists(root: Path, ref: str) -> bool:
    try:
        commit_of(root, ref)
    except DiffError:
        return False
    return True


def resolve_revisions(root: Path, base: str | None, head: str | None,
                      env: Mapping[str, str]) -> tuple[str, str]:
    """(base, head) commits. The base is the merge base of the given or CI-named base, or else
    the default branch, with the head: the diff then shows only what the head's branch did."""
    head_commit = commit_of(root, head or "HEAD")
    base_ref = base or ci_base(root, env) or default_branch(root)
    base_commit = commit_of(root, base_ref)
    try:
        return git(root, "merge-base", base_commit, head_commit).strip(), head_commit
    except DiffError:  # unrelated histories: compare the two trees as they are
        return base_commit, head_commit


@dataclass(frozen=True)
class ChangedPath:
    path: str  # at head
    old_path: str | None  # at base, for a rename
    binary: bool


def changed_paths(root: Path, base: str, head: str, paths: Sequence[str]) -> list[ChangedPath]:
    """Each added, modified or renamed file (deleted ones have nothing to review)."""
    out = git(root, "diff", "--numstat", "-z", "-M", "--diff-filter=AMR", base, head, "--",
              *paths)
    fields = out.split("\0")
    found: list[ChangedPath] = []
    i = 0
    while i < len(fields) - 1:
        added, _deleted, path = fields[i].split("\t", 2)
        if path:  # a plain change: "added\tdeleted\tpath"
            found.append(ChangedPath(path, None, added == "-"))
            i += 1
        else:  # a rename: "added\tdeleted\t", then the old and the new path
            found.append(ChangedPath(fields[i + 2], fields[i + 1], added == "-"))
            i += 3
    return found


def changed_lines(root: Path, base: str, head: str, change: ChangedPath) -> frozenset[int]:
    """0-based lines of the file at head that the diff adds or changes."""
    sources = [change.path] if change.old_path is None else [change.old_path, change.path]
    out = git(root, "diff", "-U0", "--no-color", "--no-ext-diff", "-M", base, head, "--",
              *sources)
    lines: set[int] = set()
    for match in map(HUNK.match, out.splitlines()):
        if match:
            start, count = int(match[1]), int(match[2] or 1)
            lines.update(range(start - 1, start - 1 + count))
    return frozenset(lines)


def skip_reason(root: Path, path: str, data: bytes, options: FileOptions) -> str | None:
    """Why the indexer would leave this file out, judged on its head content."""
    if is_secret_file(path):
        return Reason.SECRET
    if (root / path).exists():
        verdict = classify_path(root, path, options)
        if isinstance(verdict, Skipped) and verdict.reason != Reason.TOO_LARGE:
            return verdict.reason
    if any(part in options.skip_dirs for part in path.split("/")[:-1]):
        return Reason.VENDORED
    return content_reason(path.rsplit("/", 1)[-1], data, options)


def read_at(root: Path, commit: str, path: str) -> bytes:
    done = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=root, capture_output=True,
                          timeout=GIT_TIMEOUT_S, check=False)
    if done.returncode != 0:
        raise DiffError(f"{path}: cannot read it at {commit[:12]}")
    return done.stdout


def secret_lines(text: str) -> set[int]:
    """Lines that hold (part of) a secret: never candidates, so never quoted in a report."""
    lines: set[int] = set()
    for span in find_secrets(text):
        last = span.line + text.count("\n", span.start, span.end)
        lines.update(range(span.line, last + 1))
    return lines


def load_file(root: Path, head: str, path: str, lines: frozenset[int]) -> ChangedFile | str:
    """The file as the model may see it, or why it is skipped."""
    data = read_at(root, head, path)
    reason = skip_reason(root, path, data, FileOptions())
    if reason is not None:
        return reason
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError:
        return Reason.BINARY
    text, _ = redact_secrets(raw)
    rows = text.split("\n")
    candidates = lines - secret_lines(raw)
    return ChangedFile(path, text, frozenset(n for n in candidates
                                             if 0 <= n < len(rows) and rows[n].strip()))


def read_diff(start: Path, base: str | None = None, head: str | None = None,
              paths: Sequence[str] = (), env: Mapping[str, str] | None = None) -> Diff:
    """The changed files between `base` and `head` in the repository around `start`."""
    root = repository_root(start)
    base_commit, head_commit = resolve_revisions(root, base, head, env or {})
    files: list[ChangedFile] = []
    skipped: list[Skipped] = []
    for change in changed_paths(root, base_commit, head_commit, paths):
        if change.binary:
            skipped.append(Skipped(change.path, Reason.BINARY))
            continue
        lines = changed_lines(root, base_commit, head_commit, change)
        loaded = load_file(root, head_commit, change.path, lines)
        if isinstance(loaded, str):
            skipped.append(Skipped(change.path, loaded))
        elif loaded.changed_lines:
            files.append(loaded)
    return Diff(root, base_commit, head_commit, files, skipped)
