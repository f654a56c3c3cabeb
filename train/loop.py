"""The training loop: the engine's own `Model`, AdamW, cosine schedule, checkpoints.

The model trained is exactly the one inference runs (`autan.model.model.Model` with the
reference kernels, which are plain differentiable PyTorch), so what is saved loads through the
normal loader with no conversion. On CUDA the forward runs under bf16 autocast with fp32
weights and optimizer; on CPU everything is fp32. `torch.compile` is optional (it triples GPU
throughput for the reference kernels but takes a minute or more to compile).

Reproducibility: one seed fixes the initial weights and the data (each epoch is rebuilt from
(seed, epoch)); a checkpoint holds weights, optimizer moments, step and data position, so a
resumed run sees the same batches in the same order as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from autan.model.config import ModelConfig, named_config
from autan.model.model import Model
from autan.train.bpe import plain_encoder
from autan.train.checkpoint import (
    TrainState,
    load_train_state,
    read_state_meta,
    save_train_state,
)
from autan.train.corpus import Document
from autan.train.data import DataOptions, EpochStream, build_epoch
from autan.train.fim_examples import PAD, special_ids
from autan.train.options import TrainOptions

# Options that must match for a resumed run to continue the same run.
RESUME_KEYS = ("shape", "batch_size", "seq_len", "seed", "lr", "warmup", "min_lr_ratio",
               "weight_decay")
CALIBRATE_AFTER = 20  # steps timed before a time budget fixes the schedule's length


@dataclass
class TrainData:
    train_docs: list[Document]
    heldout_docs: list[Document]
    tokenizer: Path
    data: DataOptions
    corpus_meta: dict = field(default_factory=dict)  # packages and licenses, for the card


@dataclass
class TrainResult:
    model: Model
    state: TrainState
    eval_loss: float | None
    log: list[dict]


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when present."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def model_config(shape: str, tokenizer: Path) -> ModelConfig:
    """The named shape with the tokenizer's vocabulary and EOS, and tied embeddings (a third
    of a small model's weights is the embedding; tying halves that)."""
    cfg = named_config(shape)
    encoder = plain_encoder(tokenizer)
    cfg.vocab_size = encoder.get_vocab_size()
    cfg.eos_token_id = encoder.token_to_id("<|endoftext|>")
    cfg.tie_embeddings = True
    return cfg


@torch.no_grad()
def init_weights(model: Model, seed: int) -> Model:
    """GPT-style init (normal, std 0.02; output projections scaled down by depth) with Mamba's
    own for its SSM parameters: decays A in [1, 16], dt in [1e-3, 1e-1], skip D = 1."""
    gen = torch.Generator().manual_seed(seed)
    depth_scale = 1.0 / math.sqrt(2 * len(model.blocks))
    for name, p in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "A_log":
            value = torch.empty(p.shape).uniform_(1.0, 16.0, generator=gen).log()
        elif leaf == "dt_bias":
            dt = torch.empty(p.shape).uniform_(math.log(1e-3), math.log(1e-1), generator=gen)
            dt = dt.exp()
            value = dt + torch.log(-torch.expm1(-dt))  # inverse softplus
        elif leaf == "D" or "norm" in name:
            value = torch.ones(p.shape)
        elif leaf in ("bias", "conv_bias"):
            value = torch.zeros(p.shape)
        elif leaf == "conv_weight":
            bound = 1.0 / math.sqrt(p.shape[-1])
            value = torch.empty(p.shape).uniform_(-bound, bound, generator=gen)
        else:
            scale = depth_scale if name.endswith(("out_proj.weight", "o_proj.weight",
                                                  "down_proj.weight")) else 1.0
            value = torch.randn(p.shape, generator=gen) * 0.02 * scale
        p.copy_(value.to(p.dtype))
    return model


def build_model(cfg: ModelConfig, seed: int, device: torch.device) -> Model:
    """A freshly initialised fp32 model on `device`, head tied to the embedding if asked."""
    torch.manual_seed(seed)
    model = Model(cfg)
    if cfg.tie_embeddings:
        model.lm_head.weight = model.embed.weight
    return init_weights(model, seed).to(device).train()


