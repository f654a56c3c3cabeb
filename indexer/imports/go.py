"""Go: `import "module/sub/pkg"`.

The module path comes from go.mod (every go.mod in the repository, so monorepos with several
modules work) and a package is a folder: the import resolves to that folder's non-test .go
files. Imports no go.mod claims are looked up in vendor/ folders above the importing file.
"""

from __future__ import annotations

import posixpath
import re

from autan.indexer.imports.common import RepoFiles, ancestors, is_within, join
from autan.indexer.types import ImportRef

_GO_MODULE = re.compile(r'^\s*module\s+"?([^\s"]+)"?', re.M)


def resolve(ctx: RepoFiles, path: str, ref: ImportRef) -> list[str]:
    """`module/sub/pkg` -> the package's non-test .go files; the module path comes from
    go.mod (the nearest module wins when two declare the same path)."""
    spec = ref.module.strip().strip("/")
    matches = [(mod, folder) for mod, folder in go_modules(ctx)
               if spec == mod or spec.startswith(mod + "/")]
    if matches:
        longest = len(matches[0][0])
        near = [m for m in matches if len(m[0]) == longest and is_within(path, m[1])]
        mod, folder = (near or matches)[0]
        return _package(ctx, join(folder, spec[len(mod):].strip("/")))
    for folder in ancestors(posixpath.dirname(path)):  # vendored dependencies
        found = _package(ctx, join(folder, "vendor", spec))
        if found:
            return found
    return []


def go_modules(ctx: RepoFiles) -> list[tuple[str, str]]:
    """(module path, folder) of every readable go.mod, longest module path first."""
    return ctx.settings("go.mod", lambda: _read_go_mods(ctx))


def _read_go_mods(ctx: RepoFiles) -> list[tuple[str, str]]:
    """Read every go.mod's `module` line (see `go_modules`)."""
    found = []
    for gomod in (p for p in ctx.files if posixpath.basename(p) == "go.mod"):
        match = _GO_MODULE.search(ctx.read_text(gomod) or "")
        if match:
            found.append((match.group(1), posixpath.dirname(gomod)))
    found.sort(key=lambda item: (-len(item[0]), item[1]))
    return found


def _package(ctx: RepoFiles, folder: str) -> list[str]:
    """A Go package is a folder: its .go files, without tests."""
    return [p for p in ctx.dir_files(folder) if p.endswith(".go") and not p.endswith("_test.go")]
