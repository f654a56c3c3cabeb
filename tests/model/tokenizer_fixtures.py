"""Small real tokenizers built at test time, laid out like the code models' own.

Two styles cover the tokenizer.json shapes the engine meets: byte-level BPE (StarCoder, Qwen,
DeepSeek-Coder: GPT-2 byte alphabet, specials often at the start of the vocabulary) and
SentencePiece-style BPE (Mistral/Codestral, CodeLlama: `▁` for spaces, a dummy leading space,
`<0xNN>` byte-fallback tokens, BOS added by a template, specials appended after the vocab).
Training is a few milliseconds on the tiny corpus, so no files are checked in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from tokenizers import (
    AddedToken,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

# "metaspace": Mistral's newer layout (Metaspace pre-tokenizer); "llama": the legacy Llama
# layout (a Prepend + Replace normalizer and no pre-tokenizer). Both add a dummy leading space.
Style = Literal["bytelevel", "metaspace", "llama"]

CORPUS: tuple[str, ...] = (
    "def add(a, b):\n    return a + b\n",
    "class Greeter:\n    def greet(self, name):\n        print(f'hello {name}')\n",
    "for i in range(10):\n    if i % 2 == 0:\n        continue\n",
    "import os\nimport sys\n\nfrom pathlib import Path\n",
    'fn main() { let x = vec![1, 2, 3]; println!("{:?}", x); }\n',
    "const greet = (name) => `hello ${name}`; // greet someone\n",
    "# comment: return value is None\nwhile True:\n    break\n",
)

# Control tokens of each FIM family, named as in the real tokenizer.json files.
# (style, special tokens, added tokens that are not flagged special)
FAMILY_TOKENS: dict[str, tuple[Style, tuple[str, ...], tuple[str, ...]]] = {
    "codestral": (
        "metaspace",
        ("<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[PREFIX]", "[MIDDLE]", "[SUFFIX]"),
        (),
    ),
    "starcoder": (
        "bytelevel",
        (
            "<|endoftext|>",
            "<fim_prefix>",
            "<fim_middle>",
            "<fim_suffix>",
            "<fim_pad>",
            "<repo_name>",
            "<file_sep>",
        ),
        (),
    ),
    "qwen": (
        "bytelevel",
        ("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
        # Qwen2.5 ships its FIM tokens as added tokens with "special": false.
        (
            "<|fim_prefix|>",
            "<|fim_middle|>",
            "<|fim_suffix|>",
            "<|fim_pad|>",
            "<|repo_name|>",
            "<|file_sep|>",
        ),
    ),
    "deepseek": (
        "bytelevel",
        (
            "<｜begin▁of▁sentence｜>",
            "<｜end▁of▁sentence｜>",
            "<｜fim▁hole｜>",
            "<｜fim▁begin｜>",
            "<｜fim▁end｜>",
            "<|EOT|>",
        ),
        (),
    ),
    "codellama": (
        "llama",
        ("<unk>", "<s>", "</s>", "▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>"),
        (),
    ),
}


def _bytelevel(specials: Sequence[str], vocab_size: int) -> Tokenizer:
    """GPT-2 style byte-level BPE; specials take the first ids, as in StarCoder."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer)
    return tok


def _sentencepiece(specials: Sequence[str], vocab_size: int, legacy: bool) -> Tokenizer:
    """Llama/Mistral style BPE: `▁` spaces, dummy prefix, byte fallback, BOS template.

    The first three specials (<unk>, <s>, </s>) get ids 0-2 from the trainer; the byte
    tokens follow the learned vocabulary and the remaining specials are appended after them.
    """
    base, extra = list(specials[:3]), list(specials[3:])
    tok = Tokenizer(models.BPE(unk_token=base[0], byte_fallback=True))
    if legacy:
        tok.normalizer = normalizers.Sequence(
            [normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")]
        )
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=base, show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    first = max(vocab.values()) + 1
    vocab.update({f"<0x{b:02X}>": first + b for b in range(256)})
    spec["decoder"] = {
        "type": "Sequence",
        "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0},
        ],
    }
    tok = Tokenizer.from_str(json.dumps(spec))
    tok.post_processor = processors.TemplateProcessing(
        single=f"{base[1]} $A", special_tokens=[(base[1], tok.token_to_id(base[1]))]
    )
    tok.add_special_tokens(extra)
    return tok


def build_tokenizer(
    specials: Sequence[str] = ("<|endoftext|>",),
    *,
    style: Style = "bytelevel",
    non_special: Sequence[str] = (),
    vocab_size: int = 400,
) -> Tokenizer:
    """A trained `tokenizers.Tokenizer` holding `specials` (flagged special) and `non_special`.

    For the SentencePiece styles, `specials` must start with the unk, BOS and EOS names.
    """
    if style == "bytelevel":
        tok = _bytelevel(specials, vocab_size)
    else:
        tok = _sentencepiece(specials, vocab_size, legacy=style == "llama")
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in non_special])
    return tok


def write_tokenizer(
    folder: Path,
    specials: Sequence[str] = ("<|endoftext|>",),
    *,
    style: Style = "bytelevel",
    non_special: Sequence[str] = (),
    config: Mapping[str, Any] | None = None,
) -> Path:
    """Save a tokenizer (and optionally a config.json) into `folder`; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    build_tokenizer(specials, style=style, non_special=non_special).save(
        str(folder / "tokenizer.json")
    )
    if config is not None:
        (folder / "config.json").write_text(json.dumps(dict(config)), encoding="utf-8")
    return folder


def write_family_tokenizer(
    folder: Path, family: str, config: Mapping[str, Any] | None = None
) -> Path:
    """A tokenizer folder carrying the control tokens of FIM family `family`."""
    style, specials, non_special = FAMILY_TOKENS[family]
    return write_tokenizer(folder, specials, style=style, non_special=non_special, config=config)
