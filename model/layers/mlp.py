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


def activation(name: str):
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
        # Latent MoE: experts read and write a smaller space, projected in and out once.
        latent = cfg.latent_dim
        self.latent_in = nn.Linear(d_model, latent, bias=False) if latent else None
        self.latent_out = nn.Linear(latent, d_model, bias=False) if latent else None
        expert_dim = latent or d_model
        self.gate_up = nn.Parameter(torch.zeros(cfg.n_experts, up_rows, expert_dim))
        self.down = nn.Parameter(torch.zeros(cfg.n_experts, expert_dim, cfg.d_ff))
        # sigmoid_group: a per-expert bias that only shifts which experts are chosen. Loaded
        # fp32 whatever the model dtype, so it must not be this module's first parameter
        # (`Block.mixer_dtype` reads the first one).
        self.e_score_correction_bias = (
            nn.Parameter(torch.zeros(cfg.n_experts)) if cfg.router == "sigmoid_group" else None
        )
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
        if self.cfg.router == "sigmoid_group":
            return self.route_sigmoid_group(logits)
        if self.cfg.router == "topk_softmax":
            top, ids = logits.topk(k, dim=-1)
            return torch.softmax(top.float(), dim=-1), ids
        probs = torch.softmax(logits.float(), dim=-1)
        weights, ids = probs.topk(k, dim=-1)
        if self.cfg.normalize_topk:
            weights = weights / weights.sum(-1, keepdim=True)
        return weights, ids

    def route_sigmoid_group(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """DeepSeek-V3 routing: the bias and the group filter decide which experts; the weights
        are the plain sigmoid scores of those experts, so the bias never scales an output."""
        c = self.cfg
        scores = logits.float().sigmoid()
        choice = scores + self.e_score_correction_bias.float()
        if c.n_group > 1:
            per_group = c.n_experts // c.n_group
            group_scores = choice.view(-1, c.n_group, per_group).topk(2, dim=-1)[0].sum(-1)
            best = group_scores.topk(c.topk_group, dim=-1)[1]
            keep = torch.zeros_like(group_scores, dtype=torch.bool).scatter_(1, best, True)
            choice = choice.masked_fill(~keep.repeat_interleave(per_group, dim=1), float("-inf"))
        ids = choice.topk(c.top_k, dim=-1)[1]
        weights = scores.gather(1, ids)
        if c.normalize_topk:
            weights = weights / (weights.sum(-1, keepdim=True) + 1e-20)
        return weights * c.routed_scaling_factor, ids

    def router_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Sigmoid routers score in fp32 (as the reference): bf16 rounding flips near-ties."""
        if self.cfg.router == "sigmoid_group":
            return F.linear(x.float(), self.router.weight.float())
        return self.router(x)

    def forward(self, u: torch.Tensor, cache: None = None, pos: int = 0) -> torch.Tensor:
        shape = u.shape
        x = u.reshape(-1, shape[-1])
        weights, ids = self.route(self.router_logits(x))
        h_in = x if self.latent_in is None else self.latent_in(x)
        out = torch.zeros_like(h_in, dtype=torch.float32)
        for expert in ids.unique().tolist():
            token, slot = (ids == expert).nonzero(as_tuple=True)
            h = h_in[token] @ self.gate_up[expert].t()
            if self.cfg.gated:
                gate, up = h.chunk(2, dim=-1)
                h = self.act(gate) * up
            else:
                h = self.act(h)
            y = h @ self.down[expert].t()
            out.index_add_(0, token, y.float() * weights[token, slot, None])
        out = out.to(u.dtype)
        if self.latent_out is not None:
            out = self.latent_out(out)
        if self.shared is not None:
            out = out + self.shared(x)
        return out.view(shape)
