"""The bundled default model: where it lives inside the package, and whether it is there.

A new user must get real completions with nothing to download, so a small model trained by
`autan train` ships inside the package, in `model/weights/default/` (installed as
`autan/model/weights/default/`): config.json, the safetensors weights (bf16, sharded into files
under 16 MiB), tokenizer.json and MODEL_CARD.md, the same layout any model folder has, read by
the same loader. Commands use it when no model is configured.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "weights" / "default"
DEFAULT_MODEL_NAME = "autan-small"  # the folder is named for its role, the model card for this


def is_model_folder(folder: Path) -> bool:
    """Whether `folder` holds a config, a tokenizer and some safetensors weights."""
    return (folder / "config.json").is_file() and (folder / "tokenizer.json").is_file() and (
        any(folder.glob("*.safetensors")))


def default_model_dir() -> Path | None:
    """The bundled model's folder, or None when this installation has none (a source
    checkout before the first trained model is committed)."""
    return DEFAULT_MODEL_DIR if is_model_folder(DEFAULT_MODEL_DIR) else None


def model_name(folder: Path) -> str:
    """What to call a model folder in messages: the bundled model by its name, any other by
    its folder's name."""
    resolved = Path(folder).expanduser().resolve()
    return DEFAULT_MODEL_NAME if resolved == DEFAULT_MODEL_DIR else resolved.name
