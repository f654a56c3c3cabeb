"""Java and Kotlin: `import com.x.Y`, `import com.x.*` and `import static com.x.Y.m`.

Source roots are not configured anywhere the resolver reads, so a class resolves to any file
whose path ends with com/x/Y.java (or .kt), the one nearest the importing file winning; a
wildcard resolves to the source files of the nearest folder ending with com/x.
"""

from __future__ import annotations

from autan.indexer.imports.common import RepoFiles, nearest
from autan.indexer.types import ImportRef


def resolve(ctx: RepoFiles, path: str, ref: ImportRef) -> list[str]:
    """`com.x.Y` -> **/com/x/Y.java; `com.x.*` -> the package folder; static imports and
    nested classes drop trailing segments until a class file matches."""
    exts = (".kt", ".java") if path.endswith((".kt", ".kts")) else (".java", ".kt")
    spec = ref.module.strip().removesuffix(";").strip().removeprefix("static ").strip()
    segs = [s for s in spec.split(".") if s]
    wildcard = segs[-1:] == ["*"] or "*" in ref.names  # the parser lists "*" as a name
    segs = [s for s in segs if s != "*"]
    if wildcard:
        found = _package(ctx, path, "/".join(segs), exts)
        if found:
            return found
    while len(segs) >= 2:
        for ext in exts:
            found = nearest(path, ctx.by_suffix("/".join(segs) + ext))
            if found:
                return [found]
        segs.pop()
    return []


def _package(ctx: RepoFiles, path: str, package_dir: str, exts: tuple[str, ...]) -> list[str]:
    """All source files of a package: the matching folder nearest the importing file."""
    if not package_dir:
        return []
    best = nearest(path, ctx.folders_ending(package_dir))
    return [] if best is None else [p for p in ctx.dir_files(best) if p.endswith(exts)]
