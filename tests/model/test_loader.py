"""Loading real on-disk layouts, and refusing bad model folders with one clear line each."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
import transformers as tf

from autan.model.errors import ModelFileError
from autan.model.io.loader import load_model
from tests.model.hf_fixtures import hf_logits, save_hf


def tiny_mamba2(folder: Path, **save: object) -> torch.nn.Module:
    config = tf.Mamba2Config(vocab_size=97, hidden_size=64, num_hidden_layers=2, num_heads=8,
                             head_dim=16, state_size=16, n_groups=2, chunk_size=16)
    torch.manual_seed(0)
    model = tf.Mamba2ForCausalLM(config).eval()
    model.save_pretrained(folder, **save)
    return model


def test_sharded_checkpoint_loads(tmp_path: Path) -> None:
    reference = tiny_mamba2(tmp_path, max_shard_size="20KB")
    assert (tmp_path / "model.safetensors.index.json").exists()
    assert len(list(tmp_path.glob("*.safetensors"))) > 1
    ids = torch.randint(0, 97, (1, 20), generator=torch.Generator().manual_seed(0))
    model, _ = load_model(tmp_path)
    assert (model(ids) - hf_logits(reference, ids)).abs().max() <= 1e-4


def test_bf16_load_casts_weights(tmp_path: Path) -> None:
    save_hf(tf.Mamba2ForCausalLM, tf.Mamba2Config(vocab_size=97, hidden_size=64,
            num_hidden_layers=1, num_heads=8, head_dim=16, state_size=16, n_groups=1), tmp_path)
    model, _ = load_model(tmp_path, dtype=torch.bfloat16)
    assert model.dtype == torch.bfloat16
    logits = model(torch.tensor([[1, 2, 3]]))
    assert logits.dtype == torch.float32 and torch.isfinite(logits).all()


def expect_error(folder: Path, fragment: str) -> ModelFileError:
    with pytest.raises(ModelFileError) as info:
        load_model(folder)
    message = str(info.value)
    assert "\n" not in message
    assert fragment in message, message
    return info.value


def test_missing_folder(tmp_path: Path) -> None:
    err = expect_error(tmp_path / "nope", "no such model folder")
    assert err.path.endswith("nope")


def test_missing_config(tmp_path: Path) -> None:
    expect_error(tmp_path, "no config.json or params.json")


def test_invalid_json(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    err = expect_error(tmp_path, "invalid JSON")
    assert err.path.endswith("config.json")


def test_unknown_architecture(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["GPT9ForMagic"]}))
    expect_error(tmp_path, "unknown architecture 'GPT9ForMagic'")


def test_shape_mismatch_names_tensor_and_file(tmp_path: Path) -> None:
    tiny_mamba2(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["state_size"] = 32  # the weights were made for 16
    (tmp_path / "config.json").write_text(json.dumps(config))
    err = expect_error(tmp_path, "has shape")
    assert err.path.endswith("model.safetensors")


def test_truncated_safetensors(tmp_path: Path) -> None:
    tiny_mamba2(tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    err = expect_error(tmp_path, "safetensors")
    assert err.path.endswith("model.safetensors")


def test_corrupt_safetensors_header(tmp_path: Path) -> None:
    tiny_mamba2(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\xff" * 64)
    expect_error(tmp_path, "not a valid safetensors file")


class _Boom:
    """Unpickling this would create a marker file: the loader must never unpickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pt", "consolidated.pth"])
def test_pickle_checkpoint_is_refused_unopened(tmp_path: Path, name: str) -> None:
    tiny_mamba2(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    marker = tmp_path / "unpickled"
    (tmp_path / name).write_bytes(pickle.dumps(_Boom(marker)))
    err = expect_error(tmp_path, "pickle checkpoints are refused")
    assert err.path.endswith(name)
    assert not marker.exists()
