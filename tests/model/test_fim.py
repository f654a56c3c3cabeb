"""FIM prompt layouts, family detection, snapshot boundaries and stop tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from autan.model.errors import ModelFileError
from autan.model.io.fim import (
    AUTAN,
    CODELLAMA,
    CODESTRAL,
    DEEPSEEK,
    FAMILIES,
    QWEN,
    STARCODER,
    FimFamily,
    FimPrompt,
    build_file_prompt,
    build_fim_prompt,
    detect_family,
)
from autan.model.io.tokenizer import Tokenizer
from tests.model.tokenizer_fixtures import FAMILY_TOKENS, write_family_tokenizer, write_tokenizer

PREFIX = "def f(x):\n    "
SUFFIX = "\n    return y\n"
CONTEXT = [("pkg/util.py", "def add(a, b):\n    return a + b"), ("README.md", "# Title\n")]
BY_NAME = {"codestral": CODESTRAL, "starcoder": STARCODER, "qwen": QWEN, "deepseek": DEEPSEEK}
BY_NAME["codellama"] = CODELLAMA

# Decoded prompts without repository context.
PLAIN_LAYOUT = {
    "codestral": "<s>[SUFFIX]\n    return y\n[PREFIX] def f(x):\n    ",
    "starcoder": "<fim_prefix>def f(x):\n    <fim_suffix>\n    return y\n<fim_middle>",
    "qwen": "<|fim_prefix|>def f(x):\n    <|fim_suffix|>\n    return y\n<|fim_middle|>",
    "deepseek": (
        "<｜begin▁of▁sentence｜><｜fim▁begin｜>def f(x):\n    <｜fim▁hole｜>\n    return y\n"
        "<｜fim▁end｜>"
    ),
    # Meta's "<PRE> {pre} <SUF>{suf} <MID>": the spaces are the ▁ of ▁<SUF>/▁<MID> and the
    # dummy prefix of the prefix text; the suffix is encoded without one.
    "codellama": "<s> <PRE> def f(x):\n     <SUF>\n    return y\n <MID>",
}

UTIL = "pkg/util.py\ndef add(a, b):\n    return a + b\n"
# Decoded prompts with CONTEXT, repo_name="proj" and file_path="main.py".
REPO_LAYOUT = {
    "starcoder": (
        f"<repo_name>proj<file_sep>{UTIL}<file_sep>README.md\n# Title\n"
        "<file_sep><fim_prefix>main.py\ndef f(x):\n    <fim_suffix>\n    return y\n<fim_middle>"
    ),
    "qwen": (
        f"<|repo_name|>proj\n<|file_sep|>{UTIL}<|file_sep|>README.md\n# Title\n"
        "<|file_sep|>main.py\n<|fim_prefix|>def f(x):\n    <|fim_suffix|>\n    return y\n"
        "<|fim_middle|>"
    ),
    "deepseek": (
        "<｜begin▁of▁sentence｜># pkg/util.py\ndef add(a, b):\n    return a + b\n"
        "<!-- README.md -->\n# Title\n<｜fim▁begin｜># main.py\ndef f(x):\n    <｜fim▁hole｜>"
        "\n    return y\n<｜fim▁end｜>"
    ),
    "codestral": (
        "<s> # pkg/util.py\ndef add(a, b):\n    return a + b\n<!-- README.md -->\n# Title\n"
        "[SUFFIX]\n    return y\n[PREFIX] # main.py\ndef f(x):\n    "
    ),
    "codellama": (
        "<s> # pkg/util.py\ndef add(a, b):\n    return a + b\n<!-- README.md -->\n# Title\n"
        " <PRE> # main.py\ndef f(x):\n     <SUF>\n    return y\n <MID>"
    ),
}


def load(tmp_path: Path, family: str, config: dict | None = None) -> Tokenizer:
    folder = write_family_tokenizer(tmp_path / family, family, config=config)
    return Tokenizer.from_dir(folder)


def control_positions(tok: Tokenizer, ids: list[int]) -> list[tuple[int, str]]:
    """(position, name) of every control token (any fixture special) in `ids`."""
    names = {n for _, specials, extra in FAMILY_TOKENS.values() for n in specials + extra}
    control = {tok.token_id(n): n for n in names if tok.token_id(n) is not None}
    return [(i, control[t]) for i, t in enumerate(ids) if t in control]


def repo_prompt(
    family: FimFamily, tok: Tokenizer, prefix: str = PREFIX, suffix: str = SUFFIX
) -> FimPrompt:
    return build_fim_prompt(family, tok, prefix, suffix, CONTEXT, "proj", file_path="main.py")


@pytest.mark.parametrize("name", sorted(PLAIN_LAYOUT))
def test_layout_without_context(tmp_path: Path, name: str) -> None:
    tok = load(tmp_path, name)
    prompt = build_fim_prompt(BY_NAME[name], tok, PREFIX, SUFFIX)
    assert isinstance(prompt, FimPrompt)
    assert prompt.family is BY_NAME[name]
    assert tok.decode(prompt.ids) == PLAIN_LAYOUT[name]


def test_psm_ids_are_pieces_and_markers(tmp_path: Path) -> None:
    """Prefix-suffix-middle: markers by id, text pieces encoded on their own."""
    for name, (pre, suf, mid) in {
        "starcoder": ("<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
        "qwen": ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
    }.items():
        tok = load(tmp_path, name)
        ids = build_fim_prompt(BY_NAME[name], tok, PREFIX, SUFFIX).ids
        p, s = tok.encode(PREFIX), tok.encode(SUFFIX)
        assert ids == [tok.token_id(pre), *p, tok.token_id(suf), *s, tok.token_id(mid)]
        n = len(p)
        assert control_positions(tok, ids) == [(0, pre), (n + 1, suf), (len(ids) - 1, mid)]


def test_deepseek_ids(tmp_path: Path) -> None:
    tok = load(tmp_path, "deepseek")
    ids = build_fim_prompt(DEEPSEEK, tok, PREFIX, SUFFIX).ids
    p, s = tok.encode(PREFIX), tok.encode(SUFFIX)
    names = ["<｜begin▁of▁sentence｜>", "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"]
    bos, begin, hole, end = (tok.token_id(n) for n in names)
    assert ids == [bos, begin, *p, hole, *s, end]


def test_codestral_ids_put_suffix_first(tmp_path: Path) -> None:
    """Mistral's layout: BOS [SUFFIX] suffix [PREFIX] prefix, suffix without a dummy space."""
    tok = load(tmp_path, "codestral")
    ids = build_fim_prompt(CODESTRAL, tok, PREFIX, SUFFIX).ids
    s = tok.encode(SUFFIX, continuation=True)
    p = tok.encode(PREFIX)
    assert ids == [tok.bos_id, tok.token_id("[SUFFIX]"), *s, tok.token_id("[PREFIX]"), *p]
    assert control_positions(tok, ids) == [
        (0, "<s>"),
        (1, "[SUFFIX]"),
        (2 + len(s), "[PREFIX]"),
    ]


