"""Which tree-sitter grammar reads which file, and the grammars themselves, loaded once.

The indexer only knows a file by its path (and, for scripts without an extension, its first
line), so this module is the single place that maps names to languages. Each language is
backed by an official grammar wheel (`tree-sitter-<name>` on PyPI); a wheel's module is
imported only when a file of that language is first parsed, so indexing a Go repository
never loads the PHP grammar.

Language names are the keys of `LANGUAGES`; they also name the query files in `queries/`.

| language   | grammar wheel (loader)                          | files                          |
|------------|-------------------------------------------------|--------------------------------|
| python     | tree-sitter-python (`language`)                 | .py .pyi .pyw, SConstruct      |
| javascript | tree-sitter-javascript (`language`)             | .js .mjs .cjs .jsx             |
| typescript | tree-sitter-typescript (`language_typescript`)  | .ts .mts .cts                  |
| tsx        | tree-sitter-typescript (`language_tsx`)         | .tsx                           |
| go         | tree-sitter-go (`language`)                     | .go                            |
| rust       | tree-sitter-rust (`language`)                   | .rs                            |
| java       | tree-sitter-java (`language`)                   | .java                          |
| c          | tree-sitter-c (`language`)                      | .c .h                          |
| cpp        | tree-sitter-cpp (`language`)                    | .cc .cpp .cxx .c++ .hpp .hh    |
|            |                                                 | .hxx .h++ .ipp .tpp .inl       |
| c_sharp    | tree-sitter-c-sharp (`language`)                | .cs .csx                       |
| ruby       | tree-sitter-ruby (`language`)                   | .rb .rake .gemspec .ru,        |
|            |                                                 | Rakefile Gemfile ...           |
| php        | tree-sitter-php (`language_php`: PHP in HTML)   | .php .phtml                    |
| bash       | tree-sitter-bash (`language`)                   | .sh .bash, .bashrc .profile    |
| lua        | tree-sitter-lua (`language`)                    | .lua                           |

Extensionless scripts are recognised by their shebang when the caller passes the first line.
"""

from __future__ import annotations

import importlib
import keyword
import re
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath

from tree_sitter import Language


@dataclass(frozen=True)
class LanguageSpec:
    """One supported language: its grammar wheel, the files it claims and its keywords.

    `keywords` filters the identifier list: tree-sitter's error recovery can turn a keyword
    into an `identifier` node, and words like `self` carry no cross-file meaning.
    """

    name: str
    module: str  # the grammar wheel's import name
    loader: str  # the function in that module that returns the grammar pointer
    extensions: tuple[str, ...]
    filenames: tuple[str, ...] = ()
    interpreters: tuple[str, ...] = ()  # shebang interpreters, e.g. "python3"
    keywords: frozenset[str] = frozenset()


def _words(text: str) -> frozenset[str]:
    """A keyword set from a whitespace-separated string (keeps the table below readable)."""
    return frozenset(text.split())


_JS_KEYWORDS = _words(
    "break case catch class const continue debugger default delete do else export extends "
    "finally for function if import in instanceof let new return super switch this throw try "
    "typeof var void while with yield async await of static get set null true false undefined"
)
_TS_KEYWORDS = _JS_KEYWORDS | _words(
    "abstract any as asserts boolean declare enum implements infer interface is keyof module "
    "namespace never number object private protected public readonly string symbol "
    "type unique unknown satisfies override"
)
_C_KEYWORDS = _words(
    "auto break case char const continue default do double else enum extern float for goto if "
    "inline int long register restrict return short signed sizeof static struct switch "
    "typedef union unsigned void volatile while NULL true false bool"
)
_CPP_KEYWORDS = _C_KEYWORDS | _words(
    "alignas alignof and asm catch class constexpr consteval constinit const_cast decltype "
    "delete dynamic_cast explicit export friend mutable namespace new noexcept not nullptr "
    "operator or private protected public reinterpret_cast static_assert static_cast template "
    "this thread_local throw try typeid typename using virtual override final co_await "
    "co_return co_yield concept requires"
)

