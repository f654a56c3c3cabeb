"""Fill-in-the-middle prompts: one layout per model family, with the tokens that end a completion.

Each family was trained on its own arrangement of control tokens around the code before
(prefix) and after (suffix) the cursor. The prompt is assembled from ids, never from a string
with the control tokens spelled out: text pieces are encoded as plain text (so user code that
contains `<fim_prefix>` stays text) and control tokens are inserted by the id their name has in
this tokenizer.

Parts are ordered from most to least stable between keystrokes: repository context first, then
(for suffix-first layouts) the suffix, then the prefix. `FimPrompt.boundaries` marks where each
stable run ends, so the engine can snapshot its recurrent state there and re-run only the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any

from autan.model.errors import ModelFileError
from autan.model.io.tokenizer import Tokenizer

Names = tuple[str, ...]  # alternative spellings of one control token, first match wins


@dataclass(frozen=True)
class FimFamily:
    """How one model family lays out a FIM prompt; token fields list alternative names."""

    name: str
    prefix: Names
    suffix: Names
    middle: Names = ()  # empty: the layout has no middle marker (Codestral)
    suffix_first: bool = False  # suffix, then prefix last (the prefix changes most)
    bos: Names = ()  # empty: no BOS; else names tried before the tokenizer's own BOS
    repo_name: Names = ()  # repository-level context tokens; without them context is text
    file_sep: Names = ()
    repo_name_end: str = ""  # text after the repository name
    path_in_prefix: bool = False  # StarCoder2 puts the current file's path after <fim_prefix>
    suffix_continues: bool = False  # encode the suffix without a SentencePiece dummy space
    stops: Names = ()  # tokens that end a completion (missing ones are skipped)
    stop_strings: Names = ()  # the same, as text, where a model may spell them out
    hints: Names = ()  # lower-case config model_type / architecture fragments


CODESTRAL = FimFamily(
    name="codestral",
    prefix=("[PREFIX]",),
    suffix=("[SUFFIX]",),
    suffix_first=True,
    bos=("<s>",),
    suffix_continues=True,
    stops=("</s>", "[PREFIX]", "[SUFFIX]", "[MIDDLE]"),
    stop_strings=("[PREFIX]", "[SUFFIX]"),
    hints=("mamba2", "mistral", "codestral"),
)
STARCODER = FimFamily(
    name="starcoder",
    prefix=("<fim_prefix>",),
    suffix=("<fim_suffix>",),
    middle=("<fim_middle>",),
    repo_name=("<repo_name>",),
    file_sep=("<file_sep>",),
    path_in_prefix=True,
    stops=(
        "<|endoftext|>",
        "<file_sep>",
        "<fim_prefix>",
        "<fim_suffix>",
        "<fim_middle>",
        "<fim_pad>",
        "<repo_name>",
    ),
    stop_strings=("<|endoftext|>", "<file_sep>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
    hints=("starcoder", "gpt_bigcode", "gptbigcode"),
)
QWEN = FimFamily(
    name="qwen",
    prefix=("<|fim_prefix|>",),
    suffix=("<|fim_suffix|>",),
    middle=("<|fim_middle|>",),
    repo_name=("<|repo_name|>",),
    file_sep=("<|file_sep|>",),
    repo_name_end="\n",
    stops=(
        "<|endoftext|>",
        "<|file_sep|>",
        "<|fim_pad|>",
        "<|fim_prefix|>",
        "<|fim_suffix|>",
        "<|fim_middle|>",
        "<|repo_name|>",
        "<|im_end|>",
    ),
    stop_strings=("<|endoftext|>", "<|file_sep|>", "<|fim_pad|>", "<|fim_prefix|>"),
    hints=("qwen",),
)
DEEPSEEK = FimFamily(
    name="deepseek",
    prefix=("<｜fim▁begin｜>",),
    suffix=("<｜fim▁hole｜>",),
    middle=("<｜fim▁end｜>",),
    bos=("<｜begin▁of▁sentence｜>",),
    stops=(
        "<｜end▁of▁sentence｜>",
        "<|EOT|>",
        "<｜fim▁begin｜>",
        "<｜fim▁hole｜>",
        "<｜fim▁end｜>",
    ),
    stop_strings=("<｜end▁of▁sentence｜>", "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),
    hints=("deepseek",),
)
CODELLAMA = FimFamily(
    name="codellama",
    prefix=("▁<PRE>", "<PRE>"),
    suffix=("▁<SUF>", "<SUF>"),
    middle=("▁<MID>", "<MID>"),
    bos=("<s>",),
    suffix_continues=True,
    stops=("▁<EOT>", "<EOT>", "</s>"),
    stop_strings=("<EOT>",),
    hints=("codellama",),
)
# Our own bundled model will be trained on the StarCoder2 layout and tokens.
AUTAN = replace(STARCODER, name="autan", hints=("autan",))

# Detection order when the config gives no hint: the most distinctive token sets first.
FAMILIES: dict[str, FimFamily] = {
    f.name: f for f in (DEEPSEEK, QWEN, STARCODER, CODESTRAL, CODELLAMA, AUTAN)
}


@dataclass
class FimPrompt:
    """A built prompt: `ids` to feed, where the stable runs end, and what ends the completion.

    `boundaries[i]` is a position in `ids` such that `ids[:boundaries[i]]` depends only on the
    parts that change least (context files, then the suffix in suffix-first layouts).
    """

    family: FimFamily
    ids: list[int]
    boundaries: list[int] = field(default_factory=list)
    stop_ids: list[int] = field(default_factory=list)
    stop_strings: list[str] = field(default_factory=list)


def _lookup(tokenizer: Tokenizer, names: Names) -> int | None:
    """The id of the first of `names` the tokenizer has."""
    for name in names:
        if (found := tokenizer.token_id(name)) is not None:
            return found
    return None


def _require(tokenizer: Tokenizer, family: FimFamily, names: Names) -> int:
    """Like `_lookup`, but a missing control token makes the folder unusable for this family."""
    found = _lookup(tokenizer, names)
    if found is None:
        raise ModelFileError(
            tokenizer.path, f"no {names[0]!r} token for the {family.name} FIM layout"
        )
    return found


def _supports(tokenizer: Tokenizer, family: FimFamily) -> bool:
    """Whether every marker token of `family` exists in the tokenizer."""
    markers = [family.prefix, family.suffix] + ([family.middle] if family.middle else [])
    return all(_lookup(tokenizer, names) is not None for names in markers)


def _config_hint(config: Mapping[str, Any] | None) -> FimFamily | None:
    """The family a model config points at: an explicit `fim_family`, else its model type."""
    if not config:
        return None
    explicit = config.get("fim_family")
    if isinstance(explicit, str) and explicit.lower() in FAMILIES:
        return FAMILIES[explicit.lower()]
    words = [config.get("model_type"), *(config.get("architectures") or [])]
    text = " ".join(w.lower() for w in words if isinstance(w, str))
    for family in (AUTAN, *FAMILIES.values()):
        if any(hint in text for hint in family.hints):
            return family
    return None


def detect_family(
    tokenizer: Tokenizer, config: Mapping[str, Any] | None = None
) -> FimFamily | None:
    """The FIM family this model speaks, or None when its tokenizer has no complete marker set.

    The tokenizer decides (a family is only returned if its markers all exist, so a prompt
    can be built); the config breaks ties, e.g. the StarCoder tokens of our own model with
    `model_type: autan`, or a Mamba-2 checkpoint with Mistral's `[SUFFIX]`/`[PREFIX]`.
    """
    hinted = _config_hint(config)
    if hinted is not None and _supports(tokenizer, hinted):
        return hinted
    for family in FAMILIES.values():
        if family is not AUTAN and _supports(tokenizer, family):
            return family
    return None


_COMMENT_STYLES: tuple[tuple[str, tuple[str, str]], ...] = (
    ("py rb sh bash zsh pl r yaml yml toml jl ex exs nim cmake ps1 mk cfg ini conf", ("#", "")),
    ("dockerfile makefile", ("#", "")),
    ("sql lua hs elm ada adb ads", ("--", "")),
    ("lisp clj cljs el scm rkt asm s", (";", "")),
    ("tex erl hrl", ("%", "")),
    ("html htm xml md vue svelte", ("<!--", " -->")),
    ("css scss less", ("/*", " */")),
)
# File extension (or bare lower-case file name) -> comment opener and closer; default "//".
_COMMENTS: dict[str, tuple[str, str]] = {
    ext: style for exts, style in _COMMENT_STYLES for ext in exts.split()
}


def _path_header(path: str) -> str:
    """A one-line comment naming `path`, for families without file-separator tokens."""
    name = PurePosixPath(path.replace("\\", "/")).name.lower()
    ext = name.rsplit(".", 1)[-1] if "." in name else name
    opener, closer = _COMMENTS.get(ext, ("//", ""))
    return f"{opener} {path}{closer}\n"


def _with_newline(text: str) -> str:
    """`text` ending in a newline, so the next file's separator starts a fresh line."""
    return text if not text or text.endswith("\n") else text + "\n"


