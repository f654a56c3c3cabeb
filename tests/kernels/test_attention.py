"""Triton attention (flash prefill and split-K flash-decoding) against `attention_ref`.

The reference runs in fp32 on the same (rounded) inputs and keeps its output in fp32, so each
comparison sees only the kernel's own errors:

- fp32 (1e-5, 1e-5): the online softmax adds the same terms in another order, and exponentiates
  in base 2 with log2(e) folded into the scale (about 1e-6 relative); dots run in IEEE fp32
  (`input_precision="ieee"`), not TF32.
- fp16 (2e-3, 2e-3): one rounding of the output (2^-11 relative) and, on GPU, of each
  probability before P @ V on the tensor cores (2^-11 each, averaging out over the keys).
- bf16 (1.6e-2, 1.6e-2), two ulps: the same roundings at 2^-8 relative each on GPU; Triton's
  interpreter truncates fp32 to bf16 instead of rounding it, so its output may be a full ulp
  (2^-7) off.

Interpreter cases stay small (a few programs each); CUDA-only cases run Codestral 22B's
attention (48 query heads, 8 KV heads, head size 128, bf16) at prefill and decode lengths.
"""

from __future__ import annotations

import importlib

import pytest
import torch
import torch.nn.functional as F

from autan.model.runtime.state import KVCache, WindowKVCache
from tests.kernels.helpers import KERNEL_DEVICES, assert_close

# `autan.kernels.attention` is also the name of the op that the package exports.
attn = importlib.import_module("autan.kernels.attention")

TOL = {torch.float32: (1e-5, 1e-5), torch.float16: (2e-3, 2e-3), torch.bfloat16: (1.6e-2, 1.6e-2)}
DTYPES = [torch.float32, torch.float16, torch.bfloat16]


