"""What every parity module checks, once: engine logits against transformers', and the engine
against itself when the prompt goes in one token or one piece at a time.

Tolerance: max abs difference <= 1e-4 on logits of order 1-10. Both sides compute in fp32 with
the same formulas but a different order of operations (chunked scan vs. transformers' chunking,
explicit attention vs. its eager path), which leaves differences around 1e-6; a real mistake
(wrong weight layout, norm axis, gate, rotary layout) moves logits by 1e-2 or more.

The incremental checks compare with the engine's own one-shot logits (those are the ones
compared with transformers), which catches cache and position bugs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from autan.model.io.loader import load_model
from autan.model.model import Model
from autan.model.runtime.state import InferenceState
from tests.model.hf_fixtures import hf_logits, save_hf

TOL = 1e-4
VOCAB = 97
SEQLEN = 37  # crosses the 16-token Mamba chunk boundary of the fixtures' configs

Cases = dict[str, tuple[type, Callable[[], object]]]
Saver = Callable[[type, object, Path], torch.nn.Module]


def prompt_ids() -> torch.Tensor:
    """The prompt every case runs: 2 x SEQLEN seeded tokens below VOCAB."""
    return torch.randint(0, VOCAB, (2, SEQLEN), generator=torch.Generator().manual_seed(1))


def report(label: str, got: torch.Tensor, expected: torch.Tensor) -> float:
    """max |got - expected|, printed with the scale of `expected` (pytest -s shows it)."""
    diff = (got - expected).abs().max().item()
    print(f"{label}: max |diff| = {diff:.2e}, logits scale {expected.abs().max().item():.1f}")
    return diff


def assert_matches_transformers(label: str, got: torch.Tensor, expected: torch.Tensor) -> None:
    """The engine's logits `got` are within TOL of transformers' `expected`, and those are not
    trivially small (near-zero logits would match anything)."""
    diff = report(label, got, expected)
    assert expected.abs().max() > 1.0, f"{label}: transformers' logits are near zero"
    assert diff <= TOL, f"{label}: max |diff| {diff:.2e} > {TOL}"


def save_checkpoints(cases: Cases, tmp_path_factory: pytest.TempPathFactory,
                     save: Saver = save_hf) -> dict[str, tuple[Path, torch.Tensor]]:
    """Each case saved once by `save`: its folder and transformers' logits on `prompt_ids()`."""
    saved = {}
    for case, (model_cls, make_config) in cases.items():
        folder = tmp_path_factory.mktemp(case)
        reference = save(model_cls, make_config(), folder)
        saved[case] = (folder, hf_logits(reference, prompt_ids()))
    return saved


def decode_steps(model: Model, ids: torch.Tensor, n_prompt: int,
                 state: InferenceState) -> torch.Tensor:
    """Logits of a prefill of `n_prompt` tokens into `state`, then of each later token fed one
    at a time."""
    logits = [model(ids[:, :n_prompt], state)]
    for t in range(n_prompt, ids.shape[1]):
        logits.append(model(ids[:, t : t + 1], state))
    return torch.cat(logits, dim=1)


def split_logits(model: Model, ids: torch.Tensor, cuts: list[int]) -> torch.Tensor:
    """Logits of `ids` fed into one fresh state in the pieces between consecutive `cuts`."""
    state = model.new_state(ids.shape[0])
    pieces = [model(ids[:, a:b], state) for a, b in itertools.pairwise(cuts)]
    return torch.cat(pieces, dim=1)


def load_rewritten(folder: Path, config_text: str, weights: dict[str, torch.Tensor]) -> Model:
    """The engine's model of a saved case written again another way: `config_text` as
    config.json and `weights` as model.safetensors in `folder`."""
    (folder / "config.json").write_text(config_text)
    save_file(weights, folder / "model.safetensors")
    model, _ = load_model(folder)
    return model


def load_and_compare(label: str, reference: torch.nn.Module, folder: Path) -> Model:
    """Load `folder`, where transformers' `reference` was saved, in the engine and check its
    logits on `prompt_ids()` against the reference's; the engine's model, for more checks."""
    ids = prompt_ids()
    expected = hf_logits(reference, ids)
    model, _ = load_model(folder)
    assert_matches_transformers(label, model(ids), expected)
    return model