class _Builder:
    """Accumulates ids and boundary positions for one prompt."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.boundaries: list[int] = []

    def token(self, token_id: int | None) -> None:
        """Append a control token by id (None: an optional token this tokenizer lacks)."""
        if token_id is not None:
            self.ids.append(token_id)

    def text(self, text: str, continuation: bool = False) -> None:
        """Append `text` encoded on its own, as plain text (control spellings stay text)."""
        if text:
            self.ids.extend(self.tokenizer.encode(text, continuation=continuation))

    def mark(self) -> None:
        """Record a boundary at the current end, unless empty or already recorded."""
        n = len(self.ids)
        if n and (not self.boundaries or self.boundaries[-1] != n):
            self.boundaries.append(n)


def _add_context(
    b: _Builder,
    family: FimFamily,
    context_files: Sequence[tuple[str, str]],
    repo_name: str | None,
) -> bool:
    """Append the repository context; True when the family's repository tokens were used."""
    repo_id = _lookup(b.tokenizer, family.repo_name)
    sep_id = _lookup(b.tokenizer, family.file_sep)
    if sep_id is None:  # no repository tokens: name each file in a comment line instead
        b.text("".join(_path_header(p) + _with_newline(c) for p, c in context_files))
        return False
    if repo_name is not None and repo_id is not None:
        b.token(repo_id)
        b.text(repo_name + family.repo_name_end)
    for path, content in context_files:
        b.token(sep_id)
        b.text(f"{path}\n{_with_newline(content)}")
    return True


