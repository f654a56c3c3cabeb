"""The repository index: every indexable file's symbols, the import graph, and git signals.

`RepoIndex.open(root)` loads the stored index, re-parses only the files whose size, mtime or
content changed since, drops deleted files, and saves. Editor buffers override files on disk
(`update_buffer`); files changed on disk outside the editor are re-read by `refresh_paths`.
Text that leaves the index (`text_of`) has secrets redacted, and files that are secrets are
never read at all.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Tree

from autan.indexer import store
from autan.indexer.files import (
    Candidate,
    FileOptions,
    Reason,
    classify_path,
    discover_files,
    is_rules_file,
    read_text,
    relative_path,
)
from autan.indexer.gitinfo import GitSignals
from autan.indexer.imports import ImportGraph, ImportResolver, shapes_resolution
from autan.indexer.languages import language_for
from autan.indexer.lexical import Window, terms, windows
from autan.indexer.parse import TextEdit, parse_source, parse_tree, reparse
from autan.indexer.secrets import is_secret_file, redact_secrets
from autan.indexer.types import Definition, FileRecord, FileSymbols

Progress = Callable[[int, int, str], None]  # (done, total, message)
TEXT_CACHE_FILES = 4096  # redacted texts kept in memory (redaction costs ~3 ms a file)
_WORD = re.compile(r"\w+")


@dataclass
class IndexStats:
    files: int = 0
    parsed: int = 0  # files (re-)parsed by this open/update
    reused: int = 0  # files whose stored record was still valid
    definitions: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: int = 0
    store_note: str | None = None


def sha1_bytes(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def index_text(path: str, text: str, size: int, mtime_ns: int, sha1: str,
               tree: Tree | None = None) -> FileRecord:
    """A record for one file's (already redacted) text; plain text gets its words as terms.
    `tree` is the text's tree when an incremental re-parse already made it."""
    language = language_for(path)
    errors: list[str] = []
    if language is not None:
        symbols, errors = parse_source(text, language, tree)
    else:
        symbols = FileSymbols(language="text", identifiers=list(dict.fromkeys(terms(text))))
    return FileRecord(path=path, size=size, mtime_ns=mtime_ns, sha1=sha1, language=language,
                      symbols=symbols, line_count=text.count("\n") + 1, errors=errors)


def index_file(root: Path, cand: Candidate) -> FileRecord | None:
    """Read, redact and parse one file (None if it vanished or cannot be read)."""
    try:
        data = (root / cand.path).read_bytes()
    except OSError:
        return None
    text, _note = read_text(root / cand.path)
    if text is None:
        return None
    return index_text(cand.path, redact_secrets(text)[0], cand.size, cand.mtime_ns,
                      sha1_bytes(data))


