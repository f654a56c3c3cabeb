"""Options of training and evaluation, apart from the code that needs PyTorch.

The command line reads its defaults here: `autan` must start without importing torch (the
language server process never loads it), so only the commands that run a model import it.
"""

from __future__ import annotations

from dataclasses import dataclass

SHARD_BYTES = 15 * 2**20  # under the 16 MiB a file may be where models travel as files


@dataclass
class TrainOptions:
    """One run's settings; those in `loop.RESUME_KEYS` must match to resume a run. Defaults
    suit autan-small on one GPU (16 x 2048 tokens a step, peak lr 2e-3)."""

    shape: str = "autan-small"
    steps: int = 2000
    batch_size: int = 16
    seq_len: int = 2048
    lr: float = 2e-3
    min_lr_ratio: float = 0.1
    warmup: int = 200
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seed: int = 0
    eval_every: int = 250
    eval_batches: int = 8
    save_every: int = 500
    log_every: int = 10
    device: str = "auto"
    compile: bool = False
    time_budget_s: float | None = None  # training time; the step count is fitted to it
    stop_after: int | None = None  # steps in this run, then save and stop (resume later)
    threads: int | None = None  # CPU threads (None: PyTorch's default)


@dataclass(frozen=True)
class EvalOptions:
    """What `autan eval` runs: tasks per kind, context budgets, prompt cuts, perplexity."""

    tasks: int = 50  # per kind
    budgets: tuple[int, ...] = (0, 4096, 32768)  # 0: no repository context
    prefix_tokens: int = 1536
    suffix_tokens: int = 512
    single_max_tokens: int = 48
    multi_max_tokens: int = 192
    ppl_files: int = 64
    ppl_max_tokens: int = 2048
    seed: int = 0
