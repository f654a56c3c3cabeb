"""Resolve import statements to repository files, and keep the import graph both ways.

The context builder puts a file's imports (and, with decay, their imports and the files
that import it) into the prompt, so resolution favours precision: an import that cannot be
tied to a repository file (the standard library, a third-party package, a macro-generated
module) is left out rather than guessed.

Resolution works on the set of repository paths; only Go's `go.mod`, tsconfig/jsconfig
`paths` and Cargo crate names need file contents, read through `root` or `read_text`.
Nothing here raises on bad input: an import that makes resolution fail is skipped and,
when an `errors` list is given, described there.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

from autan.indexer.types import ImportRef

ReadText = Callable[[str], "str | None"]

LANGUAGE_ALIASES = {
    "python": "python", "py": "python",
    "javascript": "javascript", "js": "javascript", "jsx": "javascript",
    "typescript": "typescript", "ts": "typescript", "tsx": "typescript",
    "go": "go", "rust": "rust", "java": "java", "kotlin": "kotlin",
    "c": "c", "cpp": "c", "c++": "c", "objc": "c", "cuda": "c",
    "ruby": "ruby", "lua": "lua", "php": "php", "bash": "bash", "sh": "bash",
}
PYTHON_SOURCE_ROOTS = ("", "src", "lib", "python")
_TS_EXTS = (".ts", ".tsx", ".d.ts", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
_JS_EXTS = (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".d.ts", ".mts", ".cts")
# ESM TypeScript writes the emitted name: `import "./x.js"` means x.ts.
_TS_FOR_JS = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}
_RUST_DIR_OWNERS = {"mod.rs", "lib.rs", "main.rs", "build.rs"}
_RUST_ROOT_DIRS = {"bin", "examples", "tests", "benches"}
_JSON_COMMENT = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.S)
_JSON_TRAILING_COMMA = re.compile(r'"(?:\\.|[^"\\])*"|,(?=\s*[}\]])')
_GO_MODULE = re.compile(r'^\s*module\s+"?([^\s"]+)"?', re.M)
_CARGO_NAME = re.compile(r'^\[package\][^\[]*?^\s*name\s*=\s*"([^"]+)"', re.M | re.S)


def resolve_imports(
    path: str,
    language: str,
    imports: list[ImportRef],
    files: set[str],
    *,
    root: Path | str | None = None,
    errors: list[str] | None = None,
) -> list[str]:
    """Repository files that `path`'s imports refer to, in import order, without repeats.

    A one-off convenience: indexes over `files` are built per call, so bulk indexing
    should keep one `ImportResolver`. `root` lets Go read go.mod and TS read tsconfig."""
    return ImportResolver(files, root=root).resolve(path, language, imports, errors)


@dataclass
class _TsConfig:
    """The part of a tsconfig/jsconfig that maps bare specifiers to files."""

    base_url: str | None  # repository-relative folder, when baseUrl is set
    paths: dict[str, list[str]]
    paths_dir: str  # folder the `paths` targets are relative to


def shapes_resolution(path: str) -> bool:
    """Whether a change to `path` can change how other files' imports resolve: a project
    file the resolver reads (go.mod, Cargo.toml, tsconfig/jsconfig, package.json)."""
    name = posixpath.basename(path)
    return name in ("go.mod", "Cargo.toml", "package.json") or (
        name.startswith(("tsconfig", "jsconfig")) and name.endswith(".json"))


class ImportResolver:
    """Resolves imports against one repository's file set, with lazily built indexes
    (folder listing, file names, go.mod modules, tsconfig files, Cargo crates) that
    `add_file`/`remove_file` keep current."""

    def __init__(
        self,
        files: Iterable[str],
        root: Path | str | None = None,
        read_text: ReadText | None = None,
    ) -> None:
        self.files: set[str] = set(files)
        self.root = Path(root) if root is not None else None
        self._read_text = read_text
        self._dirs: dict[str, list[str]] | None = None  # folder -> files directly in it
        self._names: dict[str, list[str]] | None = None  # file name -> paths
        self._go: list[tuple[str, str]] | None = None  # (module path, folder)
        self._crates: dict[str, str] | None = None  # crate name -> src folder
        self._tsconfigs: dict[str, _TsConfig | None] = {}

    def add_file(self, path: str) -> None:
        """Register a new or changed file (a changed go.mod/tsconfig/Cargo.toml re-reads)."""
        if path not in self.files:
            self.files.add(path)
            if self._dirs is not None:
                self._dirs.setdefault(posixpath.dirname(path), []).append(path)
            if self._names is not None:
                self._names.setdefault(posixpath.basename(path), []).append(path)
        self._forget_config(path)

    def remove_file(self, path: str) -> None:
        """Forget a deleted file."""
        if path in self.files:
            self.files.discard(path)
            if self._dirs is not None:
                self._dirs.get(posixpath.dirname(path), []).remove(path)
            if self._names is not None:
                self._names.get(posixpath.basename(path), []).remove(path)
        self._forget_config(path)

    def resolve(
        self,
        path: str,
        language: str,
        imports: Iterable[ImportRef],
        errors: list[str] | None = None,
    ) -> list[str]:
        """Repository files `path`'s imports refer to, in order, without repeats or `path`."""
        resolver = _RESOLVERS.get(LANGUAGE_ALIASES.get(str(language).lower(), ""))
        if resolver is None:
            return []
        found: dict[str, None] = {}
        for ref in imports:
            try:
                found.update(dict.fromkeys(resolver(self, path, ref)))
            except Exception as exc:  # a malformed ImportRef must not stop the file
                if errors is not None:
                    errors.append(f"{path}:{getattr(ref, 'line', '?')}: import: {exc!r}")
        found.pop(path, None)
        return list(found)

    def read_text(self, path: str) -> str | None:
        """A repository file's text, or None when it cannot be read."""
        try:
            if self._read_text is not None:
                return self._read_text(path)
            if self.root is not None:
                return (self.root / path).read_text(encoding="utf-8", errors="replace")
        except (OSError, ValueError):
            return None
        return None

    def first(self, candidates: Iterable[str]) -> str | None:
        """The first candidate (normalised) that is a repository file."""
        for candidate in candidates:
            norm = _normalize(candidate)
            if norm is not None and norm in self.files:
                return norm
        return None

    def dir_files(self, folder: str) -> list[str]:
        """Files directly inside `folder`, sorted."""
        if self._dirs is None:
            self._dirs = {}
            for path in self.files:
                self._dirs.setdefault(posixpath.dirname(path), []).append(path)
        return sorted(self._dirs.get(folder, ()))

    def by_suffix(self, suffix: str) -> list[str]:
        """Files whose path is `suffix` or ends with '/' + `suffix`."""
        if self._names is None:
            self._names = {}
            for path in self.files:
                self._names.setdefault(posixpath.basename(path), []).append(path)
        named = self._names.get(posixpath.basename(suffix), ())
        return sorted(p for p in named if p == suffix or p.endswith("/" + suffix))

    def folders_ending(self, suffix: str) -> list[str]:
        """Folders holding files whose path is `suffix` or ends with '/' + `suffix`."""
        self.dir_files("")  # builds the folder index
        assert self._dirs is not None
        return sorted(f for f, inside in self._dirs.items()
                      if inside and (f == suffix or f.endswith("/" + suffix)))

    def go_modules(self) -> list[tuple[str, str]]:
        """(module path, folder) of every readable go.mod, longest module path first."""
        if self._go is None:
            self._go = []
            for gomod in (p for p in self.files if posixpath.basename(p) == "go.mod"):
                match = _GO_MODULE.search(self.read_text(gomod) or "")
                if match:
                    self._go.append((match.group(1), posixpath.dirname(gomod)))
            self._go.sort(key=lambda item: (-len(item[0]), item[1]))
        return self._go

    def rust_crates(self) -> dict[str, str]:
        """Crate name (as `use` writes it) -> its src folder, for workspace members."""
        if self._crates is None:
            self._crates = {}
            for manifest in sorted(p for p in self.files if posixpath.basename(p) == "Cargo.toml"):
                folder = posixpath.dirname(manifest)
                match = _CARGO_NAME.search(self.read_text(manifest) or "")
                name = match.group(1) if match else posixpath.basename(folder)
                if name:
                    self._crates.setdefault(name.replace("-", "_"), _join(folder, "src"))
        return self._crates

    def tsconfig_for(self, path: str) -> _TsConfig | None:
        """The nearest tsconfig.json/jsconfig.json above `path`, parsed."""
        for folder in _ancestors(posixpath.dirname(path)):
            for name in ("tsconfig.json", "jsconfig.json"):
                config = _join(folder, name)
                if config in self.files:
                    if config not in self._tsconfigs:
                        self._tsconfigs[config] = _load_tsconfig(self, config, 0)
                    return self._tsconfigs[config]
        return None

    def _forget_config(self, path: str) -> None:
        """Drop what was read from a project file that changed."""
        name = posixpath.basename(path)
        if name == "go.mod":
            self._go = None
        elif name == "Cargo.toml":
            self._crates = None
        elif name.endswith(".json"):
            self._tsconfigs.clear()


