"""Git signals for ranking context: what the user is changing, what changed lately, and
which files tend to change together.

Everything comes from three or four `git` processes per load (`rev-parse`, `status`,
`log --name-only`, and `config` when there are submodules), never from per-commit diff
objects, so a load costs the same on a ten-year history as on a fresh one.
`GitSignals.load` never raises: a folder that is not a repository, a missing `git`
binary, or a failing command gives `available=False` with a `reason`, or partial signals
with `errors`.

Paths are relative to the folder given to `load` (which may be a subfolder of the
repository), with forward slashes, like every path in the indexer.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_COMMIT_FILES = 50
"""A commit touching more files than this (a reformat, a vendored import, a rename of a
folder) says nothing about which files belong together, so co-change skips it."""

GIT_TIMEOUT_S = 30.0
"""A git command that takes longer is killed; the signals it would give are left out."""

_GIT_ENV = {
    # `git status` refreshes the index when it may; that takes index.lock, which would make
    # the user's own `git commit` fail while the editor indexes in the background.
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_TERMINAL_PROMPT": "0",
}
# User configuration that would change the output we parse.
_GIT_CONFIG = ("-c", "log.showSignature=false", "-c", "core.quotePath=false", "--no-pager")
_MAX_SUBMODULE_DEPTH = 2


class _Unavailable(Exception):
    """Git cannot give any signal for this folder; the message becomes `reason`."""


@dataclass
class GitSignals:
    """Git-derived signals for one folder, loaded once and queried many times."""

    root: Path
    available: bool = False
    reason: str = ""  # why not available
    head: str | None = None  # commit id of HEAD; None when not available or no commit yet
    errors: list[str] = field(default_factory=list)  # partial failures; never raised
    _changed: dict[str, str] = field(default_factory=dict, repr=False)
    _last_change: dict[str, int] = field(default_factory=dict, repr=False)  # path -> unix s
    _commits: list[list[str]] = field(default_factory=list, repr=False)  # co-change input
    _by_file: dict[str, list[int]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(
        cls, root: Path | str, recent_commits: int = 50, max_commit_files: int = MAX_COMMIT_FILES
    ) -> GitSignals:
        """Read status and the last `recent_commits` commits that touch `root`."""
        signals = cls(root=Path(root))
        try:
            repo, prefix = _open_repo(signals.root)
            signals.head = _head(repo)
            signals.available = True
            signals._changed = _changed_files(repo, prefix, 0, signals.errors)
            if signals.head is not None and recent_commits > 0:
                signals._load_history(repo, prefix, recent_commits, max_commit_files)
        except _Unavailable as exc:
            signals.available, signals.reason = False, str(exc)
        except Exception as exc:  # a safety net: a signal source must not break indexing
            signals.errors.append(f"git: {_one_line(exc)}")
        return signals

    def changed_files(self) -> dict[str, str]:
        """Files that differ from HEAD (staged or not) and untracked files, with a status:
        modified, added, deleted, renamed, conflicted or untracked."""
        return dict(self._changed)

    def recent_files(self, now: float | None = None) -> dict[str, float]:
        """Files changed in the loaded commits -> seconds since their latest change.

        Paths come from history, so a file deleted since may be listed; callers intersect
        with the files they index."""
        now = time.time() if now is None else now
        return {path: max(0.0, now - ts) for path, ts in self._last_change.items()}

    def co_change(self, path: str) -> dict[str, int]:
        """Files committed together with `path` -> number of such commits, most first."""
        counts: Counter[str] = Counter()
        for index in self._by_file.get(path, ()):
            counts.update(other for other in self._commits[index] if other != path)
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def _load_history(self, repo: Any, prefix: str, count: int, max_files: int) -> None:
        """Fill recency and co-change from one `git log --name-only` call."""
        try:
            commits = _log(repo, prefix, count)
        except _Unavailable:
            raise
        except Exception as exc:
            self.errors.append(f"git log: {_one_line(exc)}")
            return
        skip = _shallow_boundary(repo)
        gitlinks = _submodule_paths(repo, self.errors)
        for sha, ts, files in commits:
            if sha in skip:  # a shallow clone's boundary shows its whole tree as "added"
                continue
            files = [f for f in files if f not in gitlinks]
            local = _under_prefix(files, prefix)
            for path in local:
                self._last_change[path] = max(ts, self._last_change.get(path, ts))
            if len(files) <= max_files and len(local) > 1:
                for path in local:
                    self._by_file.setdefault(path, []).append(len(self._commits))
                self._commits.append(local)


def _open_repo(root: Path) -> tuple[Any, str]:
    """The repository containing `root`, and `root`'s path inside its work tree ('' or
    'sub/dir/')."""
    try:
        import git  # imported here: without a git binary, importing gitpython raises
    except Exception as exc:
        raise _Unavailable(f"git is not usable: {_one_line(exc)}") from None
    if not root.is_dir():
        raise _Unavailable(f"{root}: not a directory")
    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise _Unavailable(f"{root}: not inside a git repository") from None
    except Exception as exc:
        raise _Unavailable(f"{root}: {_one_line(exc)}") from None
    if repo.bare or repo.working_tree_dir is None:
        raise _Unavailable(f"{root}: a bare repository has no work tree")
    try:
        rel = root.resolve().relative_to(Path(repo.working_tree_dir).resolve()).as_posix()
    except ValueError:
        raise _Unavailable(f"{root}: outside the work tree of {repo.working_tree_dir}") from None
    return repo, "" if rel == "." else rel + "/"


def _run(repo: Any, *args: str) -> str:
    """Run one git command in `repo`; raise _Unavailable when git itself is missing."""
    import git

    argv = [git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git", *_GIT_CONFIG, *args]
    # Pin the repository: a GIT_DIR or GIT_INDEX_FILE inherited from the editor's
    # environment (a git hook, a terminal inside another repository) would redirect git.
    env = dict(_GIT_ENV, GIT_DIR=str(repo.git_dir), GIT_WORK_TREE=str(repo.working_tree_dir),
               GIT_INDEX_FILE=str(Path(repo.git_dir) / "index"))
    try:
        out = repo.git.execute(
            argv, env=env, stdout_as_string=False, kill_after_timeout=GIT_TIMEOUT_S
        )
    except git.GitCommandNotFound as exc:
        raise _Unavailable(f"git executable not found: {_one_line(exc)}") from None
    # Paths are bytes to git; surrogateescape keeps a non-UTF-8 name distinct and reversible.
    return out.decode("utf-8", "surrogateescape")


def _head(repo: Any) -> str | None:
    """HEAD's commit id, or None in a repository with no commit yet (unborn branch)."""
    import git

    try:
        return _run(repo, "rev-parse", "--verify", "-q", "HEAD^{commit}").strip() or None
    except git.GitCommandError:
        return None


