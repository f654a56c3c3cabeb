"""Load a model folder: config, safetensors weights (sharded or not), tokenizer.

Formats: Hugging Face (`config.json`, `model.safetensors` or shards listed in
`model.safetensors.index.json`) and Mistral's (`params.json`, `consolidated.safetensors`).
Weights come from safetensors only: pickle checkpoints are refused, never opened. Every problem
is a `ModelFileError` naming the file and saying what is wrong in one line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from autan.model.archs import ADAPTERS, Adapter
from autan.model.config import ModelConfig
from autan.model.errors import ModelFileError
from autan.model.model import Model

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
# Kept fp32 whatever the model dtype: expert-choice biases separate experts by tiny margins
# (the reference keeps them fp32 too), and they are a few numbers per layer.
FP32_PARAMS = ("e_score_correction_bias",)


@dataclass
class Checkpoint:
    """A model folder's parsed config and where each tensor lives."""

    folder: Path
    config_file: Path
    raw: dict
    adapter: Adapter
    config: ModelConfig
    tensor_files: dict[str, Path]  # checkpoint key -> safetensors file


def read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise ModelFileError(path, f"cannot read: {err}") from err
    except json.JSONDecodeError as err:
        raise ModelFileError(path, f"invalid JSON: {err.msg} at line {err.lineno}") from err
    if not isinstance(data, dict):
        raise ModelFileError(path, "expected a JSON object")
    return data


def find_adapter(raw: dict, config_file: Path) -> Adapter:
    if config_file.name == "params.json":
        key = "mistral:" + str(raw.get("model_type", "transformer"))
    else:
        archs = raw.get("architectures") or []
        key = archs[0] if archs else ""
    if key not in ADAPTERS:
        known = ", ".join(sorted(k for k in ADAPTERS if ":" not in k))
        raise ModelFileError(config_file, f"unknown architecture {key!r}; supported: {known}")
    return ADAPTERS[key]


def weight_files(folder: Path, mistral: bool) -> list[Path]:
    """The safetensors files to read, preferring the layout the config file belongs to."""
    index = folder / "model.safetensors.index.json"
    if index.exists() and not mistral:
        weight_map = read_json(index).get("weight_map")
        if not isinstance(weight_map, dict):
            raise ModelFileError(index, "missing 'weight_map'")
        return sorted({folder / name for name in weight_map.values()})
    preferred = folder / ("consolidated.safetensors" if mistral else "model.safetensors")
    if preferred.exists():
        return [preferred]
    found = sorted(p for p in folder.glob("*.safetensors") if p.name != "consolidated.safetensors"
                   or mistral)
    if found:
        return found
    pickles = sorted(p for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise ModelFileError(pickles[0], "pickle checkpoints are refused (they can run code "
                             "when opened); convert the weights to safetensors")
    raise ModelFileError(folder, "no *.safetensors weights found")


def index_tensors(files: list[Path]) -> dict[str, Path]:
    where: dict[str, Path] = {}
    for path in files:
        if not path.exists():
            raise ModelFileError(path, "weight file listed in the index is missing")
        try:
            with safe_open(str(path), framework="pt") as f:
                for key in f.keys():  # noqa: SIM118 - safe_open is not a mapping
                    where[key] = path
        except (SafetensorError, OSError, ValueError) as err:
            raise ModelFileError(path, f"not a valid safetensors file ({err})") from err
    return where


def open_checkpoint(folder: str | Path) -> Checkpoint:
    """Parse a model folder's config and index its weights, without reading tensors."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelFileError(folder, "no such model folder")
    config_file = folder / "config.json"
    if not config_file.exists():
        config_file = folder / "params.json"
    if not config_file.exists():
        raise ModelFileError(folder, "no config.json or params.json in the model folder")
    raw = read_json(config_file)
    adapter = find_adapter(raw, config_file)
    config = adapter.model_config(raw, config_file)
    files = weight_files(folder, mistral=config_file.name == "params.json")
    return Checkpoint(folder, config_file, raw, adapter, config, index_tensors(files))


class TensorReader:
    """Reads checkpoint tensors, keeping each safetensors file open (memory-mapped) once."""

    def __init__(self, ckpt: Checkpoint) -> None:
        self.ckpt = ckpt
        self.handles: dict[Path, object] = {}

    def read(self, key: str) -> torch.Tensor:
        path = self.ckpt.tensor_files.get(key)
        if path is None:
            raise ModelFileError(self.ckpt.folder, f"tensor {key!r} is missing from the weights")
        try:
            if path not in self.handles:
                self.handles[path] = safe_open(str(path), framework="pt")
            return self.handles[path].get_tensor(key)
        except (SafetensorError, OSError, ValueError) as err:
            raise ModelFileError(path, f"cannot read tensor {key!r} ({err})") from err


def load_model(folder: str | Path, dtype: torch.dtype = torch.float32,
               device: str | torch.device = "cpu") -> tuple[Model, Checkpoint]:
    """Build the engine's model for a folder and fill it with the checkpoint's weights."""
    ckpt = open_checkpoint(folder)
    with torch.device("meta"):
        model = Model(ckpt.config, init_embedding=False)
    available = set(ckpt.tensor_files)
    reader = TensorReader(ckpt)
    params = dict(model.named_parameters(remove_duplicate=True))
    loaded: dict[str, torch.Tensor] = {}
    for name, param in params.items():
        source = ckpt.adapter.source(name, ckpt.config, available)
        if source is None:
            continue
        tensor = source.build([reader.read(k) for k in source.keys])
        if tuple(tensor.shape) != tuple(param.shape):
            raise ModelFileError(
                ckpt.tensor_files[source.keys[0]],
                f"tensor {source.keys[0]!r} has shape {tuple(tensor.shape)}, the config "
                f"({ckpt.config_file.name}) implies {tuple(param.shape)}",
            )
        keep32 = name.endswith(FP32_PARAMS)
        loaded[name] = tensor.to(device=device, dtype=torch.float32 if keep32 else dtype)
    model.load_state_dict(loaded, strict=False, assign=True)
    if ckpt.config.tie_embeddings:
        model.lm_head.weight = model.embed.weight
    missing = [n for n, p in model.named_parameters() if p.is_meta]
    if missing:
        raise ModelFileError(ckpt.folder, f"weights missing for {missing[0]} "
                             f"({len(missing)} parameters)")
    return model.eval().requires_grad_(False), ckpt
