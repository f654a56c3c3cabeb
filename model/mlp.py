"""Feed-forward blocks: the (gated) MLP and a token-choice mixture of experts."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from autan.model.config import MLPConfig, MoEConfig

ACTIVATIONS = {
    "silu": F.silu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu2": lambda x: torch.square(F.relu(x)),
}


def activation(name: str):  # noqa: ANN201 - returns a tensor function
    if name not in ACTIVATIONS:
        raise KeyError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


class MLP(nn.Module):
    """`down(act(gate(x)) * up(x))` when gated, else `down(act(up(x)))`."""

    def __init__(self, d_model: int, cfg: MLPConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.act = activation(cfg.activation)
        self.gate_proj = nn.Linear(d_model, cfg.d_ff, bias=cfg.bias) if cfg.gated else None
        self.up_proj = nn.Linear(d_model, cfg.d_ff, bias=cfg.bias)
        self.down_proj = nn.Linear(cfg.d_ff, d_model, bias=cfg.bias)

    def new_cache(self, *args: object) -> None:
        return None

    def forward(self, u: torch.Tensor, cache: None = None, pos: int = 0) -> torch.Tensor:
        if self.gate_proj is None:
            return self.down_proj(self.act(self.up_proj(u)))
        return self.down_proj(self.act(self.gate_proj(u)) * self.up_proj(u))


class MoE(nn.Module):
    """Each token goes through its top-k experts, weighted by the router.

    Expert weights are stacked: gate_up (n_experts, 2 * d_ff, d_model) when gated (gate rows
    first), down (n_experts, d_model, d_ff).
    """

    def __init__(self, d_model: int, cfg: MoEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.act = activation(cfg.activation)
        up_rows = (2 if cfg.gated else 1) * cfg.d_ff
        self.router = nn.Linear(d_model, cfg.n_experts, bias=False)
        self.gate_up = nn.Parameter(torch.zeros(cfg.n_experts, up_rows, d_model))
        self.down = nn.Parameter(torch.zeros(cfg.n_experts, d_model, cfg.d_ff))
        self.shared = (
            MLP(d_model, MLPConfig(cfg.shared_d_ff, cfg.activation, cfg.gated))
            if cfg.shared_d_ff
            else None
        )

    def new_cache(self, *args: object) -> None:
        return None

    def route(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """logits: (tokens, n_experts) -> weights, expert ids: (tokens, top_k)."""
        k = self.cfg.top_k
        if self.cfg.router == "topk_softmax":
            top, ids = logits.topk(k, dim=-1)
            return torch.softmax(top.float(), dim=-1), ids
        probs = torch.softmax(logits.float(), dim=-1)
        weights, ids = probs.topk(k, dim=-1)
        if self.cfg.normalize_topk:
            weights = weights / weights.sum(-1, keepdim=True)
        return weights, ids

    def forward(self, u: torch.Tensor, cache: None = None, pos: int = 0) -> torch.Tensor:
        shape = u.shape
        x = u.reshape(-1, shape[-1])
        weights, ids = self.route(self.router(x))
        out = torch.zeros_like(x, dtype=torch.float32)
        for expert in ids.unique().tolist():
            token, slot = (ids == expert).nonzero(as_tuple=True)
            h = x[token] @ self.gate_up[expert].t()
            if self.cfg.gated:
                gate, up = h.chunk(2, dim=-1)
                h = self.act(gate) * up
            else:
                h = self.act(h)
            y = h @ self.down[expert].t()
            out.index_add_(0, token, y.float() * weights[token, slot, None])
        out = out.to(u.dtype)
        if self.shared is not None:
            out = out + self.shared(x)
        return out.view(shape)
