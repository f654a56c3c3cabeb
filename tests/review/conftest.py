"""The official SARIF 2.1.0 schema, for validating `autan review --format sarif`.

The schema is not on PyPI. Microsoft's npm package `@microsoft/jest-sarif` ships it
(`lib/schemas/sarif-2.1.0-rtm.5.json`, the final 2.1.0 schema): `npm pack` fetches the
tarball, verified against the registry's integrity hash, into the cache once; only that file
is kept. It is never committed here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest

PACKAGE = "@microsoft/jest-sarif@1.0.0-beta.0"
MEMBER = "package/lib/schemas/sarif-2.1.0-rtm.5.json"
NPM_TIMEOUT_S = 300


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "autan" / "sarif-schema"


def fetch_schema(target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not on PATH: it fetches the official SARIF schema "
                    f"({PACKAGE}) for the review tests; install Node 20+ with npm")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", PACKAGE, "--silent", "--pack-destination", tmp],
                       check=True, capture_output=True, timeout=NPM_TIMEOUT_S)
        [tarball] = Path(tmp).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            data = archive.extractfile(MEMBER).read()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    partial.replace(target)


@pytest.fixture(scope="session")
def sarif_schema() -> dict[str, Any]:
    path = cache_dir() / "sarif-2.1.0-rtm.5.json"
    if not path.is_file():
        fetch_schema(path)
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"].startswith("http://json-schema.org/draft-04/schema")
    assert schema["properties"]["version"]["enum"] == ["2.1.0"], "not the SARIF 2.1.0 schema"
    return schema