def test_codestral_empty_suffix(tmp_path: Path) -> None:
    tok = load(tmp_path, "codestral")
    ids = build_fim_prompt(CODESTRAL, tok, PREFIX, "").ids
    assert ids[:3] == [tok.bos_id, tok.token_id("[SUFFIX]"), tok.token_id("[PREFIX]")]


def test_codellama_ids(tmp_path: Path) -> None:
    tok = load(tmp_path, "codellama")
    ids = build_fim_prompt(CODELLAMA, tok, PREFIX, SUFFIX).ids
    p, s = tok.encode(PREFIX), tok.encode(SUFFIX, continuation=True)
    pre, suf, mid = (tok.token_id(n) for n in ("▁<PRE>", "▁<SUF>", "▁<MID>"))
    assert ids == [tok.bos_id, pre, *p, suf, *s, mid]
    assert tok.id_to_token(p[0]).startswith("▁")  # "<PRE> {pre}": dummy space kept
    assert not tok.id_to_token(s[0]).startswith("▁")  # "<SUF>{suf}": none


@pytest.mark.parametrize("name", sorted(REPO_LAYOUT))
def test_layout_with_repository_context(tmp_path: Path, name: str) -> None:
    tok = load(tmp_path, name)
    prompt = repo_prompt(BY_NAME[name], tok)
    assert tok.decode(prompt.ids) == REPO_LAYOUT[name]