# ---------------------------------------------------------------- python


def _python(ctx: ImportResolver, path: str, ref: ImportRef) -> list[str]:
    """`import a.b`, `from a.b import c`, `from ..a import b`."""
    module = ref.module.strip()
    level = ref.relative_level or len(module) - len(module.lstrip("."))
    parts = [p for p in module.lstrip(".").split(".") if p]
    names = [n.split(" as ")[0].strip() for n in ref.names if n.strip() not in ("*", "")]
    if level:
        base = _up(posixpath.dirname(path), level - 1)
        return [] if base is None else _python_from(ctx, base, parts, names)
    for root in _python_roots(ctx, path):
        found = _python_from(ctx, root, parts, names)
        if found:
            return found
    # Packages installed under another name than their folder (a `package-dir` mapping such
    # as autan.model -> model/): drop leading package names until the rest is found.
    for cut in range(1, len(parts)):
        found = _python_from(ctx, "", parts[cut:], names)
        if found:
            return found
    return []


def _python_from(ctx: ImportResolver, base: str, parts: list[str], names: list[str]) -> list[str]:
    """The module `parts` under `base`, plus listed names that are submodules; the module
    itself is left out when every listed name is a submodule (an empty __init__.py)."""
    target = _join(base, *parts)
    module = _python_module(ctx, target) if parts else ctx.first([_join(base, "__init__.py")])
    subs = [_python_module(ctx, _join(target, name.replace(".", "/"))) for name in names]
    found = [s for s in subs if s is not None]
    if module is not None and (not names or len(found) < len(names)):
        found.insert(0, module)
    return found