def _qkv(batch: int, hq: int, hkv: int, seqlen_q: int, seqlen_k: int, headdim: int,
         dtype: torch.dtype, device: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random q (batch, hq, seqlen_q, headdim), k and v (batch, hkv, seqlen_k, headdim)."""
    q = torch.randn(batch, hq, seqlen_q, headdim)
    k = torch.randn(batch, hkv, seqlen_k, headdim)
    v = torch.randn(batch, hkv, seqlen_k, headdim)
    return q.to(device, dtype), k.to(device, dtype), v.to(device, dtype)


def _check(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, q_pos: torch.Tensor,
           k_pos: torch.Tensor, window: int | None, decode: bool | None,
           name: str) -> torch.Tensor:
    """Run the kernel (forced path, or by shape when decode is None) against the fp32 ref."""
    scale = q.shape[-1] ** -0.5
    if decode is None:
        got = attn.attention(q, k, v, q_pos, k_pos, scale, window)
    else:
        got = attn._attention_fwd(q, k, v, q_pos, k_pos, scale, window, decode)
    want = attn.attention_ref(q.float(), k.float(), v.float(), q_pos, k_pos, scale, window)
    assert got.dtype == q.dtype
    assert_close(got, want, *TOL[q.dtype], name=name)
    return got


# (batch, hq, hkv, seqlen, headdim, decode, window): both paths wherever a KV group's queries
# fit one decode block; 33 and 100 are not multiples of the blocks.
SELF_CASES = [
    (2, 4, 2, 1, 32, True, None), (2, 4, 2, 1, 32, False, None),
    (1, 6, 2, 7, 64, True, None), (1, 6, 2, 7, 64, True, 4),
    (1, 6, 2, 7, 64, False, None), (1, 6, 2, 7, 64, False, 4),
    (1, 4, 4, 33, 16, True, 16), (1, 4, 4, 33, 16, False, None), (1, 4, 4, 33, 16, False, 16),
    (1, 4, 2, 100, 32, False, None), (1, 4, 2, 100, 32, False, 16),
]


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,hq,hkv,seqlen,headdim,decode,window", SELF_CASES)
def test_self_attention(device: str, dtype: torch.dtype, batch: int, hq: int, hkv: int,
                        seqlen: int, headdim: int, decode: bool, window: int | None) -> None:
    torch.manual_seed(seqlen * hq + headdim)
    q, k, v = _qkv(batch, hq, hkv, seqlen, seqlen, headdim, dtype, device)
    pos = torch.arange(seqlen, device=device)
    _check(q, k, v, pos, pos, window, decode, f"self-attention decode={decode}")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("prefix,seqlen_q,decode", [(60, 5, True), (60, 5, False),
                                                    (90, 40, False)])
@pytest.mark.parametrize("window", [None, 70])
def test_cached_prefix(device: str, dtype: torch.dtype, prefix: int, seqlen_q: int,
                       decode: bool, window: int | None) -> None:
    """Queries at prefix .. prefix + seqlen_q - 1 over the prefix's keys and their own."""
    torch.manual_seed(prefix + seqlen_q)
    seqlen_k = prefix + seqlen_q
    q, k, v = _qkv(1, 6, 2, seqlen_q, seqlen_k, 64, dtype, device)
    q_pos = torch.arange(prefix, seqlen_k, device=device)
    _check(q, k, v, q_pos, torch.arange(seqlen_k, device=device), window, decode,
           f"prefix {prefix} decode={decode}")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ring", [False, True])
def test_pieces_through_cache_equal_one_call(device: str, dtype: torch.dtype,
                                             ring: bool) -> None:
    """A sequence fed through the model's caches in pieces (prefill, decode steps, a prefill
    over the cached prefix) gives the outputs of one call. The sliding-window cache returns
    its ring buffer (slots out of order, -1 while empty) followed by the new keys."""
    torch.manual_seed(7 + ring)
    window = 16
    q, k, v = _qkv(1, 4, 2, 94, 94, 32, dtype, device)
    pos = torch.arange(94, device=device)
    whole = _check(q, k, v, pos, pos, window, None, "one call")
    cache = (WindowKVCache(1, 2, 32, window, dtype, torch.device(device)) if ring
             else KVCache(1, 2, 32, 8, dtype, torch.device(device)))
    pieces = []
    for a, e in [(0, 50), (50, 51), (51, 54), (54, 94)]:
        keys, values, k_pos = cache.extend(k[:, :, a:e], v[:, :, a:e], a)
        pieces.append(_check(q[:, :, a:e], keys, values, pos[a:e], k_pos, window, None,
                             f"piece {a}:{e}"))
    assert_close(torch.cat(pieces, 2).float(), whole.float(), *TOL[dtype], name="pieces")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seqlen_q,decode", [(1, True), (4, True), (40, False)])
@pytest.mark.parametrize("window", [None, 8])
def test_shuffled_keys_with_empty_slots(device: str, dtype: torch.dtype, seqlen_q: int,
                                        decode: bool, window: int | None) -> None:
    """Keys in random order, a quarter of them empty (-1), as in a ring buffer."""
    torch.manual_seed(seqlen_q)
    seqlen_k = 70
    q, k, v = _qkv(1, 4, 2, seqlen_q, seqlen_k, 32, dtype, device)
    k_pos = torch.randperm(seqlen_k)
    k_pos[torch.rand(seqlen_k) < 0.25] = -1
    q_pos = torch.arange(seqlen_k - seqlen_q - 10, seqlen_k - 10)
    _check(q, k, v, q_pos.to(device), k_pos.to(device), window, decode, "shuffled keys")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seqlen_q,seqlen_k,window", [(1, 200, None), (3, 600, None),
                                                      (1, 333, 100), (40, 400, None)])
def test_decode_splits(device: str, dtype: torch.dtype, seqlen_q: int, seqlen_k: int,
                       window: int | None) -> None:
    """Decoding over a longer cache, its keys split over several programs and combined; 40
    queries x 3 heads per group fill the largest (128-row) block, a keystroke's chunk.

    On CUDA a split holds at least 4 key blocks of 64, so the caches are 4 times longer there
    (the interpreter splits any cache in 4)."""
    torch.manual_seed(seqlen_k)
    if device != "cpu":
        seqlen_k, window = 4 * seqlen_k, None if window is None else 4 * window
    q, k, v = _qkv(1, 6, 2, seqlen_q, seqlen_k, 64, dtype, device)
    keys_per_split = attn._decode_splits(2, seqlen_k, 32 if device == "cpu" else 64,
                                         torch.device(device))
    assert seqlen_k > 2 * keys_per_split, "expected at least 3 splits"
    q_pos = torch.arange(seqlen_k - seqlen_q, seqlen_k, device=device)
    _check(q, k, v, q_pos, torch.arange(seqlen_k, device=device), window, None, "decode")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("decode", [True, False])