def _changed_files(repo: Any, prefix: str, depth: int, errors: list[str]) -> dict[str, str]:
    """Status against HEAD for files under `prefix`, recursing into dirty submodules."""
    args = ["status", "--porcelain=v2", "-z", "--untracked-files=all", "--no-renames"]
    if prefix:
        args += ["--", f":(literal){prefix}"]
    try:
        entries, dirty_subs = _parse_status(_run(repo, *args))
    except _Unavailable:
        raise
    except Exception as exc:
        errors.append(f"git status: {_one_line(exc)}")
        return {}
    if depth < _MAX_SUBMODULE_DEPTH:
        for sub in dirty_subs:
            for path, status in _submodule_changes(repo, sub, depth, errors).items():
                entries.setdefault(f"{sub}/{path}", status)
    return {path[len(prefix):]: status for path, status in entries.items()
            if path.startswith(prefix)}


def _submodule_changes(repo: Any, sub: str, depth: int, errors: list[str]) -> dict[str, str]:
    """A checked-out submodule's own changes, relative to the submodule."""
    import git

    try:
        sub_repo = git.Repo(Path(repo.working_tree_dir) / sub)
    except Exception as exc:
        errors.append(f"submodule {sub}: {_one_line(exc)}")
        return {}
    return _changed_files(sub_repo, "", depth + 1, errors)