def _python_module(ctx: ImportResolver, target: str) -> str | None:
    """`a/b` -> a/b.py or the package a/b/__init__.py (stubs last)."""
    return ctx.first([target + ".py", target + "/__init__.py", target + ".pyi",
                      target + "/__init__.pyi"])


def _python_roots(ctx: ImportResolver, path: str) -> list[str]:
    """Folders an absolute import may start from: the importing file's own root (its
    nearest ancestor that is not a package, where `python -m` or pytest would put
    sys.path), the repository root, and the common source folders."""
    own = ""
    for folder in _ancestors(posixpath.dirname(path)):
        if _join(folder, "__init__.py") not in ctx.files:
            own = folder
            break
    return list(dict.fromkeys([own, *PYTHON_SOURCE_ROOTS]))


# ---------------------------------------------------------------- javascript / typescript


def _javascript(ctx: ImportResolver, path: str, ref: ImportRef) -> list[str]:
    """Relative specifiers by extension probing; bare ones through tsconfig paths."""
    spec = ref.module.strip().split("?")[0].split("#")[0]
    exts = _TS_EXTS if path.endswith((".ts", ".tsx", ".mts", ".cts")) else _JS_EXTS
    if spec in (".", "..") or spec.startswith(("./", "../")):
        found = _js_probe(ctx, posixpath.join(posixpath.dirname(path), spec), exts)
        return [found] if found else []
    config = ctx.tsconfig_for(path) if spec else None
    if config is None:
        return []  # a package from node_modules
    for target in _ts_alias_targets(config, spec):
        found = _js_probe(ctx, target, exts)
        if found:
            return [found]
    return []


