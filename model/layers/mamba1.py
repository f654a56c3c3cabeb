"""The Mamba-1 mixer (state-spaces Mamba, Jamba): the selective scan with per-channel state."""

from __future__ import annotations

import torch
from torch import nn

from autan import kernels
from autan.model.config import Mamba1Config
from autan.model.layers.decay import DecayRates
from autan.model.layers.norm import RMSNorm
from autan.model.runtime.state import RecurrentCache


class Mamba1Mixer(nn.Module):
    def __init__(self, d_model: int, cfg: Mamba1Config) -> None:
        super().__init__()
        self.cfg = cfg
        self.in_proj = nn.Linear(d_model, 2 * cfg.d_inner, bias=cfg.proj_bias)
        self.conv_weight = nn.Parameter(torch.zeros(cfg.d_inner, 1, cfg.d_conv))
        self.conv_bias = nn.Parameter(torch.zeros(cfg.d_inner)) if cfg.conv_bias else None
        self.x_proj = nn.Linear(cfg.d_inner, cfg.dt_rank + 2 * cfg.d_state, bias=False)
        self.dt_proj = nn.Linear(cfg.dt_rank, cfg.d_inner, bias=True)
        self.A_log = nn.Parameter(torch.zeros(cfg.d_inner, cfg.d_state))
        self.decay_rates = DecayRates()
        self.D = nn.Parameter(torch.ones(cfg.d_inner))
        self.out_proj = nn.Linear(cfg.d_inner, d_model, bias=cfg.proj_bias)
        self.inner_norms: nn.ModuleDict | None = None
        if cfg.inner_norm_eps is not None:
            eps = cfg.inner_norm_eps
            self.inner_norms = nn.ModuleDict({
                "dt": RMSNorm(cfg.dt_rank, eps), "B": RMSNorm(cfg.d_state, eps),
                "C": RMSNorm(cfg.d_state, eps),
            })

    def new_cache(self, batch: int, capacity: int, dtype: torch.dtype,
                  device: torch.device) -> RecurrentCache:
        c = self.cfg
        conv = torch.zeros(batch, c.d_inner, c.d_conv - 1, dtype=dtype, device=device)
        ssm = torch.zeros(batch, c.d_inner, c.d_state, dtype=torch.float32, device=device)
        return RecurrentCache(conv, ssm)

    def forward(self, u: torch.Tensor, cache: RecurrentCache | None, pos: int) -> torch.Tensor:
        """u: (batch, seqlen, d_model) -> (batch, seqlen, d_model)."""
        c = self.cfg
        seqlen = u.shape[1]
        x, z = self.in_proj(u).transpose(1, 2).chunk(2, dim=1)  # (batch, d_inner, seqlen) each
        x = kernels.causal_conv1d(x, self.conv_weight.squeeze(1), self.conv_bias,
                                  None if cache is None else cache.conv, activation="silu")
        dt_low, B, C = self.x_proj(x.transpose(1, 2)).split([c.dt_rank, c.d_state, c.d_state], -1)
        if self.inner_norms is not None:
            dt_low = self.inner_norms["dt"](dt_low)
            B, C = self.inner_norms["B"](B), self.inner_norms["C"](C)
        # dt_proj's bias is added inside the scan (in fp32), as the reference kernels do.
        dt = (dt_low @ self.dt_proj.weight.t()).transpose(1, 2)  # (batch, d_inner, seqlen)
        A = self.decay_rates(self.A_log)
        if cache is not None and seqlen == 1:
            y = kernels.selective_state_update(
                cache.ssm, x[..., 0], dt[..., 0], A, B[:, 0], C[:, 0], D=self.D,
                z=z[..., 0], dt_bias=self.dt_proj.bias,
            ).unsqueeze(-1)
        else:
            y, final = kernels.selective_scan(
                x, dt, A, B.transpose(1, 2), C.transpose(1, 2), D=self.D, z=z,
                dt_bias=self.dt_proj.bias, initial_state=None if cache is None else cache.ssm,
            )
            if cache is not None:
                cache.ssm.copy_(final)
        return self.out_proj(y.transpose(1, 2).to(u.dtype))
