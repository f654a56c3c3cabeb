"""Training: the engine's forward is differentiable, a few steps lower the loss, a resumed
run equals an uninterrupted one, and the schedule has its shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from autan.model.config import named_config
from autan.model.model import Model
from autan.train.data import DataOptions
from autan.train.loop import TrainData, TrainOptions, lr_at, train
from tests.train.fixtures import make_docs, make_tokenizer


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> TrainData:
    docs = make_docs(packages=4, files=5)
    tok = make_tokenizer(tmp_path_factory.mktemp("tok"), docs)
    held = [d for d in docs if d.package == "pkg3"]
    return TrainData([d for d in docs if d.package != "pkg3"], held, tok,
                     DataOptions(seq_len=64, chars_per_token=2.5))


def options(**changes: object) -> TrainOptions:
    base = dict(shape="tiny-hybrid", steps=30, batch_size=4, seq_len=64, lr=3e-3, warmup=5,
                eval_every=10, eval_batches=2, save_every=0, log_every=5, threads=2)
    return TrainOptions(**{**base, **changes})


def test_forward_without_state_is_differentiable() -> None:
    torch.manual_seed(0)
    cfg = named_config("tiny-hybrid")
    model = Model(cfg)
    for p in model.parameters():  # the engine's zero-initialised params would hide grads
        torch.nn.init.normal_(p, std=0.05)
    ids = torch.randint(0, cfg.vocab_size, (2, 40))
    logits = model(ids)
    torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, cfg.vocab_size),
                                      ids[:, 1:].reshape(-1)).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.slow
def test_a_few_steps_lower_the_loss(data: TrainData, tmp_path: Path) -> None:
    result = train(options(), data, tmp_path)
    evals = [r["eval_loss"] for r in result.log if "eval_loss" in r]
    assert result.log[-1]["loss"] < result.log[0]["loss"] - 0.5
    assert evals[-1] < evals[0]
    assert result.state.step == 30 and result.state.tokens > 0
    lines = (tmp_path / "train_log.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["step"] == 30


def test_resume_reproduces_an_uninterrupted_run(data: TrainData, tmp_path: Path) -> None:
    opts = options(steps=8, eval_batches=0, log_every=1)
    straight = train(opts, data, tmp_path / "a")
    train(options(steps=8, eval_batches=0, log_every=1, stop_after=3), data, tmp_path / "b")
    resumed = train(opts, data, tmp_path / "b", resume=True)
    assert resumed.state.step == 8 and resumed.state.position == straight.state.position
    for (name, p), q in zip(straight.model.named_parameters(), resumed.model.parameters(),
                            strict=True):
        assert torch.equal(p, q), name
    losses = [r["loss"] for r in straight.log]
    assert [r["loss"] for r in resumed.log] == losses[3:]


def test_resume_refuses_another_run(data: TrainData, tmp_path: Path) -> None:
    train(options(steps=2, eval_batches=0), data, tmp_path)
    with pytest.raises(ValueError, match="batch_size"):
        train(options(steps=2, eval_batches=0, batch_size=2), data, tmp_path, resume=True)


def test_schedule_warms_up_then_decays_to_the_floor() -> None:
    opts = TrainOptions(lr=1e-3, warmup=10, min_lr_ratio=0.1)
    assert lr_at(0, opts, 100) == pytest.approx(1e-4)
    assert lr_at(9, opts, 100) == pytest.approx(1e-3)
    assert lr_at(55, opts, 100) == pytest.approx(0.55e-3)
    assert lr_at(100, opts, 100) == pytest.approx(1e-4)
    assert all(lr_at(s, opts, 100) >= lr_at(s + 1, opts, 100) for s in range(10, 100))