def _js_probe(ctx: ImportResolver, target: str, exts: tuple[str, ...]) -> str | None:
    """`./x` -> x, x.ts, x.tsx, ..., x/index.ts, ...; `./x.js` may also mean x.ts."""
    norm = _normalize(target)
    if norm is None:
        return None
    stem, ext = posixpath.splitext(norm)
    bare = [norm, *(stem + alt for alt in _TS_FOR_JS.get(ext, ())), *(norm + e for e in exts)]
    return ctx.first([*(bare if norm else []), *(_join(norm, "index" + e) for e in exts)])


def _ts_alias_targets(config: _TsConfig, spec: str) -> list[str]:
    """Candidate paths for a bare specifier: `paths` patterns (longest prefix first, as
    TypeScript picks them), then `baseUrl`."""
    out: list[str] = []
    patterns = sorted(config.paths, key=lambda p: -len(p.split("*")[0]))
    for pattern in patterns:
        prefix, star, suffix = pattern.partition("*")
        if star and spec.startswith(prefix) and spec.endswith(suffix) \
                and len(spec) >= len(prefix) + len(suffix):
            middle = spec[len(prefix):len(spec) - len(suffix)]
        elif not star and spec == pattern:
            middle = ""
        else:
            continue
        targets = config.paths[pattern]
        out += [posixpath.join(config.paths_dir, t.replace("*", middle)) for t in targets]
    if config.base_url is not None:
        out.append(posixpath.join(config.base_url, spec))
    return out


def _load_tsconfig(ctx: ImportResolver, config: str, depth: int) -> _TsConfig | None:
    """Parse one tsconfig (JSON with comments), following relative `extends`."""
    text = ctx.read_text(config) or ""
    for pattern in (_JSON_COMMENT, _JSON_TRAILING_COMMA):  # strings are kept whole
        text = pattern.sub(lambda m: m.group(0) if m.group(0)[0] == '"' else "", text)
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    folder = posixpath.dirname(config)
    parent = _tsconfig_parent(ctx, folder, data.get("extends"), depth)
    options = data.get("compilerOptions")
    options = options if isinstance(options, dict) else {}
    base_url = parent.base_url if parent else None
    if isinstance(options.get("baseUrl"), str):
        base_url = _normalize(posixpath.join(folder, options["baseUrl"]))
    paths, paths_dir = (parent.paths, parent.paths_dir) if parent else ({}, folder)
    if isinstance(options.get("paths"), dict):
        paths = {k: [t for t in v if isinstance(t, str)]
                 for k, v in options["paths"].items() if isinstance(v, list)}
        paths_dir = base_url if base_url is not None else folder
    return _TsConfig(base_url=base_url, paths=paths, paths_dir=paths_dir)


def _tsconfig_parent(
    ctx: ImportResolver, folder: str, extends: object, depth: int
) -> _TsConfig | None:
    """The config a relative `extends` names (package configs live in node_modules)."""
    if not isinstance(extends, str) or not extends.startswith(".") or depth >= 5:
        return None
    target = ctx.first([posixpath.join(folder, extends), posixpath.join(folder, extends)
                        + ".json"])
    return _load_tsconfig(ctx, target, depth + 1) if target else None


# ---------------------------------------------------------------- go


def _go(ctx: ImportResolver, path: str, ref: ImportRef) -> list[str]:
    """`module/sub/pkg` -> the package's non-test .go files; the module path comes from
    go.mod (the nearest module wins when two declare the same path)."""
    spec = ref.module.strip().strip("/")
    matches = [(mod, folder) for mod, folder in ctx.go_modules()
               if spec == mod or spec.startswith(mod + "/")]
    if matches:
        longest = len(matches[0][0])
        near = [m for m in matches if len(m[0]) == longest and _is_within(path, m[1])]
        mod, folder = (near or matches)[0]
        return _go_package(ctx, _join(folder, spec[len(mod):].strip("/")))
    for folder in _ancestors(posixpath.dirname(path)):  # vendored dependencies
        found = _go_package(ctx, _join(folder, "vendor", spec))
        if found:
            return found
    return []


def _go_package(ctx: ImportResolver, folder: str) -> list[str]:
    """A Go package is a folder: its .go files, without tests."""
    return [p for p in ctx.dir_files(folder) if p.endswith(".go") and not p.endswith("_test.go")]