def test_repo_tokens_positions(tmp_path: Path) -> None:
    tok = load(tmp_path, "starcoder")
    ids = repo_prompt(STARCODER, tok).ids
    names = [name for _, name in control_positions(tok, ids)]
    assert names == [
        "<repo_name>",
        "<file_sep>",
        "<file_sep>",
        "<file_sep>",
        "<fim_prefix>",
        "<fim_suffix>",
        "<fim_middle>",
    ]
    sep = tok.token_id("<file_sep>")
    first_sep = ids.index(sep)
    assert ids[1:first_sep] == tok.encode("proj")
    assert tok.decode(ids[first_sep + 1 : ids.index(sep, first_sep + 1)]) == UTIL


def test_context_without_repo_name_or_path(tmp_path: Path) -> None:
    tok = load(tmp_path, "qwen")
    prompt = build_fim_prompt(QWEN, tok, PREFIX, SUFFIX, CONTEXT[:1])
    assert tok.decode(prompt.ids) == (
        f"<|file_sep|>{UTIL}<|file_sep|><|fim_prefix|>def f(x):\n    <|fim_suffix|>"
        "\n    return y\n<|fim_middle|>"
    )


def test_family_without_repo_tokens_uses_comment_headers(tmp_path: Path) -> None:
    """StarCoder-1 style tokenizers have the FIM markers but no <file_sep>."""
    folder = write_tokenizer(
        tmp_path / "m", ("<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>")
    )
    tok = Tokenizer.from_dir(folder)
    prompt = build_fim_prompt(STARCODER, tok, "x = 1\n", "", [("a.rs", "fn a() {}\n")], "proj")
    expected_text = "// a.rs\nfn a() {}\n<fim_prefix>x = 1\n<fim_suffix><fim_middle>"
    assert tok.decode(prompt.ids) == expected_text
    assert prompt.boundaries == [len(tok.encode("// a.rs\nfn a() {}\n"))]
    expected = [tok.token_id(n) for n in ("<|endoftext|>", "<fim_prefix>", "<fim_suffix>")]
    assert prompt.stop_ids == [expected[0], expected[1], expected[2], tok.token_id("<fim_middle>")]


@pytest.mark.parametrize(
    ("path", "header"),
    [
        ("src/main.rs", "// src/main.rs\n"),
        ("web/index.html", "<!-- web/index.html -->\n"),
        ("Makefile", "# Makefile\n"),
        ("q.sql", "-- q.sql\n"),
        ("style.css", "/* style.css */\n"),
    ],
)
def test_path_header_comment_style(tmp_path: Path, path: str, header: str) -> None:
    tok = load(tmp_path, "deepseek")
    ids = build_fim_prompt(DEEPSEEK, tok, "", "", file_path=path).ids
    begin = tok.token_id("<｜fim▁begin｜>")
    hole = tok.token_id("<｜fim▁hole｜>")
    assert tok.decode(ids[ids.index(begin) + 1 : ids.index(hole)]) == header


@pytest.mark.parametrize("name", sorted(FAMILY_TOKENS))
def test_detect_family_from_tokens(tmp_path: Path, name: str) -> None:
    assert detect_family(load(tmp_path, name), None) is BY_NAME[name]


def test_detect_family_config_hints(tmp_path: Path) -> None:
    star = load(tmp_path, "starcoder")
    assert detect_family(star, {"model_type": "autan"}) is AUTAN
    assert detect_family(star, {"fim_family": "AUTAN"}) is AUTAN
    assert detect_family(star, {"model_type": "starcoder2"}) is STARCODER
    # A hint the tokenizer cannot serve is ignored: the tokens decide.
    assert detect_family(star, {"model_type": "qwen2"}) is STARCODER
    mamba = {"model_type": "mamba2", "architectures": ["Mamba2ForCausalLM"]}
    assert detect_family(load(tmp_path, "codestral"), mamba) is CODESTRAL


def test_detect_family_breaks_ties_with_config(tmp_path: Path) -> None:
    _, star_specials, _ = FAMILY_TOKENS["starcoder"]
    _, qwen_specials, qwen_extra = FAMILY_TOKENS["qwen"]
    specials = star_specials + tuple(t for t in qwen_specials if t not in star_specials)
    folder = write_tokenizer(tmp_path / "both", specials, non_special=qwen_extra)
    tok = Tokenizer.from_dir(folder)
    assert detect_family(tok, None) is QWEN
    assert detect_family(tok, {"architectures": ["Starcoder2ForCausalLM"]}) is STARCODER


