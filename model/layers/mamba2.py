"""The Mamba-2 mixer (Codestral Mamba, Bamba, Nemotron-H, Granite-4.0-H).

in_proj gives [z, x, B, C, dt]; x, B and C go through a causal conv, then the SSD scan; the
output is normalised per group, gated by silu(z) and projected back.
"""

from __future__ import annotations

import torch
from torch import nn

from autan import kernels
from autan.model.config import Mamba2Config
from autan.model.layers.decay import DecayRates
from autan.model.runtime.state import RecurrentCache


class Mamba2Mixer(nn.Module):
    def __init__(self, d_model: int, cfg: Mamba2Config) -> None:
        super().__init__()
        self.cfg = cfg
        proj_out = 2 * cfg.d_inner + 2 * cfg.n_groups * cfg.d_state + cfg.nheads
        self.in_proj = nn.Linear(d_model, proj_out, bias=cfg.proj_bias)
        # (conv_dim, 1, d_conv): the checkpoint layout of a depthwise nn.Conv1d.
        self.conv_weight = nn.Parameter(torch.zeros(cfg.conv_dim, 1, cfg.d_conv))
        self.conv_bias = nn.Parameter(torch.zeros(cfg.conv_dim)) if cfg.conv_bias else None
        self.dt_bias = nn.Parameter(torch.zeros(cfg.nheads))
        self.A_log = nn.Parameter(torch.zeros(cfg.nheads))
        self.decay_rates = DecayRates()
        self.D = nn.Parameter(torch.ones(cfg.nheads))
        # Falcon-H1 without `mamba_rms_norm` gates the scan output with no norm at all.
        self.norm_weight = nn.Parameter(torch.ones(cfg.d_inner)) if cfg.gated_norm else None
        self.out_proj = nn.Linear(cfg.d_inner, d_model, bias=cfg.proj_bias)

    def new_cache(self, batch: int, capacity: int, dtype: torch.dtype,
                  device: torch.device) -> RecurrentCache:
        c = self.cfg
        conv = torch.zeros(batch, c.conv_dim, c.d_conv - 1, dtype=dtype, device=device)
        ssm = torch.zeros(batch, c.nheads, c.headdim, c.d_state, dtype=torch.float32,
                          device=device)
        return RecurrentCache(conv, ssm)

    def forward(self, u: torch.Tensor, cache: RecurrentCache | None, pos: int) -> torch.Tensor:
        """u: (batch, seqlen, d_model) -> (batch, seqlen, d_model)."""
        c = self.cfg
        batch, seqlen, _ = u.shape
        z, xbc, dt = self.in_proj(u).split([c.d_inner, c.conv_dim, c.nheads], dim=-1)
        xbc = kernels.causal_conv1d(
            xbc.transpose(1, 2), self.conv_weight.squeeze(1), self.conv_bias,
            None if cache is None else cache.conv, activation="silu",
        ).transpose(1, 2)
        x, B, C = xbc.split([c.d_inner, c.n_groups * c.d_state, c.n_groups * c.d_state], dim=-1)
        A = self.decay_rates(self.A_log)
        if cache is not None and seqlen == 1:
            y = kernels.ssd_state_update(
                cache.ssm, x.view(batch, c.nheads, c.headdim), dt[:, 0], A,
                B.view(batch, c.n_groups, c.d_state), C.view(batch, c.n_groups, c.d_state),
                D=self.D, dt_bias=self.dt_bias, dt_limit=c.dt_limit,
            )
        else:
            y, final = kernels.ssd_chunk_scan(
                x.view(batch, seqlen, c.nheads, c.headdim), dt, A,
                B.view(batch, seqlen, c.n_groups, c.d_state),
                C.view(batch, seqlen, c.n_groups, c.d_state), c.chunk_size,
                D=self.D, dt_bias=self.dt_bias,
                initial_state=None if cache is None else cache.ssm, dt_limit=c.dt_limit,
            )
            if cache is not None:
                cache.ssm.copy_(final)
        y = y.reshape(batch, seqlen, c.d_inner)
        # The norm reads the fp32 scan output directly: rounding it first costs accuracy in bf16.
        if self.norm_weight is None:
            y = y * torch.nn.functional.silu(z.float())
        else:
            y = kernels.gated_rmsnorm(
                y, z, self.norm_weight, c.norm_eps,
                group_size=c.d_inner // c.n_groups, norm_before_gate=c.norm_before_gate,
            )
        return self.out_proj(y.to(u.dtype))
