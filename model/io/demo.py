"""A small checkpoint autan makes by itself, so a new user sees the whole path run with no
download: a byte-level BPE tokenizer trained on autan's own source files, and a tiny Mamba-2
model with seeded random weights, saved in the Hugging Face layout the loader reads.

Its completions are not meaningful text (the weights are random); it exists to show, and to
test, everything around the model until a trained default model ships.
"""

from __future__ import annotations

import os
from pathlib import Path

from tokenizers import Tokenizer as HfTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

SPECIAL_TOKENS = ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>",
                  "<fim_pad>", "<file_sep>", "<repo_name>"]


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "autan"


def train_tokenizer(vocab_size: int) -> HfTokenizer:
    """Byte-level BPE over the .py files of the installed autan package."""
    package_root = Path(__file__).resolve().parents[2]  # the installed `autan` folder
    files = sorted(str(p) for p in package_root.rglob("*.py"))
    tok = HfTokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train(files, trainer)
    return tok


def make_demo_checkpoint(folder: str | Path, seed: int = 0) -> Path:
    """Write the demo model into `folder` (config.json, model.safetensors, tokenizer.json)."""
    # Imported here: the language server asks for `demo_folder()` and must not load torch.
    from autan.model.config import named_config
    from autan.model.io.writer import save_checkpoint
    from autan.model.random_init import random_model

    folder = Path(folder)
    tokenizer = train_tokenizer(vocab_size=512)
    config = named_config("tiny-mamba2")
    config.vocab_size = tokenizer.get_vocab_size()
    config.eos_token_id = tokenizer.token_to_id("<|endoftext|>")
    save_checkpoint(random_model(config, seed=seed), folder)
    tmp = folder / "tokenizer.json.tmp"
    tokenizer.save(str(tmp))
    os.replace(tmp, folder / "tokenizer.json")
    return folder


def demo_folder() -> Path:
    """Where the demo model lives (it may not exist yet)."""
    return default_cache_dir() / "demo-model"


def default_or_demo() -> Path:
    """The bundled default model, or (in a checkout without one) the demo model."""
    from autan.model.io.default_model import default_model_dir

    return default_model_dir() or demo_checkpoint()


def demo_checkpoint() -> Path:
    """The demo model's folder under the user cache, made on first use."""
    folder = demo_folder()
    if not (folder / "tokenizer.json").exists():
        make_demo_checkpoint(folder)
    return folder
