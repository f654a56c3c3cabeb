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


def shard(tensors: dict[str, torch.Tensor], max_bytes: int) -> list[dict[str, torch.Tensor]]:
    """Tensors split in order into groups of at most `max_bytes` (a larger tensor alone)."""
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for key, tensor in tensors.items():
        nbytes = tensor.numel() * tensor.element_size()
        if shards[-1] and size + nbytes > max_bytes:
            shards.append({})
            size = 0
        shards[-1][key] = tensor
        size += nbytes
    return shards


def save_checkpoint(model: Model, folder: str | Path, dtype: torch.dtype | None = None,
                    max_shard_bytes: int | None = None, extra_config: dict | None = None) -> Path:
    """Write config.json and model.safetensors into `folder` (created if needed).

    `dtype` converts the weights as written (a bf16 copy of an fp32 model is half the size);
    `max_shard_bytes` splits them into `model-0000i-of-0000n.safetensors` files listed in
    `model.safetensors.index.json`, as Hugging Face shards, where files must stay small;
    `extra_config` adds fields to config.json. Weights left by an earlier save in the other
    layout are removed, since the loader would prefer them. Files are written to temporary
    names and renamed, so a reader never sees half a file.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    adapter = ADAPTERS[model.cfg.architecture]
    config = {**adapter.hf_config(model.cfg), **(extra_config or {})}  # type: ignore[attr-defined]
    tensors = checkpoint_tensors(model)
    if dtype is not None:
        tensors = {k: v.to(dtype) for k, v in tensors.items()}
    groups = [tensors] if max_shard_bytes is None else shard(tensors, max_shard_bytes)
    names = (["model.safetensors"] if len(groups) == 1 else
             [f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors" for i in range(len(groups))])
    for old in [*folder.glob("model-*-of-*.safetensors"), folder / "model.safetensors",
                folder / "model.safetensors.index.json"]:
        if old.name not in names:
            old.unlink(missing_ok=True)
    for name, group in zip(names, groups, strict=True):
        save_file(group, str(folder / f"{name}.tmp"), metadata={"format": "pt"})
        os.replace(folder / f"{name}.tmp", folder / name)
    if len(groups) > 1:
        index = {"metadata": {"total_size": sum(v.numel() * v.element_size()
                                                for v in tensors.values())},
                 "weight_map": {k: n for n, g in zip(names, groups, strict=True) for k in g}}
        write_json(folder / "model.safetensors.index.json", index)
    write_json(folder / "config.json", config)
    return folder


def write_json(path: Path, data: dict) -> None:
    """Atomic write of a JSON file (temporary name, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
