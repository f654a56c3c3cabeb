"""Rust: `mod x;` and `use` paths (`crate::`, `super::`, `self::`, `{a, b}` groups, other
workspace crates).

A path resolves to the file of the deepest module along it (a/b.rs or a/b/mod.rs); the rest
are items inside it. `crate::` starts at the src folder of the nearest Cargo.toml, and crate
names come from the workspace's Cargo.toml files. An unanchored path that names no module
here is an external crate, left out.
"""

from __future__ import annotations

import posixpath
import re

from autan.indexer.imports.common import RepoFiles, ancestors, join
from autan.indexer.types import ImportRef

_DIR_OWNERS = {"mod.rs", "lib.rs", "main.rs", "build.rs"}
_ROOT_DIRS = {"bin", "examples", "tests", "benches"}
_CARGO_NAME = re.compile(r'^\[package\][^\[]*?^\s*name\s*=\s*"([^"]+)"', re.M | re.S)


def resolve(ctx: RepoFiles, path: str, ref: ImportRef) -> list[str]:
    """`mod x;`, `use crate::a::b::C`, `use super::x`, `use self::x`, `use other_crate::x`;
    a `{a, b}` group or listed names resolve as one path each."""
    spec = ref.module.strip().removesuffix(";").strip()
    for keyword in ("pub ", "mod ", "use "):
        spec = spec.removeprefix(keyword).strip()
    paths = _expand(spec)
    names = [n for n in ref.names if n.strip()]
    if names and "{" not in spec:
        paths = [f"{spec}::{name}" for name in names]
    found: list[str] = []
    for use_path in paths:
        found += _use_path(ctx, path, use_path.split(" as ")[0].strip())
    return found


def _use_path(ctx: RepoFiles, path: str, use_path: str) -> list[str]:
    """One use path -> the file of the deepest module along it (the rest are items)."""
    segs = [s for s in use_path.split("::") if s.strip()]
    while segs and segs[-1] in ("*", "self"):
        segs.pop()
    if not segs or use_path.startswith("::"):
        return []
    if segs[0] == "crate":
        return _walk(ctx, _crate_src(ctx, path), segs[1:], anchored=True)
    base = _mod_dir(path)
    if segs[0] in ("self", "super"):
        while segs and segs[0] in ("self", "super"):
            base = posixpath.dirname(base) if segs.pop(0) == "super" else base
        return _walk(ctx, base, segs, anchored=True)
    found = _walk(ctx, base, segs)  # a child module of this one (or `mod x;`)
    crate = rust_crates(ctx).get(segs[0])
    if not found and crate is not None:
        found = _walk(ctx, crate, segs[1:], anchored=True)
    return found


def _expand(tree: str) -> list[str]:
    """`a::{b::{C, D}, e as f}` -> ['a::b::C', 'a::b::D', 'a::e as f']."""
    start = tree.find("{")
    if start < 0:
        return [tree]
    depth, parts, current = 0, [], ""
    for char in tree[start + 1:]:
        if char == "}" and depth == 0:
            break
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    head = tree[:start]
    return [head + leaf for part in parts if part.strip() for leaf in _expand(part.strip())]


def _walk(ctx: RepoFiles, base: str, segs: list[str], anchored: bool = False) -> list[str]:
    """The deepest module file along `segs` under `base`. When none matches, an anchored
    path (crate::, super::, self::, a crate name) names an item of `base`'s own module;
    an unanchored one is most likely an external crate."""
    for k in range(len(segs), 0, -1):
        module = _module_file(ctx, join(base, *segs[:k]))
        if module is not None:
            return [module]
    if segs and not anchored:
        return []
    found = ctx.first([base + ".rs", join(base, "mod.rs"), join(base, "lib.rs"),
                       join(base, "main.rs")])
    return [found] if found else []


def _module_file(ctx: RepoFiles, target: str) -> str | None:
    """Module `a/b` is a/b.rs or a/b/mod.rs."""
    return ctx.first([target + ".rs", join(target, "mod.rs")])


def _mod_dir(path: str) -> str:
    """Where the child modules of `path`'s module live: next to mod.rs, lib.rs, main.rs
    and other crate roots; in a folder named after any other file."""
    folder, name = posixpath.split(path)
    if name in _DIR_OWNERS or posixpath.basename(folder) in _ROOT_DIRS:
        return folder
    return posixpath.splitext(path)[0]


def _crate_src(ctx: RepoFiles, path: str) -> str:
    """`crate::` starts at the src folder of the nearest Cargo.toml above the file."""
    folders = ancestors(posixpath.dirname(path))
    for folder in folders:
        if join(folder, "Cargo.toml") in ctx.files:
            return join(folder, "src")
    for folder in folders:
        if posixpath.basename(folder) == "src":
            return folder
    return posixpath.dirname(path)


def rust_crates(ctx: RepoFiles) -> dict[str, str]:
    """Crate name (as `use` writes it) -> its src folder, for workspace members."""
    return ctx.settings("Cargo.toml", lambda: _read_crates(ctx))


def _read_crates(ctx: RepoFiles) -> dict[str, str]:
    """Read every Cargo.toml's package name (see `rust_crates`)."""
    crates: dict[str, str] = {}
    for manifest in sorted(p for p in ctx.files if posixpath.basename(p) == "Cargo.toml"):
        folder = posixpath.dirname(manifest)
        match = _CARGO_NAME.search(ctx.read_text(manifest) or "")
        name = match.group(1) if match else posixpath.basename(folder)
        if name:
            crates.setdefault(name.replace("-", "_"), join(folder, "src"))
    return crates
