"""Write a model in the Hugging Face layout the loader reads (config.json + model.safetensors).

Used for checkpoints autan makes itself (the demo model, trained models), so that they go
through exactly the loader real checkpoints use. Only architectures whose adapter can describe
their config (`hf_config`) and whose parameters map one-to-one onto checkpoint tensors are
writable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import save_file

from autan.model.archs import ADAPTERS
from autan.model.model import Model


def checkpoint_tensors(model: Model) -> dict[str, torch.Tensor]:
    """The model's parameters under their checkpoint names."""
    adapter = ADAPTERS[model.cfg.architecture]
    out: dict[str, torch.Tensor] = {}
    params = dict(model.named_parameters())
    for name, param in params.items():
        source = adapter.source(name, model.cfg, set())
        if source is None:
            continue
        if len(source.keys) != 1 or source.combine is not None:
            raise ValueError(f"{model.cfg.architecture}: {name} does not map to one tensor")
        out[source.keys[0]] = param.detach().contiguous().cpu()
    return out


def save_checkpoint(model: Model, folder: str | Path) -> Path:
    """Write config.json and model.safetensors into `folder` (created if needed).

    Files are written to temporary names and renamed, so a reader never sees half a file.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    adapter = ADAPTERS[model.cfg.architecture]
    config = adapter.hf_config(model.cfg)  # type: ignore[attr-defined]
    weights_tmp = folder / "model.safetensors.tmp"
    save_file(checkpoint_tensors(model), str(weights_tmp), metadata={"format": "pt"})
    config_tmp = folder / "config.json.tmp"
    config_tmp.write_text(json.dumps(config, indent=2) + "\n")
    os.replace(weights_tmp, folder / "model.safetensors")
    os.replace(config_tmp, folder / "config.json")
    return folder
