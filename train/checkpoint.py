"""Training state on disk: weights, optimizer moments, step and data position, no pickle.

The engine never unpickles (ARCHITECTURE.md), and a training checkpoint is no exception: the
fp32 weights and every optimizer tensor go into safetensors under `param_name::state_key`,
and everything else (step, data position, optimizer hyperparameters, options) into JSON.
Resuming restores all of it, so the run continues exactly as if it had not stopped.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from autan.model.model import Model
from autan.train.data import Position


@dataclass
class TrainState:
    step: int = 0
    position: Position = field(default_factory=Position)
    tokens: int = 0  # target tokens trained on (padding excluded)
    elapsed_s: float = 0.0  # training wall time, summed over resumed runs
    total_steps: int = 0  # the schedule's length (fixed once a time budget is calibrated)
    calibrated: bool = False


def params_by_name(model: Model) -> dict[str, torch.nn.Parameter]:
    """Parameters under their first name (a tied head appears once, as `embed.weight`)."""
    return dict(model.named_parameters())


def save_train_state(folder: Path, model: Model, optimizer: torch.optim.Optimizer,
                     state: TrainState, options: dict) -> None:
    """Write weights.safetensors, optimizer.safetensors and state.json, each atomically;
    state.json last, so a state.json always describes complete tensor files."""
    folder.mkdir(parents=True, exist_ok=True)
    params = params_by_name(model)
    names = {id(p): n for n, p in params.items()}
    moments: dict[str, torch.Tensor] = {}
    for p, slots in optimizer.state.items():
        for key, value in slots.items():
            moments[f"{names[id(p)]}::{key}"] = torch.as_tensor(value).detach().cpu()
    weights = {n: p.detach().cpu().contiguous() for n, p in params.items()}
    for filename, tensors in (("weights.safetensors", weights),
                              ("optimizer.safetensors", moments)):
        save_file(tensors, str(folder / f"{filename}.tmp"))
        os.replace(folder / f"{filename}.tmp", folder / filename)
    groups = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    meta = {"state": asdict(state), "param_groups": groups,
            "group_params": [[names[id(p)] for p in g["params"]] for g in optimizer.param_groups],
            "options": options}
    (folder / "state.json.tmp").write_text(json.dumps(meta, indent=1) + "\n")
    os.replace(folder / "state.json.tmp", folder / "state.json")


def read_state_meta(folder: Path) -> dict:
    """The JSON half of a saved state (options, step, position)."""
    return json.loads((folder / "state.json").read_text(encoding="utf-8"))


def load_train_state(folder: Path, model: Model,
                     optimizer: torch.optim.Optimizer) -> tuple[TrainState, dict]:
    """Restore weights and optimizer in place; returns the state and the saved options."""
    meta = read_state_meta(folder)
    params = params_by_name(model)
    weights = load_file(str(folder / "weights.safetensors"))
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(weights[name].to(p.device))
    moments = load_file(str(folder / "optimizer.safetensors"))
    index = {n: i for i, n in enumerate(n for g in meta["group_params"] for n in g)}
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in moments.items():
        name, slot = key.split("::")
        slots.setdefault(index[name], {})[slot] = value
    groups = [{**g, "params": [index[n] for n in names]}
              for g, names in zip(meta["param_groups"], meta["group_params"], strict=True)]
    optimizer.load_state_dict({"state": slots, "param_groups": groups})
    raw = meta["state"]
    state = TrainState(**{**raw, "position": Position(**raw["position"])})
    return state, meta["options"]
