"""Mistral's own on-disk format (`params.json` + `consolidated.safetensors`), as Mamba-Codestral
ships, gives the same logits as the HF checkpoint it was converted from (tolerance 1e-4, fp32).

The conversion here is written from the published layouts: Codestral Mamba's keys are
`model.backbone.embedding.weight`, `model.backbone.layers.{i}.mixer.*`, `model.lm_head.weight`;
Mistral transformers store wq/wk with interleaved rotary pairs (the inverse of the HF permute).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import transformers as tf
from safetensors.torch import load_file, save_file

from autan.model.io.loader import load_model
from tests.model.hf_fixtures import hf_logits, save_hf

TOL = 1e-4


def hf_tensors(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def test_codestral_mamba_params_json(tmp_path: Path) -> None:
    config = tf.Mamba2Config(vocab_size=97, hidden_size=64, num_hidden_layers=2, num_heads=2,
                             head_dim=64, state_size=128, n_groups=2, chunk_size=256,
                             tie_word_embeddings=False)
    reference = save_hf(tf.Mamba2ForCausalLM, config, tmp_path / "hf")
    tensors = {}
    for key, value in hf_tensors(tmp_path / "hf").items():
        key = key.replace("backbone.embeddings.", "backbone.embedding.")
        tensors["model." + key] = value
    out = tmp_path / "mistral"
    out.mkdir()
    save_file(tensors, str(out / "consolidated.safetensors"))
    params = {"dim": 64, "n_layers": 2, "vocab_size": 97, "n_groups": 2, "rms_norm": True,
              "residual_in_fp32": True, "fused_add_norm": True, "pad_vocab_size_multiple": 1,
              "tie_embeddings": False, "model_type": "mamba"}
    (out / "params.json").write_text(json.dumps(params))
    ids = torch.randint(0, 97, (1, 300), generator=torch.Generator().manual_seed(0))
    model, _ = load_model(out)
    diff = (model(ids) - hf_logits(reference, ids)).abs().max().item()
    print(f"codestral-mamba params.json: max |diff| = {diff:.2e}")
    assert diff <= TOL


def interleave(w: torch.Tensor, nheads: int) -> torch.Tensor:
    """HF half-split rows -> Mistral interleaved rows (inverse of the HF conversion permute)."""
    rows, cols = w.shape
    return w.view(nheads, 2, rows // nheads // 2, cols).transpose(1, 2).reshape(rows, cols)


def to_mistral_keys(tensors: dict[str, torch.Tensor], heads: int, kv: int) -> dict:
    names = {"self_attn.q_proj": "attention.wq", "self_attn.k_proj": "attention.wk",
             "self_attn.v_proj": "attention.wv", "self_attn.o_proj": "attention.wo",
             "mlp.gate_proj": "feed_forward.w1", "mlp.down_proj": "feed_forward.w2",
             "mlp.up_proj": "feed_forward.w3", "input_layernorm": "attention_norm",
             "post_attention_layernorm": "ffn_norm"}
    out = {"tok_embeddings.weight": tensors["model.embed_tokens.weight"],
           "norm.weight": tensors["model.norm.weight"], "output.weight": tensors["lm_head.weight"]}
    for key, value in tensors.items():
        if not key.startswith("model.layers."):
            continue
        key = key.removeprefix("model.")
        for hf, mistral in names.items():
            key = key.replace(hf, mistral)
        if ".wq." in key or ".wk." in key:
            value = interleave(value, heads if ".wq." in key else kv)
        out[key] = value
    return out


def test_mistral_transformer_params_json(tmp_path: Path) -> None:
    config = tf.MistralConfig(vocab_size=97, hidden_size=64, intermediate_size=96,
                              num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                              rope_parameters={"rope_type": "default", "rope_theta": 1e6},
                              sliding_window=None)
    reference = save_hf(tf.MistralForCausalLM, config, tmp_path / "hf")
    out = tmp_path / "mistral"
    out.mkdir()
    save_file(to_mistral_keys(hf_tensors(tmp_path / "hf"), 4, 2),
              str(out / "consolidated.safetensors"))
    params = {"dim": 64, "n_layers": 2, "head_dim": 16, "hidden_dim": 96, "n_heads": 4,
              "n_kv_heads": 2, "norm_eps": config.rms_norm_eps, "vocab_size": 97,
              "rope_theta": 1e6}
    (out / "params.json").write_text(json.dumps(params))
    ids = torch.randint(0, 97, (1, 40), generator=torch.Generator().manual_seed(0))
    model, _ = load_model(out)
    diff = (model(ids) - hf_logits(reference, ids)).abs().max().item()
    print(f"mistral transformer params.json: max |diff| = {diff:.2e}")
    assert diff <= TOL
