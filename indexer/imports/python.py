"""Python: `import a.b`, `from a.b import c` and relative `from ..a import b`.

A module is a.b -> a/b.py or the package a/b/__init__.py (stubs last). Absolute imports are
tried from the importing file's own sys.path root, the repository root and the usual source
folders; relative ones count folders up from the importing file.
"""

from __future__ import annotations

import posixpath

from autan.indexer.imports.common import RepoFiles, ancestors, join, up
from autan.indexer.types import ImportRef

PYTHON_SOURCE_ROOTS = ("", "src", "lib", "python")


def resolve(ctx: RepoFiles, path: str, ref: ImportRef) -> list[str]:
    """`import a.b`, `from a.b import c`, `from ..a import b`."""
    module = ref.module.strip()
    level = ref.relative_level or len(module) - len(module.lstrip("."))
    parts = [p for p in module.lstrip(".").split(".") if p]
    names = [n.split(" as ")[0].strip() for n in ref.names if n.strip() not in ("*", "")]
    if level:
        base = up(posixpath.dirname(path), level - 1)
        return [] if base is None else _from(ctx, base, parts, names)
    for root in _roots(ctx, path):
        found = _from(ctx, root, parts, names)
        if found:
            return found
    # Packages installed under another name than their folder (a `package-dir` mapping such
    # as autan.model -> model/): drop leading package names until the rest is found.
    for cut in range(1, len(parts)):
        found = _from(ctx, "", parts[cut:], names)
        if found:
            return found
    return []


def _from(ctx: RepoFiles, base: str, parts: list[str], names: list[str]) -> list[str]:
    """The module `parts` under `base`, plus listed names that are submodules; the module
    itself is left out when every listed name is a submodule (an empty __init__.py)."""
    target = join(base, *parts)
    module = _module(ctx, target) if parts else ctx.first([join(base, "__init__.py")])
    subs = [_module(ctx, join(target, name.replace(".", "/"))) for name in names]
    found = [s for s in subs if s is not None]
    if module is not None and (not names or len(found) < len(names)):
        found.insert(0, module)
    return found


def _module(ctx: RepoFiles, target: str) -> str | None:
    """`a/b` -> a/b.py or the package a/b/__init__.py (stubs last)."""
    return ctx.first([target + ".py", target + "/__init__.py", target + ".pyi",
                      target + "/__init__.pyi"])


def _roots(ctx: RepoFiles, path: str) -> list[str]:
    """Folders an absolute import may start from: the importing file's own root (its
    nearest ancestor that is not a package, where `python -m` or pytest would put
    sys.path), the repository root, and the common source folders."""
    own = ""
    for folder in ancestors(posixpath.dirname(path)):
        if join(folder, "__init__.py") not in ctx.files:
            own = folder
            break
    return list(dict.fromkeys([own, *PYTHON_SOURCE_ROOTS]))