def make_optimizer(model: Model, opts: TrainOptions, device: torch.device) -> torch.optim.AdamW:
    """AdamW; matrices decay, vectors (norms, biases, A_log, D, dt_bias) do not."""
    params = list(model.named_parameters())
    decay = [p for _, p in params if p.ndim >= 2]
    other = [p for _, p in params if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": opts.weight_decay},
              {"params": other, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=opts.lr, betas=(0.9, 0.95), eps=1e-8,
                             fused=device.type == "cuda")


def lr_at(step: int, opts: TrainOptions, total: int) -> float:
    """Linear warm-up, then cosine decay to `min_lr_ratio * lr` at `total` steps."""
    if step < opts.warmup:
        return opts.lr * (step + 1) / opts.warmup
    progress = min(1.0, (step - opts.warmup) / max(1, total - opts.warmup))
    floor = opts.lr * opts.min_lr_ratio
    return floor + (opts.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def to_device(rows: np.ndarray, device: torch.device) -> torch.Tensor:
    """int64 ids on the device; pinned on CUDA so the copy overlaps compute."""
    tokens = torch.from_numpy(rows.astype(np.int64))
    if device.type == "cuda":
        return tokens.pin_memory().to(device, non_blocking=True)
    return tokens


def sequence_loss(forward: Callable[[torch.Tensor], torch.Tensor], tokens: torch.Tensor,
                  pad_id: int) -> torch.Tensor:
    """Mean next-token cross-entropy over the non-padding targets."""
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    with torch.autocast("cuda", torch.bfloat16, enabled=tokens.device.type == "cuda"):
        logits = forward(inputs)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1),
                           ignore_index=pad_id)


@torch.no_grad()
def evaluate_loss(model: Model, rows: np.ndarray, batch_size: int, pad_id: int,
                  device: torch.device) -> float:
    """Token-weighted mean loss over held-out sequences (eval mode, no compile)."""
    model.eval()
    total = count = 0.0
    for start in range(0, len(rows), batch_size):
        tokens = to_device(rows[start : start + batch_size], device)
        n = float((tokens[:, 1:] != pad_id).sum())
        total += float(sequence_loss(model, tokens, pad_id)) * n
        count += n
    model.train()
    return total / max(count, 1.0)


