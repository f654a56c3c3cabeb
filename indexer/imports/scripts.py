"""Ruby, Lua, PHP and shell: `require_relative`/`require`, `require("a.b")`,
`require`/`include`/`use`, and `source`/`.`.

These share one rule, with a table of per-language extensions, load folders and separator:
a `./` or `../` path is relative to the file; anything else is looked up from the
repository's load folders (and, for PHP and shell, next to the file too). A PHP namespace
that names no file directly falls back to the nearest file ending with its trailing parts,
which is where a PSR-4 autoloader would map it.
"""

from __future__ import annotations

import posixpath
import re

from autan.indexer.imports.common import RepoFiles, join, nearest
from autan.indexer.types import ImportRef

# language -> (extensions to try, load folders, the separator the language writes)
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "ruby": (("", ".rb"), ("lib", ""), "/"),
    "lua": ((".lua", "/init.lua"), ("", "lua", "src"), "."),
    "php": (("", ".php"), ("",), "\\"),
    "bash": (("", ".sh"), ("",), "/"),
}


def resolve(ctx: RepoFiles, path: str, ref: ImportRef, language: str) -> list[str]:
    """Ruby `require_relative`/`require`, Lua `require("a.b")`, PHP `require`/`use`, shell
    `source`: a path relative to the file, else from the repository's load folders."""
    exts, roots, sep = RULES[language]
    spec = ref.module.strip()
    folder = posixpath.dirname(path)
    if spec.startswith(("./", "../")):
        bases = [posixpath.join(folder, spec)]
    else:
        spec = re.sub(r"^\$\{?\w+\}?/", "", spec).replace(sep, "/")  # "$DIR/x.sh" -> x.sh
        bases = [posixpath.join(folder, spec)] if language in ("bash", "php") else []
        bases += [join(root, spec) for root in roots]
    found = ctx.first(base + ext for base in bases for ext in exts)
    if found is None and sep == "\\":  # a PHP namespace: PSR-4 maps its prefix to a folder
        parts = spec.split("/")
        candidates = ["/".join(parts[k:]) + ".php" for k in range(len(parts) - 1)]
        found = next((n for c in candidates if (n := nearest(path, ctx.by_suffix(c)))), None)
    return [found] if found else []
