"""Import resolution per language, on hand-made ImportRefs and file sets, and the graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from autan.indexer.imports import ImportGraph, ImportResolver, resolve_imports
from autan.indexer.types import ImportRef


def ref(module: str, names: list[str] | None = None, level: int = 0) -> ImportRef:
    return ImportRef(module=module, names=names or [], relative_level=level)


def resolve(path: str, language: str, refs: list[ImportRef], files: set[str],
            texts: dict[str, str] | None = None) -> list[str]:
    return ImportResolver(files, read_text=(texts or {}).get).resolve(path, language, refs)


# ---------------------------------------------------------------- python

PY = {
    "main.py", "pkg/__init__.py", "pkg/core.py", "pkg/util/__init__.py", "pkg/util/strings.py",
    "pkg/sub/__init__.py", "pkg/sub/mod.py", "pkg/sub/sibling.py", "src/lib/__init__.py",
    "src/lib/api.py", "services/api/app/__init__.py", "services/api/app/models.py",
    "services/api/app/main.py", "nsp/plain.py", "stubs/only.pyi", "scripts/run.py",
    "scripts/helpers.py",
}


@pytest.mark.parametrize(("refs", "expected"), [
    ([ref("pkg.core")], ["pkg/core.py"]),
    ([ref("pkg.util")], ["pkg/util/__init__.py"]),
    ([ref("pkg.util.strings")], ["pkg/util/strings.py"]),
    ([ref("pkg.core", ["thing"])], ["pkg/core.py"]),
    ([ref("pkg", ["core", "util"])], ["pkg/core.py", "pkg/util/__init__.py"]),
    ([ref("pkg", ["core", "helper"])], ["pkg/__init__.py", "pkg/core.py"]),
    ([ref("pkg", ["*"])], ["pkg/__init__.py"]),
    ([ref("lib.api")], ["src/lib/api.py"]),  # under the src/ source root
    ([ref("nsp", ["plain"])], ["nsp/plain.py"]),  # a namespace package (no __init__.py)
    ([ref("stubs.only")], ["stubs/only.pyi"]),
    ([ref("os"), ref("numpy", ["array"]), ref("pkg.missing")], []),
    ([ref("pkg.core"), ref("pkg.core", ["x"]), ref("main")], ["pkg/core.py"]),  # no self
])
def test_python_absolute(refs: list[ImportRef], expected: list[str]) -> None:
    assert resolve("main.py", "python", refs, PY) == expected


@pytest.mark.parametrize(("refs", "expected"), [
    ([ref("", ["sibling"], level=1)], ["pkg/sub/sibling.py"]),
    ([ref("sibling", ["x"], level=1)], ["pkg/sub/sibling.py"]),
    ([ref("", ["helper"], level=1)], ["pkg/sub/__init__.py"]),
    ([ref("", ["core"], level=2)], ["pkg/core.py"]),
    ([ref("util.strings", ["s"], level=2)], ["pkg/util/strings.py"]),
    ([ref("..util.strings", ["s"])], ["pkg/util/strings.py"]),  # dots kept in the text
    ([ref("..util.strings", ["s"], level=2)], ["pkg/util/strings.py"]),
    ([ref("pkg.core", level=3)], ["pkg/core.py"]),
    ([ref("x", level=4)], []),  # above the repository root
])
def test_python_relative(refs: list[ImportRef], expected: list[str]) -> None:
    assert resolve("pkg/sub/mod.py", "python", refs, PY) == expected


def test_python_roots_of_the_importing_file() -> None:
    """A file deep in a monorepo imports from its own top-level folder; a script imports
    its neighbour."""
    app = resolve("services/api/app/main.py", "python", [ref("app.models", ["User"])], PY)
    assert app == ["services/api/app/models.py"]
    assert resolve("scripts/run.py", "python", [ref("helpers")], PY) == ["scripts/helpers.py"]


# ---------------------------------------------------------------- javascript / typescript

JS = {
    "web/src/app.ts", "web/src/util.ts", "web/src/lib/a.tsx", "web/src/lib/index.ts",
    "web/src/components/Button/index.jsx", "web/src/esm.ts", "web/src/types.d.ts",
    "web/src/data.json", "web/src/legacy.js", "web/src/both.ts", "web/src/both.js",
    "web/src/deep/x.mjs", "web/index.ts", "web/tsconfig.json", "web/tsconfig.base.json",
    "web/src/alias/x.ts", "web/shared/s.ts", "other/tool.js",
}
TSCONFIG = """{
  // comments and trailing commas are allowed in tsconfig
  "extends": "./tsconfig.base.json",
  "compilerOptions": {
    "paths": { "@/*": ["src/*"], "shared": ["shared/s.ts"], /* exact */ },
  },
}"""
TSCONFIG_BASE = '{"compilerOptions": {"baseUrl": ".", "strict": true, "outDir": "//x"}}'


@pytest.mark.parametrize(("module", "expected"), [
    ("./util", ["web/src/util.ts"]),
    ("./lib", ["web/src/lib/index.ts"]),
    ("./lib/", ["web/src/lib/index.ts"]),
    ("./lib/a", ["web/src/lib/a.tsx"]),
    ("./components/Button", ["web/src/components/Button/index.jsx"]),
    ("./esm.js", ["web/src/esm.ts"]),  # ESM TypeScript names the emitted file
    ("./types", ["web/src/types.d.ts"]),
    ("./data.json", ["web/src/data.json"]),
    ("./both", ["web/src/both.ts"]),
    ("./deep/x", ["web/src/deep/x.mjs"]),
    ("../index", ["web/index.ts"]),
    ("..", ["web/index.ts"]),
    ("../../other/tool", ["other/tool.js"]),
    ("../../../outside", []),
    ("./missing", []),
    ("react", []),
    ("@scope/pkg/sub", []),
])
def test_typescript_relative(module: str, expected: list[str]) -> None:
    assert resolve("web/src/app.ts", "typescript", [ref(module)], JS) == expected


def test_javascript_prefers_javascript_files() -> None:
    assert resolve("web/src/legacy.js", "javascript", [ref("./both")], JS) == ["web/src/both.js"]
    assert resolve("web/src/lib/a.tsx", "tsx", [ref("../both")], JS) == ["web/src/both.ts"]


def test_tsconfig_paths_base_url_and_extends() -> None:
    texts = {"web/tsconfig.json": TSCONFIG, "web/tsconfig.base.json": TSCONFIG_BASE}
    refs = [ref("@/alias/x"), ref("shared"), ref("src/util"), ref("react")]
    expected = ["web/src/alias/x.ts", "web/shared/s.ts", "web/src/util.ts"]
    assert resolve("web/src/app.ts", "typescript", refs, JS, texts) == expected
    assert resolve("web/src/app.ts", "typescript", refs, JS) == []  # tsconfig unreadable
    broken = {"web/tsconfig.json": "{ not json"}
    assert resolve("web/src/app.ts", "typescript", refs, JS, broken) == []


# ---------------------------------------------------------------- go

GO = {
    "go.mod", "main.go", "internal/db/db.go", "internal/db/conn.go", "internal/db/db_test.go",
    "internal/db/README.md", "internal/db/sub/x.go", "cmd/app/main.go", "tools/go.mod",
    "tools/gen/gen.go", "vendor/github.com/pkg/errors/errors.go",
}
GO_TEXTS = {
    "go.mod": "// the app\nmodule github.com/acme/app\n\ngo 1.22\n",
    "tools/go.mod": 'module "github.com/acme/app/tools"\n',
}


@pytest.mark.parametrize(("module", "expected"), [
    ("github.com/acme/app/internal/db", ["internal/db/conn.go", "internal/db/db.go"]),
    ("github.com/acme/app/internal/db/sub", ["internal/db/sub/x.go"]),
    ("github.com/acme/app", ["main.go"]),
    ("github.com/acme/app/tools/gen", ["tools/gen/gen.go"]),  # the nested module wins
    ("github.com/pkg/errors", ["vendor/github.com/pkg/errors/errors.go"]),
    ("github.com/acme/app/missing", []),
    ("github.com/acme/application", []),  # a prefix of the name is not the module
    ("fmt", []),
    ("net/http", []),
    ("github.com/other/lib", []),
])
def test_go(module: str, expected: list[str]) -> None:
    assert resolve("cmd/app/main.go", "go", [ref(module)], GO, GO_TEXTS) == expected


def test_go_reads_go_mod_under_root(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text(GO_TEXTS["go.mod"], encoding="utf-8")
    refs = [ref("github.com/acme/app/internal/db")]
    found = resolve_imports("cmd/app/main.go", "go", refs, GO, root=tmp_path)
    assert found == ["internal/db/conn.go", "internal/db/db.go"]
    assert resolve_imports("cmd/app/main.go", "go", refs, GO) == []  # go.mod unreadable


def test_resolver_follows_added_and_removed_files() -> None:
    texts = dict(GO_TEXTS)
    resolver = ImportResolver(GO, read_text=texts.get)
    refs = [ref("github.com/acme/app/internal/db"), ref("example.org/new/pkg")]
    assert resolver.resolve("main.go", "go", refs) == ["internal/db/conn.go", "internal/db/db.go"]
    resolver.add_file("internal/db/pool.go")
    resolver.remove_file("internal/db/conn.go")
    texts["go.mod"] = "module example.org/new\n"
    resolver.add_file("go.mod")  # changed: read again
    resolver.add_file("pkg/p.go")
    assert resolver.resolve("main.go", "go", refs) == ["pkg/p.go"]
    texts["go.mod"] = GO_TEXTS["go.mod"]
    resolver.add_file("go.mod")
    assert resolver.resolve("main.go", "go", refs) == ["internal/db/db.go", "internal/db/pool.go"]


# ---------------------------------------------------------------- rust

RS = {
    "Cargo.toml", "src/main.rs", "src/lib.rs", "src/parser/mod.rs", "src/parser/ast.rs",
    "src/parser/lexer.rs", "src/util.rs", "src/util/strings.rs", "src/net.rs",
    "src/bin/tool.rs", "src/bin/helper.rs", "crates/my-utils/Cargo.toml",
    "crates/my-utils/src/lib.rs", "crates/my-utils/src/fmt.rs", "crates/core2/Cargo.toml",
    "crates/core2/src/lib.rs",
}
RS_TEXTS = {"crates/core2/Cargo.toml": '[package]\nname = "fancy-core"\nversion = "0.1.0"\n'}


@pytest.mark.parametrize(("path", "refs", "expected"), [
    ("src/main.rs", [ref("parser"), ref("mod util")], ["src/parser/mod.rs", "src/util.rs"]),
    ("src/util.rs", [ref("strings")], ["src/util/strings.rs"]),  # folder named after the file
    ("src/lib.rs", [ref("crate::parser::ast")], ["src/parser/ast.rs"]),
    ("src/lib.rs", [ref("crate::parser::ast::Node")], ["src/parser/ast.rs"]),
    ("src/util/strings.rs", [ref("crate::net::inner::Socket")], ["src/net.rs"]),
    ("src/lib.rs", [ref("crate::parser", ["ast", "lexer"])],
     ["src/parser/ast.rs", "src/parser/lexer.rs"]),
    ("src/lib.rs", [ref("crate::parser::{ast, Token}")],
     ["src/parser/ast.rs", "src/parser/mod.rs"]),
    ("src/lib.rs", [ref("crate::{parser::{lexer::Lexer, self}, util::*}")],
     ["src/parser/lexer.rs", "src/parser/mod.rs", "src/util.rs"]),
    ("src/parser/ast.rs", [ref("super::lexer")], ["src/parser/lexer.rs"]),
    ("src/parser/ast.rs", [ref("super::super::util::strings")], ["src/util/strings.rs"]),
    ("src/parser/ast.rs", [ref("super::*")], ["src/parser/mod.rs"]),
    ("src/parser/mod.rs", [ref("self::ast::Node"), ref("super::util")],
     ["src/parser/ast.rs", "src/util.rs"]),
    ("src/bin/tool.rs", [ref("helper")], ["src/bin/helper.rs"]),  # a crate root's neighbour
    ("src/lib.rs", [ref("std::collections::HashMap"), ref("serde::Deserialize")], []),
    ("src/lib.rs", [ref("::std::fmt"), ref("crate::missing::X")], []),
    ("src/main.rs", [ref("my_utils::fmt::pretty")], ["crates/my-utils/src/fmt.rs"]),
    ("src/main.rs", [ref("fancy_core::Thing")], ["crates/core2/src/lib.rs"]),  # Cargo name
    ("src/parser/ast.rs", [ref("crate::Config")], ["src/lib.rs"]),  # an item of the root
    ("src/parser/ast.rs", [ref("super::Parser")], ["src/parser/mod.rs"]),
    ("src/main.rs", [ref("serde::Deserialize")], []),  # not an item of lib.rs
])
def test_rust(path: str, refs: list[ImportRef], expected: list[str]) -> None:
    assert resolve(path, "rust", refs, RS, RS_TEXTS) == expected


# ---------------------------------------------------------------- java / kotlin

JAVA_APP = "app/src/main/java/com/acme/app/"
JAVA = {
    JAVA_APP + "Service.java", JAVA_APP + "Main.java", JAVA_APP + "util/Strings.java",
    JAVA_APP + "util/Dates.java", JAVA_APP + "util/notes.txt",
    "lib/src/main/java/com/acme/app/Service.java", "lib/src/main/java/com/acme/app/Other.java",
    "app/src/main/kotlin/com/acme/kt/Tool.kt",
}


@pytest.mark.parametrize(("module", "expected"), [
    ("com.acme.app.Service", [JAVA_APP + "Service.java"]),  # the importer's own module
    ("com.acme.app.Other", ["lib/src/main/java/com/acme/app/Other.java"]),
    ("com.acme.app.util.*", [JAVA_APP + "util/Dates.java", JAVA_APP + "util/Strings.java"]),
    ("static com.acme.app.util.Strings.join", [JAVA_APP + "util/Strings.java"]),
    ("com.acme.app.util.Strings.*", [JAVA_APP + "util/Strings.java"]),  # static wildcard
    ("com.acme.app.Service.Inner", [JAVA_APP + "Service.java"]),
    ("com.acme.kt.Tool", ["app/src/main/kotlin/com/acme/kt/Tool.kt"]),
    ("java.util.List", []),
    ("java.util.*", []),
    ("com.acme.Missing", []),
])
def test_java(module: str, expected: list[str]) -> None:
    assert resolve(JAVA_APP + "Main.java", "java", [ref(module)], JAVA) == expected


def test_java_nearest_of_duplicate_classes() -> None:
    found = resolve("lib/src/main/java/com/acme/app/Other.java", "java",
                    [ref("com.acme.app.Service")], JAVA)
    assert found == ["lib/src/main/java/com/acme/app/Service.java"]


# ---------------------------------------------------------------- c / c++

C = {"src/main.c", "src/util.h", "include/proj/api.h", "lib/foo/bar.h", "src/net/sock.c",
     "src/net/sock.h", "src/net/other.hpp"}


@pytest.mark.parametrize(("path", "module", "expected"), [
    ("src/main.c", "util.h", ["src/util.h"]),
    ("src/main.c", "proj/api.h", ["include/proj/api.h"]),
    ("src/main.c", "<proj/api.h>", ["include/proj/api.h"]),
    ("src/net/sock.c", "../util.h", ["src/util.h"]),
    ("src/net/sock.c", "sock.h", ["src/net/sock.h"]),
    ("src/net/sock.c", "util.h", ["src/util.h"]),  # up the tree
    ("src/main.c", "foo/bar.h", ["lib/foo/bar.h"]),  # by suffix
    ("src/main.c", "stdio.h", []),
    ("src/main.c", "<vector>", []),
])
def test_c_includes(path: str, module: str, expected: list[str]) -> None:
    assert resolve(path, "cpp", [ref(module)], C) == expected


# ---------------------------------------------------------------- scripting languages

SCRIPTS = {
    "app/main.rb", "app/helper.rb", "lib/acme/client.rb", "game/main.lua", "game/ui/button.lua",
    "game/ui/init.lua", "web/index.php", "web/inc/db.php", "app/Models/User.php",
    "bin/run.sh", "bin/lib/common.sh",
}


@pytest.mark.parametrize(("path", "language", "module", "expected"), [
    ("app/main.rb", "ruby", "./helper", ["app/helper.rb"]),  # require_relative "helper"
    ("app/main.rb", "ruby", "acme/client", ["lib/acme/client.rb"]),
    ("app/main.rb", "ruby", "json", []),
    ("game/main.lua", "lua", "game.ui.button", ["game/ui/button.lua"]),
    ("game/main.lua", "lua", "game.ui", ["game/ui/init.lua"]),
    ("game/main.lua", "lua", "socket", []),
    ("web/index.php", "php", "./inc/db.php", ["web/inc/db.php"]),
    ("web/index.php", "php", "inc/db.php", ["web/inc/db.php"]),
    ("web/index.php", "php", "App\\Models\\User", ["app/Models/User.php"]),  # PSR-4 prefix
    ("web/index.php", "php", "Illuminate\\Support\\Str", []),
    ("bin/run.sh", "bash", "./lib/common.sh", ["bin/lib/common.sh"]),
    ("bin/run.sh", "bash", "$DIR/lib/common.sh", ["bin/lib/common.sh"]),
    ("bin/run.sh", "bash", "/etc/profile", []),
])
def test_scripting_languages(path: str, language: str, module: str, expected: list[str]) -> None:
    assert resolve(path, language, [ref(module)], SCRIPTS) == expected


def test_refs_as_the_tree_sitter_parser_writes_them() -> None:
    """parse.py strips Python's dots into relative_level, lists Java's `.*` and Rust's
    `::*` as a "*" name, flattens Rust use trees into (prefix, names), and gives `mod x;`
    and `extern crate x;` as the bare name."""
    assert resolve("pkg/sub/mod.py", "python", [ref("util", ["strings"], level=2)], PY) == [
        "pkg/util/strings.py"]
    java = [ref("com.acme.app.util", ["*"]), ref("com.acme.app.util.Strings", ["*"])]
    assert resolve(JAVA_APP + "Main.java", "java", java, JAVA) == [
        JAVA_APP + "util/Dates.java", JAVA_APP + "util/Strings.java"]
    rust = [ref("crate::parser", ["self", "lexer::Lexer"]), ref("crate::util", ["*"]),
            ref("my_utils"), ref("parser")]
    assert resolve("src/main.rs", "rust", rust, RS) == [
        "src/parser/mod.rs", "src/parser/lexer.rs", "src/util.rs", "crates/my-utils/src/lib.rs"]


# ---------------------------------------------------------------- robustness


def test_unknown_language_and_bad_refs() -> None:
    assert resolve("a.hs", "haskell", [ref("./x")], {"x.hs"}) == []
    assert resolve("a.rb", None, [ref("./x")], {"x.rb"}) == []  # type: ignore[arg-type]
    errors: list[str] = []
    bad = ImportRef(module=None)  # type: ignore[arg-type]
    found = resolve_imports("main.py", "python", [bad, ref("pkg.core")], PY, errors=errors)
    assert found == ["pkg/core.py"]
    assert len(errors) == 1 and errors[0].startswith("main.py:0: import:")
    assert resolve_imports("main.py", "Python", [ref("pkg.core")], PY) == ["pkg/core.py"]


# ---------------------------------------------------------------- the graph

RECORDS = {
    "a.py": ["b.py", "c.py", "b.py", "a.py"],  # repeats and self-edges are dropped
    "b.py": ["d.py"],
    "c.py": ["d.py"],
    "d.py": ["e.py"],
    "x.py": ["b.py"],
}


def test_graph_both_directions() -> None:
    graph = ImportGraph().build(RECORDS)
    assert graph.imports_of("a.py") == ["b.py", "c.py"]
    assert graph.importers_of("b.py") == ["a.py", "x.py"]
    assert graph.importers_of("d.py") == ["b.py", "c.py"]
    assert graph.importers_of("a.py") == [] and graph.imports_of("e.py") == []
    assert "a.py" in graph and "e.py" not in graph and len(graph) == 5
    assert ImportGraph(RECORDS).importers_of("e.py") == ["d.py"]


def test_graph_neighbors_with_distances() -> None:
    graph = ImportGraph(RECORDS)
    assert graph.neighbors("a.py", 1, "imports") == {"b.py": 1, "c.py": 1}
    assert graph.neighbors("a.py", 3, "imports") == {"b.py": 1, "c.py": 1, "d.py": 2, "e.py": 3}
    assert graph.neighbors("e.py", 2, "importers") == {"d.py": 1, "b.py": 2, "c.py": 2}
    assert graph.neighbors("b.py", 2) == {"d.py": 1, "a.py": 1, "x.py": 1, "e.py": 2, "c.py": 2}
    assert graph.neighbors("b.py", 0) == {} and graph.neighbors("nowhere.py") == {}
    with pytest.raises(ValueError):
        graph.neighbors("a.py", 1, "sideways")  # type: ignore[arg-type]


def test_graph_cycles_terminate_with_shortest_distance() -> None:
    graph = ImportGraph({"a": ["b"], "b": ["c"], "c": ["a"]})
    assert graph.neighbors("a", 10, "imports") == {"b": 1, "c": 2}
    assert graph.neighbors("a", 10) == {"b": 1, "c": 1}


def test_graph_incremental_update_and_remove() -> None:
    graph = ImportGraph(RECORDS)
    graph.update("a.py", ["e.py"])
    assert graph.imports_of("a.py") == ["e.py"]
    assert graph.importers_of("b.py") == ["x.py"]
    assert graph.importers_of("c.py") == []
    assert graph.importers_of("e.py") == ["a.py", "d.py"]
    graph.update("new.py", ["d.py"])
    assert graph.importers_of("d.py") == ["b.py", "c.py", "new.py"]
    assert graph.remove("d.py") == ["b.py", "c.py", "new.py"]  # to re-resolve
    assert graph.importers_of("e.py") == ["a.py"] and "d.py" not in graph
    assert graph.remove("never-seen.py") == []
    assert graph.build({"z.py": ["y.py"]}).importers_of("e.py") == []