LANGUAGES: dict[str, LanguageSpec] = {
    spec.name: spec
    for spec in (
        LanguageSpec(
            "python", "tree_sitter_python", "language", (".py", ".pyi", ".pyw"),
            ("SConstruct", "SConscript"), ("python", "python2", "python3"),
            frozenset(keyword.kwlist) | {"self"},
        ),
        LanguageSpec(
            "javascript", "tree_sitter_javascript", "language", (".js", ".mjs", ".cjs", ".jsx"),
            (), ("node", "nodejs", "deno", "bun"), _JS_KEYWORDS,
        ),
        LanguageSpec(
            "typescript", "tree_sitter_typescript", "language_typescript",
            (".ts", ".mts", ".cts"), (), ("ts-node", "tsx"), _TS_KEYWORDS,
        ),
        LanguageSpec("tsx", "tree_sitter_typescript", "language_tsx", (".tsx",),
                     keywords=_TS_KEYWORDS),
        LanguageSpec(
            "go", "tree_sitter_go", "language", (".go",), keywords=_words(
                "break case chan const continue default defer else fallthrough for func go "
                "goto if import interface map package range return select struct switch type "
                "var nil true false iota"
            ),
        ),
        LanguageSpec(
            "rust", "tree_sitter_rust", "language", (".rs",), keywords=_words(
                "as async await break const continue crate dyn else enum extern false fn for "
                "if impl in let loop match mod move mut pub ref return self Self static struct "
                "super trait true type unsafe use where while union macro_rules"
            ),
        ),
        LanguageSpec(
            "java", "tree_sitter_java", "language", (".java",), keywords=_words(
                "abstract assert boolean break byte case catch char class const continue "
                "default do double else enum extends final finally float for goto if "
                "implements import instanceof int interface long native new package private "
                "protected public return short static strictfp super switch synchronized this "
                "throw throws transient try void volatile while var record yield sealed "
                "permits null true false"
            ),
        ),
        # `.h` is C: a C++ header parses well enough as C for definitions and includes,
        # while a C header parsed as C++ trips on C-only syntax (e.g. `new` as a name).
        LanguageSpec("c", "tree_sitter_c", "language", (".c", ".h"), keywords=_C_KEYWORDS),
        LanguageSpec(
            "cpp", "tree_sitter_cpp", "language",
            (".cc", ".cpp", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp", ".tpp",
             ".inl"), keywords=_CPP_KEYWORDS,
        ),
        LanguageSpec(
            "c_sharp", "tree_sitter_c_sharp", "language", (".cs", ".csx"), keywords=_words(
                "abstract as base bool break byte case catch char checked class const "
                "continue decimal default delegate do double else enum event explicit extern "
                "false finally fixed float for foreach goto if implicit in int interface "
                "internal is lock long namespace new null object operator out override params "
                "private protected public readonly ref return sbyte sealed short sizeof "
                "stackalloc static string struct switch this throw true try typeof uint ulong "
                "unchecked unsafe ushort using virtual void volatile while var async await "
                "record get set init value"
            ),
        ),
        LanguageSpec(
            "ruby", "tree_sitter_ruby", "language", (".rb", ".rake", ".gemspec", ".ru"),
            ("Rakefile", "Gemfile", "Guardfile", "Vagrantfile", "Podfile"), ("ruby",),
            _words(
                "alias and begin break case class def defined? do else elsif end ensure "
                "false for if in module next nil not or redo rescue retry return self super "
                "then true undef unless until when while yield __FILE__ __LINE__"
            ),
        ),
        LanguageSpec(
            "php", "tree_sitter_php", "language_php", (".php", ".phtml"), (), ("php",),
            _words(
                "abstract and array as break callable case catch class clone const continue "
                "declare default do echo else elseif empty enddeclare endfor endforeach endif "
                "endswitch endwhile enum extends final finally fn for foreach function global "
                "goto if implements include include_once instanceof insteadof interface isset "
                "list match namespace new or print private protected public readonly require "
                "require_once return static switch throw trait try unset use var while xor "
                "yield this self parent null true false NULL TRUE FALSE"
            ),
        ),
        LanguageSpec(
            "bash", "tree_sitter_bash", "language", (".sh", ".bash"),
            (".bashrc", ".bash_profile", ".bash_logout", ".profile", "PKGBUILD"),
            ("sh", "bash", "dash", "ksh"), _words(
                "if then else elif fi case esac for select while until do done in function "
                "time coproc"
            ),
        ),
        LanguageSpec(
            "lua", "tree_sitter_lua", "language", (".lua",), (), ("lua", "luajit"), _words(
                "and break do else elseif end false for function goto if in local nil not or "
                "repeat return then true until while self"
            ),
        ),
    )
}

_BY_EXTENSION: dict[str, str] = {
    ext: spec.name for spec in LANGUAGES.values() for ext in spec.extensions
}
_BY_FILENAME: dict[str, str] = {
    fname: spec.name for spec in LANGUAGES.values() for fname in spec.filenames
}
_BY_INTERPRETER: dict[str, str] = {
    interp: spec.name for spec in LANGUAGES.values() for interp in spec.interpreters
}
_SHEBANG = re.compile(r"^#!\s*(\S+)(?:\s+(?:-\S+\s+)*(\S+))?")


def language_for(path: str, first_line: str | None = None) -> str | None:
    """The language of a file, or None when it is not source code we can parse.

    The extension decides (case-insensitively), then the exact file name (`Rakefile`),
    then, only when a caller passes it, the shebang of the first line (`#!/usr/bin/env
    python3`), since extensionless scripts are common in `bin/` folders.
    """
    name = PurePosixPath(path.replace("\\", "/")).name
    by_name = _BY_FILENAME.get(name)
    if by_name is not None:
        return by_name
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in _BY_EXTENSION:
        return _BY_EXTENSION[suffix]
    return language_for_shebang(first_line) if first_line else None


def language_for_shebang(first_line: str) -> str | None:
    """The language a `#!` line names (`/usr/bin/env -S python3 -u` → python), or None."""
    match = _SHEBANG.match(first_line.strip())
    if match is None:
        return None
    program = PurePosixPath(match.group(1)).name
    if program == "env" and match.group(2):
        program = PurePosixPath(match.group(2)).name
    interpreter = re.sub(r"[\d.]+$", "", program)  # python3.12 -> python
    return _BY_INTERPRETER.get(program) or _BY_INTERPRETER.get(interpreter)


@cache
def get_language(name: str) -> Language:
    """The grammar for a language name, imported and wrapped once per process.

    Raises KeyError for an unknown name and ImportError when the grammar wheel is missing;
    `parse.parse_source` turns both into an error message instead of an exception.
    """
    spec = LANGUAGES[name]
    module = importlib.import_module(spec.module)
    return Language(getattr(module, spec.loader)())


def supported_languages() -> list[str]:
    """Every language name, sorted, for help texts and statistics."""
    return sorted(LANGUAGES)