def _parse_status(text: str) -> tuple[dict[str, str], list[str]]:
    """Parse `git status --porcelain=v2 -z`: path -> status, and submodules with changes
    inside them (reported as their files, not as one directory entry)."""
    entries: dict[str, str] = {}
    dirty_subs: list[str] = []
    tokens = iter(text.split("\0"))
    for token in tokens:
        kind = token[:1]
        if kind == "?":
            path = token[2:]
            entries[path] = "modified" if entries.get(path) == "deleted" else "untracked"
        elif kind in ("1", "2", "u"):
            fields = token.split(" ", {"1": 8, "2": 9, "u": 10}[kind])
            xy, sub, path = fields[1], fields[2], fields[-1]
            if kind == "2":
                entries.setdefault(next(tokens, ""), "deleted")  # the rename's origin
            if sub.startswith("S"):  # a submodule: "S<commit><modified><untracked>"
                if "M" in sub[2:] or "U" in sub[2:]:
                    dirty_subs.append(path)
                continue
            entries[path] = "renamed" if kind == "2" else _classify(kind, xy)
    entries.pop("", None)
    return entries, dirty_subs


def _classify(kind: str, xy: str) -> str:
    """One status word from porcelain v2's index/work-tree letters."""
    if kind == "u":
        return "conflicted"
    if "D" in xy:
        return "deleted"
    if xy[:1] in ("A", "C"):
        return "added"
    return "modified"


def _log(repo: Any, prefix: str, count: int) -> list[tuple[str, int, list[str]]]:
    """The last `count` non-merge commits touching `prefix`: (id, commit time, all files
    of the commit, repository-relative), newest first."""
    args = ["log", f"-n{count}", "--no-merges", "--no-renames", "--no-color", "-z"]
    args += ["--name-only", "--format=%x01%H %ct", "HEAD"]
    if prefix:  # --full-diff: list the whole commit, so its size is known
        args += ["--full-diff", "--", f":(literal){prefix}"]
    commits: list[tuple[str, int, list[str]]] = []
    for token in _run(repo, *args).split("\0"):
        if token.startswith("\x01"):
            sha, _, ts = token[1:].partition(" ")
            commits.append((sha, int(ts or 0), []))
        elif token and commits:
            commits[-1][2].append(token.removeprefix("\n"))
    return commits


def _shallow_boundary(repo: Any) -> set[str]:
    """Commits whose parents a shallow clone lacks (`.git/shallow`)."""
    try:
        text = (Path(repo.common_dir) / "shallow").read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return set()
    return {line.strip() for line in text.splitlines() if line.strip()}


def _submodule_paths(repo: Any, errors: list[str]) -> set[str]:
    """Submodule paths from `.gitmodules`: in history a submodule is one entry that names
    a directory, not a file."""
    import git

    if not (Path(repo.working_tree_dir) / ".gitmodules").is_file():
        return set()
    try:
        text = _run(repo, "config", "-z", "-f", ".gitmodules", "--get-regexp", r"\.path$")
    except git.GitCommandError:
        return set()  # exit code 1: no submodule.*.path entries
    except Exception as exc:
        errors.append(f"git config .gitmodules: {_one_line(exc)}")
        return set()
    return {entry.partition("\n")[2] for entry in text.split("\0") if "\n" in entry}


def _under_prefix(paths: list[str], prefix: str) -> list[str]:
    """Repository paths under `prefix`, made relative to it; others are dropped."""
    return [path[len(prefix):] for path in paths if path.startswith(prefix)]


def _one_line(exc: BaseException) -> str:
    """An exception as one line: gitpython's messages span many."""
    text = " ".join(str(exc).split())
    return (text[:300] + "...") if len(text) > 300 else text or type(exc).__name__