# ---------------------------------------------------------------- rust


def _rust(ctx: ImportResolver, path: str, ref: ImportRef) -> list[str]:
    """`mod x;`, `use crate::a::b::C`, `use super::x`, `use self::x`, `use other_crate::x`;
    a `{a, b}` group or listed names resolve as one path each."""
    spec = ref.module.strip().removesuffix(";").strip()
    for keyword in ("pub ", "mod ", "use "):
        spec = spec.removeprefix(keyword).strip()
    paths = _rust_expand(spec)
    names = [n for n in ref.names if n.strip()]
    if names and "{" not in spec:
        paths = [f"{spec}::{name}" for name in names]
    found: list[str] = []
    for use_path in paths:
        found += _rust_path(ctx, path, use_path.split(" as ")[0].strip())
    return found


def _rust_path(ctx: ImportResolver, path: str, use_path: str) -> list[str]:
    """One use path -> the file of the deepest module along it (the rest are items)."""
    segs = [s for s in use_path.split("::") if s.strip()]
    while segs and segs[-1] in ("*", "self"):
        segs.pop()
    if not segs or use_path.startswith("::"):
        return []
    if segs[0] == "crate":
        return _rust_walk(ctx, _rust_crate_src(ctx, path), segs[1:], anchored=True)
    base = _rust_mod_dir(path)
    if segs[0] in ("self", "super"):
        while segs and segs[0] in ("self", "super"):
            base = posixpath.dirname(base) if segs.pop(0) == "super" else base
        return _rust_walk(ctx, base, segs, anchored=True)
    found = _rust_walk(ctx, base, segs)  # a child module of this one (or `mod x;`)
    crate = ctx.rust_crates().get(segs[0])
    if not found and crate is not None:
        found = _rust_walk(ctx, crate, segs[1:], anchored=True)
    return found


def _rust_expand(tree: str) -> list[str]:
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
    return [head + leaf for part in parts if part.strip() for leaf in _rust_expand(part.strip())]


def _rust_walk(ctx: ImportResolver, base: str, segs: list[str], anchored: bool = False
               ) -> list[str]:
    """The deepest module file along `segs` under `base`. When none matches, an anchored
    path (crate::, super::, self::, a crate name) names an item of `base`'s own module;
    an unanchored one is most likely an external crate."""
    for k in range(len(segs), 0, -1):
        module = _rust_module_file(ctx, _join(base, *segs[:k]))
        if module is not None:
            return [module]
    if segs and not anchored:
        return []
    found = ctx.first([base + ".rs", _join(base, "mod.rs"), _join(base, "lib.rs"),
                       _join(base, "main.rs")])
    return [found] if found else []


def _rust_module_file(ctx: ImportResolver, target: str) -> str | None:
    """Module `a/b` is a/b.rs or a/b/mod.rs."""
    return ctx.first([target + ".rs", _join(target, "mod.rs")])


def _rust_mod_dir(path: str) -> str:
    """Where the child modules of `path`'s module live: next to mod.rs, lib.rs, main.rs
    and other crate roots; in a folder named after any other file."""
    folder, name = posixpath.split(path)
    if name in _RUST_DIR_OWNERS or posixpath.basename(folder) in _RUST_ROOT_DIRS:
        return folder
    return posixpath.splitext(path)[0]


def _rust_crate_src(ctx: ImportResolver, path: str) -> str:
    """`crate::` starts at the src folder of the nearest Cargo.toml above the file."""
    folders = _ancestors(posixpath.dirname(path))
    for folder in folders:
        if _join(folder, "Cargo.toml") in ctx.files:
            return _join(folder, "src")
    for folder in folders:
        if posixpath.basename(folder) == "src":
            return folder
    return posixpath.dirname(path)


# ---------------------------------------------------------------- java / kotlin


