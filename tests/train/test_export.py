"""Export: a trained model goes through the normal loader (NemotronH layout, sharded bf16),
config.json round-trips, the card's evaluation section is rewritten in place, and the bundled
default model (when present) completes code that parses."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import torch

from autan.model.archs.nemotron_h import NemotronHAdapter
from autan.model.config import Mamba2Config, named_config
from autan.model.io.default_model import default_model_dir
from autan.model.io.fim import detect_family
from autan.model.io.loader import load_model
from autan.model.io.tokenizer import Tokenizer
from autan.model.runtime.engine import Engine, Generated
from autan.train.card import EVAL_END, EVAL_START, export_model, update_eval_section
from autan.train.loop import build_model, model_config
from autan.wire.types import SamplingParams
from tests.train.fixtures import make_docs, make_tokenizer


@pytest.mark.parametrize("shape", ["autan-small", "autan-tiny", "tiny-hybrid"])
def test_hf_config_round_trips(shape: str) -> None:
    cfg = named_config(shape)
    raw = json.loads(json.dumps(NemotronHAdapter().hf_config(cfg)))
    back = NemotronHAdapter().model_config(raw, Path("config.json"))
    assert back.blocks == cfg.blocks
    assert (back.vocab_size, back.d_model, back.norm_eps) == (cfg.vocab_size, cfg.d_model,
                                                              cfg.norm_eps)


def test_hf_config_refuses_what_it_cannot_write() -> None:
    cfg = named_config("tiny-hybrid")
    mixer = cfg.blocks[0].mixer
    assert isinstance(mixer, Mamba2Config)
    mixer.norm_before_gate = True
    with pytest.raises(ValueError):
        NemotronHAdapter().hf_config(cfg)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_export_loads_through_the_normal_loader(tmp_path: Path, dtype: torch.dtype) -> None:
    tok = make_tokenizer(tmp_path, make_docs())
    model = build_model(model_config("tiny-hybrid", tok), seed=0, device=torch.device("cpu"))
    out = export_model(model.eval(), tmp_path / "model", tok, "# card\n", dtype=dtype,
                       max_shard_bytes=200_000)
    shards = sorted(p.name for p in out.glob("*.safetensors"))
    assert len(shards) > 1 and all((out / s).stat().st_size < 400_000 for s in shards)
    loaded, ckpt = load_model(out)
    tokenizer = Tokenizer.from_dir(out)
    assert detect_family(tokenizer, ckpt.raw).name == "autan"
    assert tokenizer.eos_id == model.cfg.eos_token_id
    ids = torch.tensor([tokenizer.encode("def add(a, b):\n    return a + b\n")])
    with torch.no_grad():
        expected = model.to(dtype).float()(ids)
    tol = 1e-5 if dtype == torch.float32 else 1e-4
    torch.testing.assert_close(loaded(ids), expected, atol=tol, rtol=tol)


def test_card_evaluation_section_is_replaced(tmp_path: Path) -> None:
    card = tmp_path / "MODEL_CARD.md"
    card.write_text(f"# m\n\n## Evaluation\n\n{EVAL_START}\nold\n{EVAL_END}\n\n## After\n")
    update_eval_section(card, "| new | table |")
    text = card.read_text()
    assert "old" not in text and "| new | table |" in text and text.endswith("## After\n")


def test_default_model_completes_code_that_parses() -> None:
    folder = default_model_dir()
    if folder is None:
        pytest.skip("no bundled default model in this checkout")
    model, _ = load_model(folder)
    engine = Engine(model, Tokenizer.from_dir(folder))
    # The prompt stops mid-expression, so it parses only once the model has written a name
    # after `os.path.`: an empty completion, or a comment, is a syntax error.
    prompt = "import os\n\n\ndef join(a, b):\n    return os.path."
    with pytest.raises(SyntaxError):
        ast.parse(prompt + "\n")
    params = SamplingParams(max_tokens=16, stop_strings=("\n",),
                            stop_ids=engine.tokenizer.eos_ids)
    done = next(e for e in engine.generate(engine.tokenizer.encode(prompt), params)
                if isinstance(e, Generated))
    line = done.text.split("\n")[0]
    assert done.token_ids and line.strip(), done
    returned = ast.parse(prompt + line + "\n").body[1].body[0]  # type: ignore[attr-defined]
    assert isinstance(returned, ast.Return), ast.dump(returned)
    assert isinstance(returned.value, ast.Attribute | ast.Call), ast.dump(returned)
