"""JavaScript and TypeScript: the module specifier of an `import` (or `require`).

Relative specifiers (`./x`, `../x`) are probed with the language's extensions and
`index.*`; bare specifiers resolve only through the nearest tsconfig/jsconfig `paths` and
`baseUrl` (following relative `extends`). Anything else is a node_modules package, left out.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass

from autan.indexer.imports.common import RepoFiles, ancestors, join, normalize
from autan.indexer.types import ImportRef

_TS_EXTS = (".ts", ".tsx", ".d.ts", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
_JS_EXTS = (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".d.ts", ".mts", ".cts")
# ESM TypeScript writes the emitted name: `import "./x.js"` means x.ts.
_TS_FOR_JS = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}
_JSON_COMMENT = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.S)
_JSON_TRAILING_COMMA = re.compile(r'"(?:\\.|[^"\\])*"|,(?=\s*[}\]])')


@dataclass
class TsConfig:
    """The part of a tsconfig/jsconfig that maps bare specifiers to files."""

    base_url: str | None  # repository-relative folder, when baseUrl is set
    paths: dict[str, list[str]]
    paths_dir: str  # folder the `paths` targets are relative to


def resolve(ctx: RepoFiles, path: str, ref: ImportRef) -> list[str]:
    """Relative specifiers by extension probing; bare ones through tsconfig paths."""
    spec = ref.module.strip().split("?")[0].split("#")[0]
    exts = _TS_EXTS if path.endswith((".ts", ".tsx", ".mts", ".cts")) else _JS_EXTS
    if spec in (".", "..") or spec.startswith(("./", "../")):
        found = _probe(ctx, posixpath.join(posixpath.dirname(path), spec), exts)
        return [found] if found else []
    config = tsconfig_for(ctx, path) if spec else None
    if config is None:
        return []  # a package from node_modules
    for target in _alias_targets(config, spec):
        found = _probe(ctx, target, exts)
        if found:
            return [found]
    return []


def tsconfig_for(ctx: RepoFiles, path: str) -> TsConfig | None:
    """The nearest tsconfig.json/jsconfig.json above `path`, parsed."""
    loaded: dict[str, TsConfig | None] = ctx.settings(".json", dict)
    for folder in ancestors(posixpath.dirname(path)):
        for name in ("tsconfig.json", "jsconfig.json"):
            config = join(folder, name)
            if config in ctx.files:
                if config not in loaded:
                    loaded[config] = _load_tsconfig(ctx, config, 0)
                return loaded[config]
    return None


def _probe(ctx: RepoFiles, target: str, exts: tuple[str, ...]) -> str | None:
    """`./x` -> x, x.ts, x.tsx, ..., x/index.ts, ...; `./x.js` may also mean x.ts."""
    norm = normalize(target)
    if norm is None:
        return None
    stem, ext = posixpath.splitext(norm)
    bare = [norm, *(stem + alt for alt in _TS_FOR_JS.get(ext, ())), *(norm + e for e in exts)]
    return ctx.first([*(bare if norm else []), *(join(norm, "index" + e) for e in exts)])


def _alias_targets(config: TsConfig, spec: str) -> list[str]:
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


def _load_tsconfig(ctx: RepoFiles, config: str, depth: int) -> TsConfig | None:
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
        base_url = normalize(posixpath.join(folder, options["baseUrl"]))
    paths, paths_dir = (parent.paths, parent.paths_dir) if parent else ({}, folder)
    if isinstance(options.get("paths"), dict):
        paths = {k: [t for t in v if isinstance(t, str)]
                 for k, v in options["paths"].items() if isinstance(v, list)}
        paths_dir = base_url if base_url is not None else folder
    return TsConfig(base_url=base_url, paths=paths, paths_dir=paths_dir)


def _tsconfig_parent(
    ctx: RepoFiles, folder: str, extends: object, depth: int
) -> TsConfig | None:
    """The config a relative `extends` names (package configs live in node_modules)."""
    if not isinstance(extends, str) or not extends.startswith(".") or depth >= 5:
        return None
    target = ctx.first([posixpath.join(folder, extends), posixpath.join(folder, extends)
                        + ".json"])
    return _load_tsconfig(ctx, target, depth + 1) if target else None
