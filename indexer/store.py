"""The index on disk: one msgpack file per repository under the user cache folder.

Written atomically (a temporary file, then a rename), so a crash leaves the previous index.
A file that is missing, truncated, corrupt or of another format version is rebuilt, never
an error: the index is a cache of what the repository says.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

import msgpack

from autan.indexer.types import Definition, FileRecord, FileSymbols, ImportRef

FORMAT_VERSION = 1


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "autan" / "index"


def store_path(root: Path, cache_dir: Path | None = None) -> Path:
    """The index file of the repository at `root` (keyed by its resolved path), in
    `cache_dir` (default: the user's cache, `cache_root()`)."""
    key = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]
    return (cache_dir or cache_root()) / f"{root.resolve().name}-{key}.msgpack"


def record_from_dict(d: dict) -> FileRecord:
    sym = d.get("symbols")
    symbols = None
    if sym is not None:
        symbols = FileSymbols(
            language=sym["language"],
            definitions=[Definition(**x) for x in sym["definitions"]],
            identifiers=list(sym["identifiers"]),
            imports=[ImportRef(**x) for x in sym["imports"]],
        )
    return FileRecord(**{**d, "symbols": symbols})


def save(root: Path, records: dict[str, FileRecord], cache_dir: Path | None = None) -> Path:
    """Write the index for `root`; returns the file written."""
    path = store_path(root, cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"version": FORMAT_VERSION, "root": str(root.resolve()),
               "records": [asdict(r) for r in records.values()]}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            msgpack.pack(payload, f, use_bin_type=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(root: Path, cache_dir: Path | None = None) -> tuple[dict[str, FileRecord], str | None]:
    """The stored records for `root`, or ({}, why not) when there is no usable index."""
    path = store_path(root, cache_dir)
    try:
        payload = msgpack.unpackb(path.read_bytes(), raw=False, strict_map_key=False)
    except FileNotFoundError:
        return {}, "no index yet"
    except (OSError, ValueError, msgpack.UnpackException) as err:
        return {}, f"unreadable index ({type(err).__name__}); rebuilding"
    if not isinstance(payload, dict) or payload.get("version") != FORMAT_VERSION:
        return {}, "index of another format version; rebuilding"
    try:
        records = [record_from_dict(d) for d in payload["records"]]
    except (KeyError, TypeError) as err:
        return {}, f"malformed index ({err}); rebuilding"
    return {r.path: r for r in records}, None