def _stops(family: FimFamily, tokenizer: Tokenizer) -> list[int]:
    """Ids of the family's stop tokens that exist, plus the tokenizer's EOS ids."""
    found = [tokenizer.token_id(name) for name in family.stops]
    ids = [i for i in found if i is not None] + list(tokenizer.eos_ids)
    return list(dict.fromkeys(ids))


def _markers(tokenizer: Tokenizer, family: FimFamily) -> tuple[int, int, int | None]:
    """The (prefix, suffix, middle) marker ids; middle is None for layouts without one."""
    pre_id = _require(tokenizer, family, family.prefix)
    suf_id = _require(tokenizer, family, family.suffix)
    mid_id = _require(tokenizer, family, family.middle) if family.middle else None
    return pre_id, suf_id, mid_id


def _add_fim_body(
    b: _Builder,
    family: FimFamily,
    markers: tuple[int, int, int | None],
    prefix: str,
    suffix: str,
) -> None:
    """Append the markers and the code around the cursor in the family's order.

    Suffix-first layouts get a boundary after the prefix marker: everything up to there
    survives typing, which only changes the prefix.
    """
    pre_id, suf_id, mid_id = markers
    if family.suffix_first:
        b.token(suf_id)
        b.text(suffix, continuation=family.suffix_continues)
        b.token(pre_id)
        b.mark()
        b.text(prefix)
    else:
        b.token(pre_id)
        b.text(prefix)
        b.token(suf_id)
        b.text(suffix, continuation=family.suffix_continues)
        b.token(mid_id)


