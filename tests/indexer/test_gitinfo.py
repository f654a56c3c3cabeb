"""GitSignals on real repositories made by the tests in tmp folders (gitpython + git)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import git
import pytest

from autan.indexer.gitinfo import GitSignals


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's git configuration (signing, hooks, default branch) must not leak in."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")


def make_repo(path: Path) -> git.Repo:
    path.mkdir(parents=True, exist_ok=True)
    return git.Repo.init(path, initial_branch="main")


def write(repo: git.Repo, files: dict[str, str]) -> None:
    for name, text in files.items():
        target = Path(repo.working_tree_dir) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def commit(repo: git.Repo, files: dict[str, str], when: float | None = None) -> str:
    """Write `files`, stage them and commit, optionally at a given unix time."""
    write(repo, files)
    repo.git.add("--", *files)
    env = {}
    if when is not None:
        stamp = f"@{int(when)} +0000"
        env = {"GIT_COMMITTER_DATE": stamp, "GIT_AUTHOR_DATE": stamp}
    repo.git.commit("-q", "-m", "change", env=env)
    return repo.head.commit.hexsha


def test_not_a_repository(tmp_path: Path) -> None:
    signals = GitSignals.load(tmp_path)
    assert not signals.available
    assert "not inside a git repository" in signals.reason
    assert signals.head is None
    assert signals.changed_files() == {} and signals.recent_files() == {}
    assert signals.co_change("a.py") == {}


def test_missing_folder_and_bare_repository(tmp_path: Path) -> None:
    assert not GitSignals.load(tmp_path / "nope").available
    git.Repo.init(tmp_path / "bare.git", bare=True)
    signals = GitSignals.load(tmp_path / "bare.git")
    assert not signals.available and "bare" in signals.reason


def test_co_change_counts(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    commit(repo, {"a.py": "1", "b.py": "1"})
    commit(repo, {"a.py": "2", "b.py": "2", "c.py": "2"})
    commit(repo, {"a.py": "3", "d.py": "3"})
    commit(repo, {"e.py": "4"})
    signals = GitSignals.load(tmp_path)
    assert signals.available and signals.reason == "" and signals.errors == []
    assert signals.head == repo.head.commit.hexsha
    assert signals.co_change("a.py") == {"b.py": 2, "c.py": 1, "d.py": 1}
    assert list(signals.co_change("a.py")) == ["b.py", "c.py", "d.py"]  # most first
    assert signals.co_change("b.py") == {"a.py": 2, "c.py": 1}
    assert signals.co_change("e.py") == {}
    assert signals.co_change("unknown.py") == {}


def test_huge_commits_carry_no_co_change_but_count_as_recent(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    commit(repo, {"a.py": "1", "b.py": "1"})
    commit(repo, {f"gen/{i}.py": "x" for i in range(6)} | {"a.py": "2"})
    signals = GitSignals.load(tmp_path, max_commit_files=5)
    assert signals.co_change("a.py") == {"b.py": 1}
    assert "gen/3.py" in signals.recent_files()


def test_recent_files_ages_and_commit_limit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    now = time.time()
    commit(repo, {"old.py": "1", "both.py": "1"}, when=now - 10_000)
    commit(repo, {"new.py": "1", "both.py": "2"}, when=now - 100)
    ages = GitSignals.load(tmp_path).recent_files(now=now)
    assert set(ages) == {"old.py", "new.py", "both.py"}
    assert ages["old.py"] == pytest.approx(10_000, abs=2)
    assert ages["both.py"] == pytest.approx(100, abs=2)  # its most recent change
    assert set(GitSignals.load(tmp_path, recent_commits=1).recent_files()) == {"new.py", "both.py"}
    assert GitSignals.load(tmp_path, recent_commits=0).recent_files() == {}
    assert all(age >= 0 for age in GitSignals.load(tmp_path).recent_files(now=0).values())


def test_changed_files_staged_unstaged_untracked_deleted(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    names = ["keep.py", "edit.py", "staged.py", "gone.py", "rm.py", "old_name.py"]
    commit(repo, {name: "v1\n" for name in names} | {"sp ace/ü.py": "v1\n"})
    write(repo, {"edit.py": "v2\n", "staged.py": "v2\n", "new_staged.py": "n\n"})
    write(repo, {"sp ace/ü.py": "v2\n", "new dir/deep/untracked.py": "u\n"})
    repo.git.add("staged.py", "new_staged.py")
    (tmp_path / "gone.py").unlink()
    repo.git.rm("-q", "rm.py")
    repo.git.mv("old_name.py", "new_name.py")
    assert GitSignals.load(tmp_path).changed_files() == {
        "edit.py": "modified",
        "staged.py": "modified",
        "new_staged.py": "added",
        "sp ace/ü.py": "modified",
        "new dir/deep/untracked.py": "untracked",
        "gone.py": "deleted",
        "rm.py": "deleted",
        "old_name.py": "deleted",
        "new_name.py": "added",
    }


def test_merge_conflict_is_reported(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    commit(repo, {"x.py": "base\n"})
    repo.git.checkout("-q", "-b", "other")
    commit(repo, {"x.py": "other\n"})
    repo.git.checkout("-q", "main")
    commit(repo, {"x.py": "main\n"})
    with pytest.raises(git.GitCommandError):
        repo.git.merge("other")
    signals = GitSignals.load(tmp_path)
    assert signals.changed_files() == {"x.py": "conflicted"}


def test_repository_without_commits(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write(repo, {"staged.py": "s", "loose.py": "u"})
    repo.git.add("staged.py")
    signals = GitSignals.load(tmp_path)
    assert signals.available and signals.head is None
    assert signals.changed_files() == {"staged.py": "added", "loose.py": "untracked"}
    assert signals.recent_files() == {} and signals.co_change("staged.py") == {}
    assert signals.errors == []


def test_detached_head(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    first = commit(repo, {"a.py": "1", "b.py": "1"})
    commit(repo, {"a.py": "2", "c.py": "2"})
    repo.git.checkout("-q", "--detach", first)
    write(repo, {"b.py": "dirty"})
    signals = GitSignals.load(tmp_path)
    assert signals.available and signals.head == first
    assert set(signals.recent_files()) == {"a.py", "b.py"}
    assert signals.co_change("a.py") == {"b.py": 1}
    assert signals.changed_files() == {"b.py": "modified"}


def test_root_is_a_subfolder_of_the_repository(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    commit(repo, {"pkg/a.py": "1", "pkg/b.py": "1", "other/c.py": "1"})
    commit(repo, {"pkg/a.py": "2", "other/d.py": "2"})
    for i in range(3):
        commit(repo, {"other/c.py": str(i)})  # these do not touch pkg/
    write(repo, {"pkg/a.py": "3", "other/c.py": "3", "pkg/sub/new.py": "n", "top.py": "t"})
    signals = GitSignals.load(tmp_path / "pkg", recent_commits=2)
    assert signals.available
    assert signals.changed_files() == {"a.py": "modified", "sub/new.py": "untracked"}
    assert set(signals.recent_files()) == {"a.py", "b.py"}  # the last 2 commits touching pkg/
    assert signals.co_change("a.py") == {"b.py": 1}
    assert GitSignals.load(tmp_path / "pkg" / "sub").changed_files() == {"new.py": "untracked"}


def test_submodule(tmp_path: Path) -> None:
    lib = make_repo(tmp_path / "lib")
    commit(lib, {"lib.py": "1", "util.py": "1"})
    repo = make_repo(tmp_path / "main")
    commit(repo, {"app.py": "1"})
    repo.git.execute(["git", "-c", "protocol.file.allow=always", "submodule", "add", "-q",
                      (tmp_path / "lib").as_uri(), "vendor/lib"])
    commit(repo, {"app.py": "2"})  # the commit also records .gitmodules and the gitlink
    write(repo, {"vendor/lib/lib.py": "dirty", "vendor/lib/extra.py": "u", "app.py": "3"})
    signals = GitSignals.load(tmp_path / "main")
    assert signals.available and signals.errors == []
    assert signals.changed_files() == {
        "app.py": "modified",
        "vendor/lib/lib.py": "modified",
        "vendor/lib/extra.py": "untracked",
    }
    assert "vendor/lib" not in signals.recent_files()
    assert signals.co_change("app.py") == {".gitmodules": 1}
    inside = GitSignals.load(tmp_path / "main" / "vendor" / "lib")
    assert inside.available and inside.head == lib.head.commit.hexsha
    assert inside.changed_files() == {"lib.py": "modified", "extra.py": "untracked"}
    assert inside.co_change("lib.py") == {"util.py": 1}


def test_uninitialised_submodule(tmp_path: Path) -> None:
    lib = make_repo(tmp_path / "lib")
    commit(lib, {"lib.py": "1"})
    repo = make_repo(tmp_path / "main")
    repo.git.execute(["git", "-c", "protocol.file.allow=always", "submodule", "add", "-q",
                      (tmp_path / "lib").as_uri(), "vendor/lib"])
    commit(repo, {"app.py": "1"})
    clone = git.Repo.clone_from((tmp_path / "main").as_uri(), tmp_path / "clone")
    assert not any((tmp_path / "clone" / "vendor" / "lib").iterdir())
    signals = GitSignals.load(tmp_path / "clone")
    assert signals.available and signals.errors == [] and signals.changed_files() == {}
    assert signals.head == clone.head.commit.hexsha
    assert set(signals.recent_files()) == {"app.py", ".gitmodules"}


@pytest.mark.parametrize("depth", [1, 2])
def test_shallow_clone(tmp_path: Path, depth: int) -> None:
    origin = make_repo(tmp_path / "origin")
    commit(origin, {"a.py": "1", "b.py": "1"})
    commit(origin, {"a.py": "2", "c.py": "2"})
    commit(origin, {"c.py": "3", "d.py": "3"})
    subprocess.run(["git", "clone", "-q", "--depth", str(depth), (tmp_path / "origin").as_uri(),
                    str(tmp_path / "clone")], check=True)
    signals = GitSignals.load(tmp_path / "clone")
    assert signals.available and signals.errors == []
    assert signals.head == origin.head.commit.hexsha
    # The boundary commit lists its whole tree as added; that is not a change signal.
    expected = {"c.py", "d.py"} if depth == 2 else set()
    assert set(signals.recent_files()) == expected
    assert signals.co_change("a.py") == {}


def test_inherited_git_environment_is_ignored(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """An editor started from a git hook inherits GIT_DIR and GIT_INDEX_FILE."""
    other = make_repo(tmp_path / "other")
    commit(other, {"elsewhere.py": "1"})
    repo = make_repo(tmp_path / "mine")
    commit(repo, {"mine.py": "1"})
    write(repo, {"mine.py": "2"})
    monkeypatch.setenv("GIT_DIR", other.git_dir)
    monkeypatch.setenv("GIT_INDEX_FILE", str(Path(other.git_dir) / "index"))
    monkeypatch.setenv("GIT_WORK_TREE", str(tmp_path / "other"))
    signals = GitSignals.load(tmp_path / "mine")
    assert signals.changed_files() == {"mine.py": "modified"}
    assert set(signals.recent_files()) == {"mine.py"}


def test_git_executable_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commit(make_repo(tmp_path), {"a.py": "1"})
    monkeypatch.setattr(git.Git, "GIT_PYTHON_GIT_EXECUTABLE", str(tmp_path / "no-git"))
    signals = GitSignals.load(tmp_path)
    assert not signals.available and "git executable not found" in signals.reason


def test_gitpython_cannot_find_git_at_import(tmp_path: Path) -> None:
    """Without git on PATH, `import git` itself raises; load must still answer."""
    code = (
        "from autan.indexer.gitinfo import GitSignals\n"
        f"s = GitSignals.load({str(tmp_path)!r})\n"
        "print(s.available, s.reason)\n"
    )
    env = {"PATH": str(tmp_path / "empty"), "GIT_PYTHON_REFRESH": "raise"}
    out = subprocess.run([sys.executable, "-P", "-c", code], env=env, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("False git is not usable")