def _java(ctx: ImportResolver, path: str, ref: ImportRef) -> list[str]:
    """`com.x.Y` -> **/com/x/Y.java; `com.x.*` -> the package folder; static imports and
    nested classes drop trailing segments until a class file matches."""
    exts = (".kt", ".java") if path.endswith((".kt", ".kts")) else (".java", ".kt")
    spec = ref.module.strip().removesuffix(";").strip().removeprefix("static ").strip()
    segs = [s for s in spec.split(".") if s]
    wildcard = segs[-1:] == ["*"] or "*" in ref.names  # the parser lists "*" as a name
    segs = [s for s in segs if s != "*"]
    if wildcard:
        found = _java_package(ctx, path, "/".join(segs), exts)
        if found:
            return found
    while len(segs) >= 2:
        for ext in exts:
            found = _nearest(path, ctx.by_suffix("/".join(segs) + ext))
            if found:
                return [found]
        segs.pop()
    return []


def _java_package(ctx: ImportResolver, path: str, package_dir: str, exts: tuple[str, ...]
                  ) -> list[str]:
    """All source files of a package: the matching folder nearest the importing file."""
    if not package_dir:
        return []
    best = _nearest(path, ctx.folders_ending(package_dir))
    return [] if best is None else [p for p in ctx.dir_files(best) if p.endswith(exts)]


# ---------------------------------------------------------------- c / c++


def _c(ctx: ImportResolver, path: str, ref: ImportRef) -> list[str]:
    """`#include "x.h"`: next to the file, then include/ folders up the tree, then any
    file whose path ends with the include (the nearest one)."""
    raw = ref.module.strip()
    spec = raw.strip('"<>').strip()
    if not spec or spec.startswith("/"):
        return []
    folder = posixpath.dirname(path)
    candidates = [] if raw.startswith("<") else [posixpath.join(folder, spec)]
    for up in _ancestors(folder):
        candidates += [_join(up, "include", spec), _join(up, spec), _join(up, "src", spec)]
    found = ctx.first(candidates) or _nearest(path, ctx.by_suffix(_normalize(spec) or spec))
    return [found] if found else []


def _script(ctx: ImportResolver, path: str, ref: ImportRef, language: str) -> list[str]:
    """Ruby `require_relative`/`require`, Lua `require("a.b")`, PHP `require`/`use`, shell
    `source`: a path relative to the file, else from the repository's load folders."""
    exts, roots, sep = _SCRIPT_RULES[language]
    spec = ref.module.strip()
    folder = posixpath.dirname(path)
    if spec.startswith(("./", "../")):
        bases = [posixpath.join(folder, spec)]
    else:
        spec = re.sub(r"^\$\{?\w+\}?/", "", spec).replace(sep, "/")  # "$DIR/x.sh" -> x.sh
        bases = [posixpath.join(folder, spec)] if language in ("bash", "php") else []
        bases += [_join(root, spec) for root in roots]
    found = ctx.first(base + ext for base in bases for ext in exts)
    if found is None and sep == "\\":  # a PHP namespace: PSR-4 maps its prefix to a folder
        parts = spec.split("/")
        candidates = ["/".join(parts[k:]) + ".php" for k in range(len(parts) - 1)]
        found = next((n for c in candidates if (n := _nearest(path, ctx.by_suffix(c)))), None)
    return [found] if found else []


_SCRIPT_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "ruby": (("", ".rb"), ("lib", ""), "/"),
    "lua": ((".lua", "/init.lua"), ("", "lua", "src"), "."),
    "php": (("", ".php"), ("",), "\\"),
    "bash": (("", ".sh"), ("",), "/"),
}


_RESOLVERS: dict[str, Callable[[ImportResolver, str, ImportRef], list[str]]] = {
    "python": _python,
    "javascript": _javascript,
    "typescript": _javascript,
    "go": _go,
    "rust": _rust,
    "java": _java,
    "kotlin": _java,
    "c": _c,
    **{name: partial(_script, language=name) for name in _SCRIPT_RULES},
}


# ---------------------------------------------------------------- paths


def _normalize(path: str) -> str | None:
    """A repository-relative path without `.`/`..`; None when it leaves the repository."""
    if path.startswith("/"):
        return None
    norm = posixpath.normpath(path)
    if norm == ".":
        return ""
    if norm == ".." or norm.startswith("../"):
        return None
    return norm