def test_detect_family_none_without_markers(tmp_path: Path) -> None:
    tok = Tokenizer.from_dir(write_tokenizer(tmp_path / "m", ("<|endoftext|>", "<fim_prefix>")))
    assert detect_family(tok, None) is None
    assert detect_family(tok, {"model_type": "starcoder2"}) is None


def test_families_registry() -> None:
    assert set(FAMILIES) == {"codestral", "starcoder", "qwen", "deepseek", "codellama", "autan"}
    assert AUTAN.prefix == STARCODER.prefix and AUTAN.file_sep == STARCODER.file_sep


@pytest.mark.parametrize("name", sorted(FAMILY_TOKENS))
def test_boundaries_without_context(tmp_path: Path, name: str) -> None:
    tok = load(tmp_path, name)
    prompt = build_fim_prompt(BY_NAME[name], tok, PREFIX, SUFFIX)
    if name == "codestral":  # the suffix run ends after [PREFIX]
        assert prompt.boundaries == [len(prompt.ids) - len(tok.encode(PREFIX))]
        assert prompt.ids[prompt.boundaries[0] - 1] == tok.token_id("[PREFIX]")
    else:
        assert prompt.boundaries == []


@pytest.mark.parametrize("name", sorted(FAMILY_TOKENS))
def test_boundaries_are_stable_across_edits(tmp_path: Path, name: str) -> None:
    """Everything before a boundary stays the same when the cursor's surroundings change."""
    tok = load(tmp_path, name)
    family = BY_NAME[name]
    base = repo_prompt(family, tok)
    edited_prefix = repo_prompt(family, tok, prefix=PREFIX + "z = 2\n    ")
    edited_both = repo_prompt(family, tok, prefix="import os\n", suffix="\nprint(1)\n")
    expected = 2 if family.suffix_first else 1
    assert len(base.boundaries) == expected
    first = base.boundaries[0]
    assert edited_both.ids[:first] == base.ids[:first]
    assert edited_prefix.ids[: base.boundaries[-1]] == base.ids[: base.boundaries[-1]]
    assert edited_prefix.boundaries == base.boundaries
    # The context is a clean insert after the BOS: the rest is the context-free prompt.
    without_context = build_fim_prompt(family, tok, PREFIX, SUFFIX, file_path="main.py")
    bos = 1 if family.bos else 0
    assert without_context.ids == base.ids[:bos] + base.ids[first:]


def test_context_boundary_position(tmp_path: Path) -> None:
    for name, next_token in {
        "starcoder": "<file_sep>",
        "qwen": "<|file_sep|>",
        "deepseek": "<｜fim▁begin｜>",
        "codestral": "[SUFFIX]",
        "codellama": "▁<PRE>",
    }.items():
        tok = load(tmp_path, name)
        prompt = repo_prompt(BY_NAME[name], tok)
        assert prompt.ids[prompt.boundaries[0]] == tok.token_id(next_token), name


@pytest.mark.parametrize(
    ("name", "stops"),
    [
        ("codestral", ["</s>", "[PREFIX]", "[SUFFIX]", "[MIDDLE]"]),
        (
            "starcoder",
            [
                "<|endoftext|>",
                "<file_sep>",
                "<fim_prefix>",
                "<fim_suffix>",
                "<fim_middle>",
                "<fim_pad>",
                "<repo_name>",
            ],
        ),
        (
            "qwen",
            [
                "<|endoftext|>",
                "<|file_sep|>",
                "<|fim_pad|>",
                "<|fim_prefix|>",
                "<|fim_suffix|>",
                "<|fim_middle|>",
                "<|repo_name|>",
                "<|im_end|>",
            ],
        ),
        (
            "deepseek",
            [
                "<｜end▁of▁sentence｜>",
                "<|EOT|>",
                "<｜fim▁begin｜>",
                "<｜fim▁hole｜>",
                "<｜fim▁end｜>",
            ],
        ),
        ("codellama", ["▁<EOT>", "</s>"]),
    ],
)
def test_stop_ids(tmp_path: Path, name: str, stops: list[str]) -> None:
    tok = load(tmp_path, name)
    prompt = build_fim_prompt(BY_NAME[name], tok, PREFIX, SUFFIX)
    assert prompt.stop_ids == [tok.token_id(n) for n in stops]
    assert tok.eos_id in prompt.stop_ids
    assert "</s>" not in prompt.stop_strings  # an HTML closing tag, not a stop
    assert prompt.stop_strings == list(BY_NAME[name].stop_strings)


