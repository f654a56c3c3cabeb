"""What a model is made of: a stack of residual blocks, each a norm and one mixer.

Every supported architecture is described in these terms. A Mistral layer is two blocks
(attention, then MLP); a Nemotron-H layer is one block; a Jamba layer is a Mamba-1 or attention
block followed by an MLP or mixture-of-experts block. Architecture adapters in `archs/` turn a
checkpoint's own config into a `ModelConfig`; `CONFIGS` names shapes for random-weight runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MixerKind = Literal["mamba1", "mamba2", "attention", "mlp", "moe", "zamba2_hybrid", "falcon_h1"]


@dataclass
class Mamba2Config:
    nheads: int
    headdim: int
    d_state: int = 128
    n_groups: int = 1
    d_conv: int = 4
    chunk_size: int = 256
    conv_bias: bool = True
    proj_bias: bool = False
    norm_eps: float = 1e-5
    norm_before_gate: bool = False
    dt_limit: tuple[float, float] = (0.0, float("inf"))
    gated_norm: bool = True  # False: y * silu(z), no norm (Falcon-H1 mamba_rms_norm=False)

    @property
    def d_inner(self) -> int:
        return self.nheads * self.headdim

    @property
    def conv_dim(self) -> int:
        return self.d_inner + 2 * self.n_groups * self.d_state


@dataclass
class Mamba1Config:
    d_inner: int
    d_state: int = 16
    d_conv: int = 4
    dt_rank: int = 16
    conv_bias: bool = True
    proj_bias: bool = False
    # Jamba normalises dt, B and C before the scan (RMSNorm with this eps); None = no norms.
    inner_norm_eps: float | None = None


@dataclass
class AttentionConfig:
    nheads: int
    nkv_heads: int
    headdim: int
    rope_theta: float | None = 10000.0  # None: no positional encoding (NoPE)
    rotary_dim: int | None = None  # None: the whole head; Bamba rotates half of it
    sliding_window: int | None = None
    qkv_bias: bool = False
    out_bias: bool = False
    scale: float | None = None  # None: headdim ** -0.5

    def __post_init__(self) -> None:
        if self.rotary_dim is None:
            self.rotary_dim = self.headdim
        if self.scale is None:
            self.scale = self.headdim**-0.5


@dataclass
class MLPConfig:
    d_ff: int
    activation: str = "silu"  # silu | gelu | gelu_tanh | relu2
    gated: bool = True
    bias: bool = False


@dataclass
class MoEConfig:
    n_experts: int
    top_k: int
    d_ff: int
    activation: str = "silu"
    gated: bool = True
    # "softmax_topk": softmax over all experts, keep the top k (Jamba, Mixtral-style).
    # "topk_softmax": keep the top k logits, softmax over them (Granite).
    router: str = "softmax_topk"
    normalize_topk: bool = False
    shared_d_ff: int = 0  # a dense expert every token passes through (Granite shared_mlp)
    # "sigmoid_group" (DeepSeek-V3 style, Nemotron-H): sigmoid scores plus a per-expert bias
    # choose the experts (best `topk_group` of `n_group` groups first); the unbiased scores,
    # normalised if `normalize_topk`, times `routed_scaling_factor` weight them.
    n_group: int = 1
    topk_group: int = 1
    routed_scaling_factor: float = 1.0
    latent_dim: int = 0  # > 0: experts run in a projected latent space (Nemotron-H latent MoE)


@dataclass
class BlockConfig:
    kind: MixerKind
    mixer: Mamba2Config | Mamba1Config | AttentionConfig | MLPConfig | MoEConfig
    norm: bool = True  # False: no pre-norm before the mixer


@dataclass
class ModelConfig:
    architecture: str
    vocab_size: int
    d_model: int
    blocks: list[BlockConfig]
    norm_eps: float = 1e-5
    tie_embeddings: bool = False
    embedding_multiplier: float = 1.0
    residual_multiplier: float = 1.0
    logits_multiplier: float = 1.0  # Granite divides logits by `logits_scaling`
    bos_token_id: int | None = None
    eos_token_id: int | list[int] | None = None
    extra: dict = field(default_factory=dict)

    @property
    def n_blocks(self) -> int:
        return len(self.blocks)

    def kinds(self) -> list[str]:
        return [b.kind for b in self.blocks]


def mamba2_stack(vocab: int, d_model: int, n_layers: int, **mamba: object) -> ModelConfig:
    """A pure Mamba-2 model like Codestral Mamba: `n_layers` blocks, untied head."""
    headdim = int(mamba.pop("headdim", 64))
    nheads = 2 * d_model // headdim
    blocks = [
        BlockConfig("mamba2", Mamba2Config(nheads=nheads, headdim=headdim, **mamba))
        for _ in range(n_layers)
    ]
    return ModelConfig("Mamba2ForCausalLM", vocab, d_model, blocks)


def mistral_stack(
    vocab: int, d_model: int, n_layers: int, nheads: int, nkv: int, d_ff: int, **attn: object
) -> ModelConfig:
    """A Mistral transformer: each layer is an attention block then a gated-MLP block."""
    blocks: list[BlockConfig] = []
    for _ in range(n_layers):
        att = AttentionConfig(nheads=nheads, nkv_heads=nkv, headdim=d_model // nheads, **attn)
        blocks += [BlockConfig("attention", att), BlockConfig("mlp", MLPConfig(d_ff=d_ff))]
    return ModelConfig("MistralForCausalLM", vocab, d_model, blocks)


def hybrid_stack(vocab: int, d_model: int, pattern: str, d_ff: int) -> ModelConfig:
    """A Nemotron-H style hybrid from a pattern string: M Mamba-2, * attention, - MLP."""
    makers = {
        "M": lambda: BlockConfig("mamba2", Mamba2Config(nheads=2 * d_model // 32, headdim=32,
                                                        d_state=64, n_groups=2, chunk_size=128)),
        "*": lambda: BlockConfig("attention", AttentionConfig(nheads=d_model // 64, nkv_heads=2,
                                                              headdim=64, rope_theta=None)),
        "-": lambda: BlockConfig("mlp", MLPConfig(d_ff=d_ff, activation="relu2", gated=False)),
    }
    return ModelConfig("NemotronHForCausalLM", vocab, d_model, [makers[c]() for c in pattern])


# Named shapes for random-weight runs (benchmarks, the demo checkpoint). Looked up by exact name.
CONFIGS: dict[str, dict] = {
    "tiny-mamba2": dict(kind="mamba2", vocab=512, d_model=128, n_layers=4, headdim=32,
                        d_state=32, n_groups=2, chunk_size=64),
    "mid-mamba2": dict(kind="mamba2", vocab=32768, d_model=768, n_layers=24, headdim=64,
                       d_state=128, n_groups=8, chunk_size=256),
    "codestral-mamba-7b": dict(kind="mamba2", vocab=32768, d_model=4096, n_layers=64,
                               headdim=64, d_state=128, n_groups=8, chunk_size=256),
    "tiny-hybrid": dict(kind="hybrid", vocab=512, d_model=128, pattern="M-M*M-M-", d_ff=256),
    # autan's own models (train): Mamba-2 with two NoPE attention layers to copy from
    # context; trained with tied embeddings. autan-small: 15.1M parameters, 30 MB in bf16
    # (the GPU-trained default); autan-tiny: 6.9M, for a few hours of CPU training.
    "autan-small": dict(kind="hybrid", vocab=16384, d_model=384, pattern="MMM*MMM*MM",
                        d_ff=1024),
    "autan-tiny": dict(kind="hybrid", vocab=16384, d_model=256, pattern="MM*MM*M", d_ff=512),
    "tiny-mistral": dict(kind="mistral", vocab=512, d_model=128, n_layers=2, nheads=4, nkv=2,
                         d_ff=256, sliding_window=32),
    "codestral-22b": dict(kind="mistral", vocab=32768, d_model=6144, n_layers=56, nheads=48,
                          nkv=8, d_ff=16384, rope_theta=1e6),
}


def named_config(name: str) -> ModelConfig:
    """The `ModelConfig` for a name in `CONFIGS`; KeyError lists the valid names."""
    if name not in CONFIGS:
        raise KeyError(f"unknown model shape {name!r}; valid: {', '.join(sorted(CONFIGS))}")
    spec = dict(CONFIGS[name])
    kind = spec.pop("kind")
    if kind == "mamba2":
        return mamba2_stack(**spec)
    if kind == "mistral":
        return mistral_stack(**spec)
    return hybrid_stack(**spec)