class RepoIndex:
    def __init__(self, root: Path, options: FileOptions | None = None) -> None:
        self.root = root.resolve()
        self.options = options
        self.records: dict[str, FileRecord] = {}
        self.buffers: dict[str, str] = {}  # repository path -> unsaved editor text (redacted)
        self.graph = ImportGraph()
        self.resolver = ImportResolver((), self.root)
        self.definitions: dict[str, list[tuple[str, Definition]]] = {}
        self._git: GitSignals | None = None
        # path -> (sha1, text) and path -> (sha1, terms), valid while the content is unchanged
        self._texts: OrderedDict[str, tuple[str, str | None]] = OrderedDict()
        self._terms: dict[str, tuple[str, frozenset[str]]] = {}
        self._raw: dict[str, tuple[str, Tree | None]] = {}  # open buffers' text and tree
        self._windows: dict[str, tuple[str, list[Window]]] = {}
        self.cache_dir: Path | None = None  # where the store lives; None: the user's cache

    @classmethod
    def open(cls, root: str | Path, progress: Progress | None = None,
             options: FileOptions | None = None, persist: bool = True,
             cache_dir: Path | None = None) -> tuple[RepoIndex, IndexStats]:
        """Index `root`, reusing and then updating its stored index in `cache_dir` (default:
        the user's cache; `persist=False`: neither read nor written)."""
        index = cls(Path(root), options)
        index.cache_dir = cache_dir
        stats = index.refresh(progress, persist)
        return index, stats

    @property
    def git(self) -> GitSignals:
        if self._git is None:
            self._git = GitSignals.load(self.root)
        return self._git

    def refresh(self, progress: Progress | None = None, persist: bool = True) -> IndexStats:
        """Bring the index up to date with the files on disk."""
        start = time.perf_counter()
        stats = IndexStats()
        stored, stats.store_note = (store.load(self.root, self.cache_dir) if persist
                                    else ({}, None))
        known = {**stored, **self.records}  # what is in memory is newer than the store
        candidates, skipped = discover_files(self.root, self.options)
        stats.skipped = len(skipped)
        records: dict[str, FileRecord] = {}
        changed: list[Candidate] = []
        for cand in candidates:
            if cand.path in self.buffers:  # an open buffer wins: its record is kept below
                continue
            old = self._still_valid(cand, known.get(cand.path))
            if old is not None:
                stats.reused += 1
                records[cand.path] = old
            else:
                changed.append(cand)
        for i, record in enumerate(index_file(self.root, c) for c in changed):
            if progress is not None and (i % 50 == 0 or i == len(changed) - 1):
                progress(i + 1, len(changed), record.path if record else "")
            if record is not None:
                stats.parsed += 1
                records[record.path] = record
        if progress is not None and not changed:
            progress(1, 1, "")
        records.update((p, self.records[p]) for p in self.buffers if p in self.records)
        self.records = dict(sorted(records.items()))
        self._rebuild_derived()
        self._git = None
        if persist:
            store.save(self.root, self.records, self.cache_dir)
        return self._finish_stats(stats, start)

    def _still_valid(self, cand: Candidate, old: FileRecord | None) -> FileRecord | None:
        """The stored record if the file is unchanged (same size and mtime, or same hash)."""
        if old is None:
            return None
        if old.size == cand.size and old.mtime_ns == cand.mtime_ns:
            return old
        try:
            digest = sha1_bytes((self.root / cand.path).read_bytes())
        except OSError:
            return None
        if old.sha1 != digest:
            return None
        old.size, old.mtime_ns = cand.size, cand.mtime_ns  # touched, not changed
        return old

    def _rebuild_derived(self) -> None:
        self.definitions = {}
        for record in self.records.values():
            self._add_definitions(record)
        self.resolver = ImportResolver(self.records, self.root)
        for record in self.records.values():
            record.resolved_imports = self._resolve(record)
        self.graph = ImportGraph()
        self.graph.build({p: r.resolved_imports for p, r in self.records.items()})

    def _resolve(self, record: FileRecord) -> list[str]:
        if record.language is None or record.symbols is None:
            return []
        return self.resolver.resolve(record.path, record.language, record.symbols.imports)

    def _add_definitions(self, record: FileRecord) -> None:
        if record.symbols is None:
            return
        for d in record.symbols.definitions:
            self.definitions.setdefault(d.name, []).append((record.path, d))

    def _remove_definitions(self, path: str) -> None:
        """Drop `path`'s entries; only its record's names need a look (every keystroke in a
        buffer comes here, and a large repository has ~100K names)."""
        record = self.records.get(path)
        if record is None or record.symbols is None:
            names = list(self.definitions) if record is None else []
        else:
            names = list(dict.fromkeys(d.name for d in record.symbols.definitions))
        for name in names:
            kept = [e for e in self.definitions.get(name, ()) if e[0] != path]
            if kept:
                self.definitions[name] = kept
            else:
                self.definitions.pop(name, None)

    def _finish_stats(self, stats: IndexStats, start: float) -> IndexStats:
        stats.files = len(self.records)
        stats.definitions = sum(len(v) for v in self.definitions.values())
        for r in self.records.values():
            lang = r.language or "text"
            stats.languages[lang] = stats.languages.get(lang, 0) + 1
        stats.seconds = time.perf_counter() - start
        return stats

    def relpath(self, path: str | Path) -> str:
        """Repository-relative '/' path for an absolute or relative path."""
        p = Path(path)
        if p.is_absolute():
            p = p.resolve().relative_to(self.root)
        return p.as_posix()

    def update_buffer(self, path: str | Path, text: str | None = None,
                      edits: Sequence[TextEdit] = ()) -> FileRecord | None:
        """Index an unsaved editor buffer in place of the file on disk: its whole `text`, or
        `edits` to the text last given (re-parsed incrementally by tree-sitter). Given both,
        `text` is what the edits must make: when they make something else (edits to a text
        this index was never given), `text` is parsed whole."""
        rel = self.relpath(path)
        if is_secret_file(rel):
            return None
        language = language_for(rel)
        previous = self._raw.get(rel)
        current = self.records.get(rel)
        if (text is not None and previous is not None and previous[0] == text
                and current is not None
                and current.sha1 == sha1_bytes(text.encode("utf-8", "surrogatepass"))):
            return current  # unchanged since the last request: nothing to re-parse
        tree = None
        if edits and previous is not None and language is not None:
            edited, tree = previous
            for edit in edits:
                edited, tree = reparse(edited, tree, edit, language)
            if text is None or edited == text:
                text = edited
            else:
                tree = None  # the edits were made to another text: they say nothing here
        if text is None:
            raise ValueError("update_buffer needs the text, or edits to a known buffer")
        clean = redact_secrets(text)[0]
        if language is not None and tree is None:
            tree = parse_tree(text, language)
        self._raw[rel] = (text, tree)
        self.buffers[rel] = clean
        data = text.encode("utf-8", "surrogatepass")
        # The tree is the raw text's: usable only when redaction changed nothing.
        reuse = tree if clean == text else None
        record = index_text(rel, clean, len(data), time.time_ns(), sha1_bytes(data), reuse)
        self._replace_record(record)
        return record

    def close_buffer(self, path: str | Path) -> None:
        """Forget an editor buffer: the file on disk counts again (or, when the buffer was
        never saved, or is ignored, nothing does)."""
        rel = self.relpath(path)
        self.buffers.pop(rel, None)
        self._raw.pop(rel, None)
        self.refresh_paths([rel])

    def refresh_paths(self, paths: Iterable[str | Path]) -> list[str]:
        """Re-read paths that changed on disk outside the editor (a file watcher's report,
        repository-relative or absolute); return the paths whose record changed, sorted.

        Each path is classified as discover_files would, then re-indexed if its size, mtime
        and hash changed, or dropped if it is now skipped or gone. An open buffer wins over
        the disk (close_buffer re-reads it). A folder, a deleted folder holding indexed
        files, or an ignore file can change what is indexed anywhere below it, so those fall
        back to a whole (incremental) `refresh`. The store is not rewritten: the next `open`
        re-checks every file's size and mtime anyway, and a burst of changes (a checkout)
        should not cost one write of the whole index per batch.
        """
        self._git = None  # a checkout, commit or edit changes the git signals as well
        rels = [rel for rel in map(self._watched_rel, paths) if rel is not None]
        if any(self._needs_full_refresh(rel) for rel in rels):
            return self._refresh_all()
        changed: dict[str, str] = {}  # path -> "added" | "updated" | "removed"
        for rel in dict.fromkeys(rels):
            if rel not in self.buffers and (outcome := self._refresh_one(rel)) is not None:
                changed[rel] = outcome
        self._reresolve(changed)
        return sorted(changed)

    def _watched_rel(self, path: str | Path) -> str | None:
        """The repository path, or None for a path outside the repository."""
        try:
            return relative_path(self.root, path)
        except ValueError:
            return None

    def _needs_full_refresh(self, rel: str) -> bool:
        """Whether `rel` can change what is indexed beyond itself (see refresh_paths)."""
        if rel == "" or is_rules_file(self.root, rel):
            return True
        try:
            mode = os.lstat(self.root / rel).st_mode
        except OSError:  # gone: a deleted folder still has records under it
            return any(p.startswith(rel + "/") for p in self.records)
        if not stat.S_ISDIR(mode):
            return False
        # Only a folder the walk enters: folders under .git or node_modules change often.
        return classify_path(self.root, rel, self.options).reason == Reason.FOLDER

    def _refresh_all(self) -> list[str]:
        before = dict(self.records)
        self.refresh(persist=False)
        return sorted(p for p in before.keys() | self.records.keys()
                      if before.get(p) is not self.records.get(p))

    def _refresh_one(self, rel: str) -> str | None:
        """Bring one file's record up to date: "added", "updated", "removed" or None."""
        verdict = classify_path(self.root, rel, self.options)
        old = self.records.get(rel)
        if isinstance(verdict, Candidate):
            if self._still_valid(verdict, old) is not None:
                return None
            record = index_file(self.root, verdict)
            if record is not None:
                self._replace_record(record)
                return "added" if old is None else "updated"
        if old is None:
            return None
        self._remove_record(rel)
        return "removed"

    def _reresolve(self, changed: dict[str, str]) -> None:
        """Re-resolve the imports that an added or removed file can change: those of the
        removed files' importers and of files whose imports name an added one (or all, when
        a project file such as go.mod changed)."""
        added = [p for p, how in changed.items() if how == "added"]
        removed = [p for p, how in changed.items() if how == "removed"]
        if any(shapes_resolution(p) for p in changed):
            stale = set(self.records)
        else:
            stale = {i for p in removed for i in self.graph.importers_of(p)}
            stale |= self._may_import(added)
        for path in sorted(stale):
            if (record := self.records.get(path)) is not None:
                record.resolved_imports = self._resolve(record)
                self.graph.update(path, record.resolved_imports)

    def _may_import(self, added: list[str]) -> set[str]:
        """Files with an import naming an added file's stem or folder (a loose, cheap
        filter: re-resolving a file too many costs only time)."""
        words: set[str] = set()
        for path in added:
            words.update(_WORD.findall(posixpath.splitext(posixpath.basename(path))[0]))
            words.update(_WORD.findall(posixpath.basename(posixpath.dirname(path))))
        if not words:
            return set()
        return {path for path, record in self.records.items() if record.symbols is not None
                and any(words.intersection(_WORD.findall(" ".join([ref.module, *ref.names])))
                        for ref in record.symbols.imports)}

    def _replace_record(self, record: FileRecord) -> None:
        self._remove_definitions(record.path)
        self.resolver.add_file(record.path)
        record.resolved_imports = self._resolve(record)
        self.records[record.path] = record
        self._add_definitions(record)
        self.graph.update(record.path, record.resolved_imports)

    def _remove_record(self, path: str) -> None:
        """Forget a file: its record, definitions, resolver entry, outgoing import edges and
        cached texts (its importers keep their edges until `_reresolve`)."""
        self._remove_definitions(path)
        self.records.pop(path, None)
        self.resolver.remove_file(path)
        self.graph.remove(path)
        self._texts.pop(path, None)
        self._terms.pop(path, None)
        self._windows.pop(path, None)

    def cached_text(self, path: str) -> str | None:
        """`text_of`, remembered while the file's content hash stays the same (bounded)."""
        record = self.records.get(path)
        key = record.sha1 if record is not None else ""
        hit = self._texts.get(path)
        if hit is not None and hit[0] == key:
            self._texts.move_to_end(path)
            return hit[1]
        text = self.text_of(path)
        self._texts[path] = (key, text)
        if len(self._texts) > TEXT_CACHE_FILES:
            self._texts.popitem(last=False)
        return text

    def windows(self, path: str) -> list[Window]:
        """The file's BM25 windows, remembered while its content hash stays the same."""
        record = self.records.get(path)
        key = record.sha1 if record is not None else ""
        hit = self._windows.get(path)
        if hit is None or hit[0] != key:
            text = self.cached_text(path)
            hit = (key, windows(path, text) if text else [])
            self._windows[path] = hit
            if len(self._windows) > TEXT_CACHE_FILES:
                self._windows.pop(next(iter(self._windows)))
        return hit[1]

    def term_set(self, path: str) -> frozenset[str]:
        """The lexical terms of a file's identifiers (lower-cased, camel/snake parts)."""
        record = self.records.get(path)
        if record is None or record.symbols is None:
            return frozenset()
        hit = self._terms.get(path)
        if hit is None or hit[0] != record.sha1:
            hit = (record.sha1, frozenset(terms(" ".join(record.symbols.identifiers))))
            self._terms[path] = hit
        return hit[1]

    def text_of(self, path: str) -> str | None:
        """A file's text as it may be shown to a model: the editor buffer if open, secrets
        redacted; None for secret files and files that cannot be read."""
        if path in self.buffers:
            return self.buffers[path]
        if is_secret_file(path):
            return None
        try:
            text, _ = read_text(self.root / path)
        except OSError:  # deleted or unreadable since it was indexed
            return None
        return None if text is None else redact_secrets(text)[0]
