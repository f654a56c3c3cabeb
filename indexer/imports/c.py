"""C, C++, Objective-C and CUDA: `#include "x.h"` and `#include <x.h>`.

A quoted include is looked up next to the including file first; both forms then try, in
each folder up the tree, its include/, itself and its src/, and last any repository file
whose path ends with the include (the nearest one). A system header is usually not found
and is then left out.
"""

from __future__ import annotations

import posixpath

from autan.indexer.imports.common import RepoFiles, ancestors, join, nearest, normalize
from autan.indexer.types import ImportRef


def resolve(ctx: RepoFiles, path: str, ref: ImportRef) -> list[str]:
    """`#include "x.h"`: next to the file, then include/ folders up the tree, then any
    file whose path ends with the include (the nearest one)."""
    raw = ref.module.strip()
    spec = raw.strip('"<>').strip()
    if not spec or spec.startswith("/"):
        return []
    folder = posixpath.dirname(path)
    candidates = [] if raw.startswith("<") else [posixpath.join(folder, spec)]
    for above in ancestors(folder):
        candidates += [join(above, "include", spec), join(above, spec), join(above, "src", spec)]
    found = ctx.first(candidates) or nearest(path, ctx.by_suffix(normalize(spec) or spec))
    return [found] if found else []