def test_strided_views(device: str, dtype: torch.dtype, decode: bool) -> None:
    """q transposed from (batch, seqlen, heads, headdim); k and v the filled part of bigger
    cache buffers, one laid out (batch, heads, capacity, headdim), one (batch, capacity,
    heads, headdim)."""
    torch.manual_seed(11)
    seqlen_q, seqlen_k = 9, 45
    q = torch.randn(2, seqlen_q, 4, 32).to(device, dtype).transpose(1, 2)
    k = torch.randn(2, 2, 64, 32).to(device, dtype)[:, :, :seqlen_k]
    v = torch.randn(2, 64, 2, 32).to(device, dtype).transpose(1, 2)[:, :, :seqlen_k]
    assert not (q.is_contiguous() or k.is_contiguous() or v.is_contiguous())
    q_pos = torch.arange(seqlen_k - seqlen_q, seqlen_k, device=device)
    _check(q, k, v, q_pos, torch.arange(seqlen_k, device=device), None, decode, "views")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("decode", [True, False])
def test_query_without_visible_key_gives_zeros(device: str, dtype: torch.dtype,
                                               decode: bool) -> None:
    """Query 0 precedes every filled key; query 1 sees one key; query 2's are out of window."""
    torch.manual_seed(5)
    q, k, v = _qkv(1, 2, 1, 3, 5, 16, dtype, device)
    q_pos = torch.tensor([0, 2, 9], device=device)
    k_pos = torch.tensor([3, -1, 2, 1, 5], device=device)
    got = _check(q, k, v, q_pos, k_pos, 3, decode, "no visible key")
    assert got[:, :, 0].eq(0).all() and got[:, :, 2].eq(0).all()
    assert got[:, :, 1].ne(0).all()


def _real_qkv(seqlen_q: int, seqlen_k: int) -> tuple[torch.Tensor, ...]:
    return _qkv(1, 48, 8, seqlen_q, seqlen_k, 128, torch.bfloat16, "cuda")


def _against_sdpa(got: torch.Tensor, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                  **kwargs: object) -> None:
    """Both sides are within TOL of the exact result, so within twice TOL of each other."""
    want = F.scaled_dot_product_attention(q, k, v, scale=q.shape[-1] ** -0.5, enable_gqa=True,
                                          **kwargs)
    rtol, atol = TOL[q.dtype]
    assert_close(got, want, 2 * rtol, 2 * atol, name="vs sdpa")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_real_shape_prefill(device: str) -> None:
    """Codestral 22B prefill of 2048 tokens."""
    if device == "cpu":
        pytest.skip("real shapes run compiled on CUDA; the interpreter gets the small ones")
    torch.manual_seed(0)
    q, k, v = _real_qkv(2048, 2048)
    pos = torch.arange(2048, device=device)
    got = _check(q, k, v, pos, pos, None, None, "prefill 2048")
    _against_sdpa(got, q, k, v, is_causal=True)


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_real_shape_decode(device: str) -> None:
    """Codestral 22B decoding one token over 32768 cached keys (all visible)."""
    if device == "cpu":
        pytest.skip("real shapes run compiled on CUDA; the interpreter gets the small ones")
    torch.manual_seed(1)
    q, k, v = _real_qkv(1, 32768)
    got = _check(q, k, v, torch.tensor([32767], device=device),
                 torch.arange(32768, device=device), None, None, "decode 32768")
    _against_sdpa(got, q, k, v)


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_real_shape_window(device: str) -> None:
    """A 4096-token sliding window: a 5120-token prefill through the ring buffer (whose
    slots are all empty at the start), then a decode step at position 5120."""
    if device == "cpu":
        pytest.skip("real shapes run compiled on CUDA; the interpreter gets the small ones")
    torch.manual_seed(2)
    q, k, v = _real_qkv(5121, 5121)
    cache = WindowKVCache(1, 8, 128, 4096, torch.bfloat16, torch.device(device))
    pos = torch.arange(5121, device=device)
    keys, values, k_pos = cache.extend(k[:, :, :5120], v[:, :, :5120], 0)
    got = _check(q[:, :, :5120], keys, values, pos[:5120], k_pos, 4096, None, "window prefill")
    mask = attn.attention_mask(pos[:5120], pos[:5120], 4096)
    _against_sdpa(got, q[:, :, :5120], k[:, :, :5120], v[:, :, :5120], attn_mask=mask)
    keys, values, k_pos = cache.extend(k[:, :, 5120:], v[:, :, 5120:], 5120)
    _check(q[:, :, 5120:], keys, values, pos[5120:], k_pos, 4096, None, "window decode")