class Progress:
    """The progress line (loss, learning rate, tokens/s, time left) and the JSON log."""

    def __init__(self, log_file: Path | None, total: int) -> None:
        self.log_file, self.total = log_file, total
        self.records: list[dict] = []
        self.tty = sys.stderr.isatty()

    def report(self, record: dict) -> None:
        """Log one record and redraw the progress line."""
        self.records.append(record)
        if self.log_file is not None:
            with self.log_file.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
        left = (self.total - record["step"]) * record.get("s_per_step", 0.0)
        evals = f" | eval {record['eval_loss']:.3f}" if "eval_loss" in record else ""
        line = (f"step {record['step']}/{self.total} | loss {record['loss']:.3f}{evals} | "
                f"lr {record['lr']:.2e} | {record['tokens_per_s'] / 1e3:.1f}k tok/s | "
                f"{fmt_time(record['elapsed_s'])} elapsed, {fmt_time(left)} left")
        sys.stderr.write(("\r" + line.ljust(110)) if self.tty else line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        """End the progress line (it is redrawn in place on a terminal)."""
        if self.tty:
            sys.stderr.write("\n")


def fmt_time(seconds: float) -> str:
    """Minutes and seconds, or hours and minutes, for the progress line."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m{secs:02d}s"


def check_resumable(saved: dict, opts: TrainOptions) -> None:
    """A resumed run must be the same run: refuse changed shape, batch, data seed, schedule."""
    current = asdict(opts)
    changed = [k for k in RESUME_KEYS if saved.get(k) != current.get(k)]
    if changed:
        raise ValueError("cannot resume with different " + ", ".join(
            f"{k} ({saved.get(k)} saved, {current.get(k)} now)" for k in changed))


def calibrate(state: TrainState, opts: TrainOptions, step_times: list[float]) -> None:
    """With a time budget, fix the schedule's length once from the measured step time, so the
    cosine decay ends when the time does (and a resume keeps the same schedule)."""
    if opts.time_budget_s is None or state.calibrated or len(step_times) < CALIBRATE_AFTER:
        return
    per_step = float(np.median(step_times[-CALIBRATE_AFTER:]))
    left = max(0.0, opts.time_budget_s - state.elapsed_s)
    state.total_steps = min(opts.steps, state.step + int(left / per_step))
    state.calibrated = True


@dataclass
class Run:
    """Everything one training run holds."""

    opts: TrainOptions
    data: TrainData
    model: Model
    optimizer: torch.optim.AdamW
    state: TrainState
    device: torch.device
    pad_id: int
    eval_rows: np.ndarray
    state_dir: Path
    forward: Callable[[torch.Tensor], torch.Tensor]
    started: float = field(default_factory=time.perf_counter)


def setup(opts: TrainOptions, data: TrainData, state_dir: Path, resume: bool) -> Run:
    """Model, optimizer and state, fresh or restored from `state_dir`."""
    device = resolve_device(opts.device)
    if opts.threads:
        torch.set_num_threads(opts.threads)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    model = build_model(model_config(opts.shape, data.tokenizer), opts.seed, device)
    optimizer = make_optimizer(model, opts, device)
    state = TrainState(total_steps=opts.steps)
    if resume and (state_dir / "state.json").exists():
        check_resumable(read_state_meta(state_dir)["options"], opts)
        state, _ = load_train_state(state_dir, model, optimizer)
        if not state.calibrated:
            state.total_steps = opts.steps
    pad_id = special_ids(plain_encoder(data.tokenizer))[PAD]
    eval_rows = np.zeros((0, opts.seq_len + 1), dtype=np.int32)
    if data.heldout_docs and opts.eval_batches:
        eval_rows = build_epoch(data.heldout_docs, data.tokenizer, opts.seed, 0,
                                data.data)[: opts.eval_batches * opts.batch_size]
    forward = torch.compile(model) if opts.compile else model
    return Run(opts, data, model, optimizer, state, device, pad_id, eval_rows, state_dir,
               forward)


def train_step(run: Run, rows: np.ndarray) -> tuple[torch.Tensor, int]:
    """One optimizer step on one batch; returns the loss (on device, unsynced) and targets."""
    tokens = to_device(rows, run.device)
    lr = lr_at(run.state.step, run.opts, run.state.total_steps)
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    loss = sequence_loss(run.forward, tokens, run.pad_id)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.opts.grad_clip)
    run.optimizer.step()
    run.optimizer.zero_grad(set_to_none=True)
    return loss.detach(), int((rows[:, 1:] != run.pad_id).sum())


def save_state(run: Run) -> None:
    """Checkpoint the whole run (weights, optimizer, position, options)."""
    save_train_state(run.state_dir, run.model, run.optimizer, run.state, asdict(run.opts))


def record(run: Run, loss_sum: torch.Tensor, steps: int, tokens: int, seconds: float,
           step_times: list[float]) -> dict:
    """One log record over the steps since the last; evaluates when it is time to."""
    s = run.state
    out = {"step": s.step, "loss": float(loss_sum) / max(steps, 1),
           "lr": lr_at(s.step - 1, run.opts, s.total_steps), "tokens": s.tokens,
           "tokens_per_s": tokens / max(seconds, 1e-9), "elapsed_s": round(s.elapsed_s, 1),
           "s_per_step": float(np.median(step_times[-CALIBRATE_AFTER:])), "epoch": s.position.epoch,
           "wall_s": round(time.perf_counter() - run.started, 1)}
    at_end = s.step >= s.total_steps
    if len(run.eval_rows) and (s.step % run.opts.eval_every == 0 or at_end):
        out["eval_loss"] = evaluate_loss(run.model, run.eval_rows, run.opts.batch_size,
                                         run.pad_id, run.device)
    return out


def run_steps(run: Run, stream: EpochStream, progress: Progress) -> None:
    """Train until the schedule's last step or the time budget, logging and checkpointing."""
    s, opts = run.state, run.opts
    loss_sum = torch.zeros((), device=run.device)
    window_steps = window_tokens = 0
    window_start = time.perf_counter()
    step_times: list[float] = []
    last = s.total_steps if opts.stop_after is None else s.step + opts.stop_after
    for position, rows in stream.batches(s.position):
        if s.step >= min(last, s.total_steps) or (
                opts.time_budget_s and s.elapsed_s > opts.time_budget_s):
            break
        start = time.perf_counter()
        loss, tokens = train_step(run, rows)
        loss_sum += loss
        if run.device.type == "cuda" and s.step < CALIBRATE_AFTER + 5:
            torch.cuda.synchronize()  # honest step times for the calibration
        s.step, s.position, s.tokens = s.step + 1, position, s.tokens + tokens
        step_times.append(time.perf_counter() - start)
        s.elapsed_s += step_times[-1]
        window_steps, window_tokens = window_steps + 1, window_tokens + tokens
        calibrate(s, opts, step_times)
        progress.total = s.total_steps
        if s.step % opts.log_every == 0 or s.step >= s.total_steps:
            seconds = time.perf_counter() - window_start
            progress.report(record(run, loss_sum, window_steps, window_tokens, seconds,
                                   step_times))
            loss_sum.zero_()
            window_steps = window_tokens = 0
            window_start = time.perf_counter()
        if opts.save_every and s.step % opts.save_every == 0:
            save_state(run)
    progress.close()


def train(opts: TrainOptions, data: TrainData, out: Path, resume: bool = False,
          state_dir: Path | None = None) -> TrainResult:
    """Train (or resume) into `out`: progress in `out/train_log.jsonl`, the resumable state in
    `state_dir` (default `out/train_state`). Exporting the model is the caller's step."""
    out.mkdir(parents=True, exist_ok=True)
    state_dir = state_dir or out / "train_state"
    run = setup(opts, data, state_dir, resume)
    stream = EpochStream(data.train_docs, data.tokenizer, opts.seed, data.data, opts.batch_size)
    progress = Progress(out / "train_log.jsonl", run.state.total_steps)
    try:
        run_steps(run, stream, progress)
    finally:
        stream.close()
        save_state(run)
    eval_loss = None
    if len(run.eval_rows):
        eval_loss = evaluate_loss(run.model, run.eval_rows, opts.batch_size, run.pad_id,
                                  run.device)
    return TrainResult(run.model.eval(), run.state, eval_loss, progress.records)