def test_stop_ids_include_config_eos(tmp_path: Path) -> None:
    probe = load(tmp_path / "probe", "qwen")
    im_start = probe.token_id("<|im_start|>")
    tok = load(tmp_path, "qwen", config={"eos_token_id": [probe.eos_id, im_start]})
    prompt = build_fim_prompt(QWEN, tok, PREFIX, SUFFIX)
    assert im_start in prompt.stop_ids
    assert len(prompt.stop_ids) == len(set(prompt.stop_ids))


def test_qwen_brief_stops(tmp_path: Path) -> None:
    tok = load(tmp_path, "qwen")
    stop_ids = build_fim_prompt(QWEN, tok, PREFIX, SUFFIX).stop_ids
    for name in ("<|endoftext|>", "<|file_sep|>", "<|fim_pad|>"):
        assert tok.token_id(name) in stop_ids
    assert "<|fim_pad|>" in QWEN.stop_strings


@pytest.mark.parametrize("name", sorted(FAMILY_TOKENS))
def test_user_text_spelling_control_tokens_stays_text(tmp_path: Path, name: str) -> None:
    """Code that mentions `<fim_prefix>` (say, in a FIM tool's own source) is not a marker."""
    tok = load(tmp_path, name)
    family = BY_NAME[name]
    _, specials, extra = FAMILY_TOKENS[name]
    spelled = " ".join(n.replace("▁", "") for n in specials + extra if n != "<unk>")
    prefix, suffix = f"s = '{spelled}'\n", f"\n# {spelled}\n"
    context = [(f"{spelled}.py", f"x = '{spelled}'\n")]
    clean = build_fim_prompt(family, tok, "s = 1\n", "\n# c\n", [("c.py", "x = 1\n")], "r")
    dirty = build_fim_prompt(family, tok, prefix, suffix, context, spelled)
    markers = [n for _, n in control_positions(tok, clean.ids)]
    assert [n for _, n in control_positions(tok, dirty.ids)] == markers
    text = tok.decode(dirty.ids)
    assert spelled.replace("▁", " ") in text or spelled in text


def test_missing_marker_raises_model_file_error(tmp_path: Path) -> None:
    tok = load(tmp_path, "starcoder")
    with pytest.raises(ModelFileError) as err:
        build_fim_prompt(QWEN, tok, PREFIX, SUFFIX)
    assert err.value.path == str(tmp_path / "starcoder" / "tokenizer.json")
    assert "<|fim_prefix|>" in err.value.problem


@pytest.mark.parametrize("family", ["starcoder", "qwen", "codestral", "codellama"])
def test_file_prompt_offsets_map_every_text_token_back_to_the_text(tmp_path: Path,
                                                                  family: str) -> None:
    """A review reads each token's position from `offsets`: decoding ids[text_start:] must
    give back the text, and the spans must tile it in order."""
    tok = Tokenizer.from_dir(write_family_tokenizer(tmp_path / family, family))
    text = "def f(x):\n    return x + 1  # é\n\n\nvalue = f(2)\n"
    prompt = build_file_prompt(BY_NAME[family], tok, text, "pkg/main.py", CONTEXT, "proj")
    assert len(prompt.offsets) == len(prompt.ids) - prompt.text_start
    assert prompt.offsets[0][0] == 0 and prompt.offsets[-1][1] == len(text)
    for (_, end), (start, _) in zip(prompt.offsets, prompt.offsets[1:], strict=False):
        assert start <= end  # adjacent, or overlapping inside one multi-byte character
    assert tok.decode(prompt.ids[prompt.text_start:], continuation=True).endswith(text[1:])
    assert prompt.boundaries and prompt.boundaries[-1] < prompt.text_start
    head = tok.decode(prompt.ids[: prompt.text_start])
    assert "pkg/util.py" in head and "pkg/main.py" in head


def test_file_prompt_uses_the_training_repository_layout(tmp_path: Path) -> None:
    tok = Tokenizer.from_dir(write_family_tokenizer(tmp_path / "s", "starcoder"))
    prompt = build_file_prompt(STARCODER, tok, "x = 1\n", "main.py", CONTEXT, "proj")
    assert tok.decode(prompt.ids) == (
        f"<repo_name>proj<file_sep>{UTIL}<file_sep>README.md\n# Title\n<file_sep>main.py\nx = 1\n")