def _join(*parts: str) -> str:
    """posixpath.join that ignores empty parts ('' is the repository root)."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def _ancestors(folder: str) -> list[str]:
    """`a/b` -> ['a/b', 'a', ''] (nearest first, ending at the repository root)."""
    out = []
    while folder:
        out.append(folder)
        folder = posixpath.dirname(folder)
    return [*out, ""]


def _up(folder: str, levels: int) -> str | None:
    """`folder` `levels` folders up; None above the repository root."""
    for _ in range(levels):
        if not folder:
            return None
        folder = posixpath.dirname(folder)
    return folder


def _is_within(path: str, folder: str) -> bool:
    """Whether `path` lies in `folder` ('' is the repository root)."""
    return not folder or path.startswith(folder + "/")


def _nearest(path: str, candidates: list[str]) -> str | None:
    """The candidate sharing the longest leading folder path with `path` (the same
    module or source set), ties broken by the shortest then alphabetical path."""
    if not candidates:
        return None
    here = path.split("/")

    def shared(candidate: str) -> int:
        count = 0
        for a, b in zip(here[:-1], candidate.split("/")[:-1], strict=False):
            if a != b:
                break
            count += 1
        return count

    return min(candidates, key=lambda c: (-shared(c), len(c), c))


# ---------------------------------------------------------------- the graph


Direction = Literal["imports", "importers", "both"]


class ImportGraph:
    """Resolved imports as a graph kept both ways, so "what does this file use" and "who
    uses this file" are both one lookup. Edges mirror the records exactly: a file's edges
    change only when its own record is updated or removed."""

    def __init__(self, records: Mapping[str, Iterable[str]] | None = None) -> None:
        self._out: dict[str, list[str]] = {}
        self._in: dict[str, set[str]] = {}
        if records:
            self.build(records)

    def build(self, records: Mapping[str, Iterable[str]]) -> ImportGraph:
        """Replace the whole graph with `records` (path -> resolved imports)."""
        self._out, self._in = {}, {}
        for path, resolved in records.items():
            self.update(path, resolved)
        return self

    def update(self, path: str, resolved: Iterable[str]) -> None:
        """Set one file's resolved imports (after it was edited or re-resolved)."""
        self._drop_out(path)
        targets = list(dict.fromkeys(t for t in resolved if t != path))
        self._out[path] = targets
        for target in targets:
            self._in.setdefault(target, set()).add(path)

    def remove(self, path: str) -> list[str]:
        """Forget a deleted file's imports; returns its importers, whose imports should be
        re-resolved (their edges to `path` stay until they are)."""
        self._drop_out(path)
        self._out.pop(path, None)
        return self.importers_of(path)

    def imports_of(self, path: str) -> list[str]:
        """Files `path` imports, in its import order."""
        return list(self._out.get(path, ()))

    def importers_of(self, path: str) -> list[str]:
        """Files that import `path`, sorted, so prompts built from them are stable."""
        return sorted(self._in.get(path, ()))

    def neighbors(self, path: str, depth: int = 2, direction: Direction = "both"
                  ) -> dict[str, int]:
        """Files within `depth` import edges of `path` -> their distance (1 = direct), for
        transitive decay. `direction` follows imports, importers or both. Breadth-first,
        so each file gets its shortest distance; ordered by distance."""
        if direction not in ("imports", "importers", "both"):
            raise ValueError(f"direction must be imports, importers or both: {direction!r}")
        dist: dict[str, int] = {path: 0}
        frontier = [path]
        for level in range(1, depth + 1):
            nxt: list[str] = []
            for node in frontier:
                for other in self._step(node, direction):
                    if other not in dist:
                        dist[other] = level
                        nxt.append(other)
            frontier = nxt
        del dist[path]
        return dist

    def __contains__(self, path: object) -> bool:
        return path in self._out

    def __len__(self) -> int:
        return len(self._out)

    def _step(self, node: str, direction: Direction) -> list[str]:
        """One edge away from `node`: imports first, then importers."""
        out = self.imports_of(node) if direction != "importers" else []
        return out + (self.importers_of(node) if direction != "imports" else [])

    def _drop_out(self, path: str) -> None:
        """Remove `path`'s outgoing edges from the reverse index."""
        for target in self._out.get(path, ()):
            importers = self._in.get(target)
            if importers is not None:
                importers.discard(path)
                if not importers:
                    del self._in[target]