def build_fim_prompt(
    family: FimFamily,
    tokenizer: Tokenizer,
    prefix: str,
    suffix: str,
    context_files: Sequence[tuple[str, str]] = (),
    repo_name: str | None = None,
    file_path: str | None = None,
) -> FimPrompt:
    """Lay out a FIM prompt for `family`: ids, snapshot boundaries, and stop tokens.

    `context_files` are (path, content) pairs from the repository, most stable first;
    `file_path` names the file being edited. Raises ModelFileError if the tokenizer lacks
    one of the family's marker tokens.
    """
    markers = _markers(tokenizer, family)  # fail before any encoding work
    b = _Builder(tokenizer)
    if family.bos:
        bos_id = _lookup(tokenizer, family.bos)
        b.token(tokenizer.bos_id if bos_id is None else bos_id)
    before_context = len(b.ids)
    repo_tokens = _add_context(b, family, context_files, repo_name)
    if len(b.ids) > before_context:
        b.mark()
    head = _current_file_head(b, family, repo_tokens, bool(context_files), repo_name, file_path)
    _add_fim_body(b, family, markers, head + prefix, suffix)
    return FimPrompt(
        family=family,
        ids=b.ids,
        boundaries=b.boundaries,
        stop_ids=_stops(family, tokenizer),
        stop_strings=list(family.stop_strings),
    )


def _current_file_head(
    b: _Builder,
    family: FimFamily,
    repo_tokens: bool,
    has_context: bool,
    repo_name: str | None,
    file_path: str | None,
) -> str:
    """Open the edited file; return text to put before the prefix inside the prefix part.

    With repository tokens the file gets its own separator (Qwen: separator and path before
    the FIM markers; StarCoder2: path after `<fim_prefix>`). Without them the path, if
    given, becomes a comment line at the top of the prefix.
    """
    if not repo_tokens:
        return _path_header(file_path) if file_path else ""
    if has_context or repo_name is not None or file_path:
        b.token(_lookup(b.tokenizer, family.file_sep))
    if not file_path:
        return ""
    if family.path_in_prefix:
        return f"{file_path}\n"
    b.text(f"{file_path}\n")
    return ""


@dataclass
class FilePrompt:
    """A prompt that reads one file left to right after the repository context, for scoring.

    `ids[:text_start]` is the context and the file's header; `ids[text_start:]` hold the file's
    text, `offsets[i]` the (start, end) character span of `ids[text_start + i]` in it. The
    boundary after the context is the same for every file of a review, so the engine computes
    the context once.
    """

    ids: list[int]
    boundaries: list[int]
    text_start: int
    offsets: list[tuple[int, int]]


def build_file_prompt(
    family: FimFamily,
    tokenizer: Tokenizer,
    text: str,
    file_path: str,
    context_files: Sequence[tuple[str, str]] = (),
    repo_name: str | None = None,
) -> FilePrompt:
    """Lay out the context files, then `file_path` and `text`, as training's repository format
    does for a file it did not transform: the path line and the code are one text piece."""
    b = _Builder(tokenizer)
    if family.bos:
        bos_id = _lookup(tokenizer, family.bos)
        b.token(tokenizer.bos_id if bos_id is None else bos_id)
    repo_tokens = _add_context(b, family, context_files, repo_name)
    b.mark()
    if repo_tokens:
        b.token(_lookup(tokenizer, family.file_sep))
        head = f"{file_path}\n"
    else:
        head = _path_header(file_path)
    ids, spans = tokenizer.encode_offsets(head + text)
    first = next((i for i, (_, end) in enumerate(spans) if end > len(head)), len(ids))
    offsets = [(max(0, s - len(head)), e - len(head)) for s, e in spans[first:]]
    text_start = len(b.ids) + first
    return FilePrompt(b.ids + ids, b.boundaries, text_start, offsets)
