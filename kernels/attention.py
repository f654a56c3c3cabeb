"""Causal attention with grouped-query heads and an optional sliding window, over cached keys.

Keys carry their absolute positions, so the same function reads a growing KV cache and a
rolling sliding-window buffer whose slots are out of order (empty slots have position -1).

Two Triton kernels serve `attention`, chosen by shape:

- Prefill (many queries): flash attention. One program per (query block, batch x query head)
  loops over key blocks with an fp32 online softmax in base 2 (log2(e) folded into the scale).
  The keys are read as an unordered head (a ring buffer: every block masked from its loaded
  positions, skipped when none can be visible) followed by a run of consecutive positions
  (`_key_layout`, found on the device without a host sync), over which the loop is bounded by
  the queries' causal and window limits, and only the blocks on those limits are masked.
- Decode (few queries, long cache): split-K flash-decoding. One program per (split of the
  keys, batch x KV head) attends all the query heads of its KV group at once (their rows
  packed into one block, so each key is read once per group), writing its partial max, sum
  and accumulator in fp32; a second kernel combines the splits.
"""

from __future__ import annotations

import functools

import torch

from autan.kernels._triton import dot_dtype, interpreting, require_triton, tl, triton

_LOG2E = 1.4426950408889634  # exp(x) = exp2(x * log2(e)): folded into the softmax scale


@triton.jit
def _softmax_step(acc, m_i, l_i, q, k_t, v, qp, kp, qk_scale, window,
                  MASKED: tl.constexpr, HAS_WINDOW: tl.constexpr, DOT_DTYPE: tl.constexpr):
    """Fold one block of keys into the running fp32 (accumulator, max, sum), in base 2.

    Masked blocks apply `attention_mask` from int32 query and key positions (-1: empty slot).
    """
    s = tl.dot(q, k_t, input_precision="ieee") * qk_scale
    if MASKED:
        visible = (kp[None, :] >= 0) & (kp[None, :] <= qp[:, None])
        if HAS_WINDOW:
            visible = visible & (qp[:, None] - kp[None, :] < window)
        s = tl.where(visible, s, float("-inf"))
    m_new = tl.maximum(m_i, tl.max(s, 1))
    m_use = m_new
    if MASKED:
        # A row that has seen no key yet keeps the max -inf: subtract 0 instead, so that its
        # weights are exp2(-inf) = 0 rather than NaN.
        m_use = tl.where(m_new == float("-inf"), 0.0, m_new)
    alpha = tl.exp2(m_i - m_use)
    p = tl.exp2(s - m_use[:, None])
    l_i = l_i * alpha + tl.sum(p, 1)
    # P is rounded to the dot dtype (bf16/fp16 on GPU) so that P @ V runs on the tensor cores.
    acc = tl.dot(p.to(DOT_DTYPE), v, acc * alpha[:, None], input_precision="ieee")
    return acc, m_new, l_i


@triton.jit
def _attend_listed(acc, m_i, l_i, q, qp, q_lo, q_hi, k_base, v_base, k_pos_ptr,
                   stride_ks, stride_vs, lo, hi, qk_scale, window,
                   SKIP_EMPTY: tl.constexpr, HAS_WINDOW: tl.constexpr, HEAD_DIM: tl.constexpr,
                   DOT_DTYPE: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """Attend keys lo..hi-1 at the positions stored in k_pos, every block masked."""
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    d_ok = offs_d < HEAD_DIM
    for start in range(lo, hi, BLOCK_N):
        j = start + offs_n
        key_ok = j < hi
        kp = tl.load(k_pos_ptr + j, mask=key_ok, other=-1).to(tl.int32)
        # Positions bound what any query of the block can see: a run of empty or too old ring
        # slots is skipped before its keys are read (prefill only: the branch would stop the
        # decode loop's loads from being pipelined, and there nearly every block is visible).
        seen = (kp >= 0) & (kp <= q_hi)
        if HAS_WINDOW:
            seen = seen & (q_lo - kp < window)
        if not SKIP_EMPTY or tl.sum(seen.to(tl.int32), 0) > 0:
            k_t = tl.load(k_base + j[None, :] * stride_ks + offs_d[:, None],
                          mask=key_ok[None, :] & d_ok[:, None], other=0.0).to(DOT_DTYPE)
            v = tl.load(v_base + j[:, None] * stride_vs + offs_d[None, :],
                        mask=key_ok[:, None] & d_ok[None, :], other=0.0).to(DOT_DTYPE)
            acc, m_i, l_i = _softmax_step(acc, m_i, l_i, q, k_t, v, qp, kp, qk_scale, window,
                                          True, HAS_WINDOW, DOT_DTYPE)
    return acc, m_i, l_i


@triton.jit
def _attend_run(acc, m_i, l_i, q, qp, k_base, v_base, stride_ks, stride_vs,
                lo, hi, n_run, pos0, qk_scale, window,
                MASKED: tl.constexpr, HAS_WINDOW: tl.constexpr, HEAD_DIM: tl.constexpr,
                DOT_DTYPE: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    """Attend keys lo..hi-1 of a run of n_run keys at positions pos0, pos0 + 1, ...

    Unmasked runs hold only keys that every query sees (whole blocks, all within n_run), so
    they load without key masks and skip the position arithmetic.
    """
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    d_ok = offs_d < HEAD_DIM
    for start in range(lo, hi, BLOCK_N):
        j = start + offs_n
        if MASKED:
            key_ok = j < n_run
            k_mask = key_ok[None, :] & d_ok[:, None]
            v_mask = key_ok[:, None] & d_ok[None, :]
            kp = tl.where(key_ok, pos0 + j, -1)
        else:
            k_mask = d_ok[:, None]
            v_mask = d_ok[None, :]
            kp = None
        k_t = tl.load(k_base + j[None, :] * stride_ks + offs_d[:, None], mask=k_mask,
                      other=0.0).to(DOT_DTYPE)
        v = tl.load(v_base + j[:, None] * stride_vs + offs_d[None, :], mask=v_mask,
                    other=0.0).to(DOT_DTYPE)
        acc, m_i, l_i = _softmax_step(acc, m_i, l_i, q, k_t, v, qp, kp, qk_scale, window,
                                      MASKED, HAS_WINDOW, DOT_DTYPE)
    return acc, m_i, l_i


@triton.jit
def _run_bounds(q_lo, q_hi, pos0, n_run, window, HAS_WINDOW: tl.constexpr,
                BLOCK_N: tl.constexpr):
    """Blocks of the run (positions pos0 + j) to visit: [lo, hi), of which [full_lo, full_hi)
    are whole blocks every query sees. All bounds lie on the grid lo + i * BLOCK_N."""
    lo = tl.maximum(-pos0, 0)  # keys at negative positions (empty slots) are never seen
    first_all = lo
    if HAS_WINDOW:
        lo = tl.maximum(lo, q_lo - window + 1 - pos0)
        first_all = tl.maximum(lo, q_hi - window + 1 - pos0)
    hi = tl.maximum(tl.minimum(n_run, q_hi - pos0 + 1), lo)
    end_all = tl.minimum(n_run, q_lo - pos0 + 1)
    full_lo = tl.minimum(lo + tl.cdiv(first_all - lo, BLOCK_N) * BLOCK_N, hi)
    full_hi = full_lo + tl.maximum(end_all - full_lo, 0) // BLOCK_N * BLOCK_N
    return lo, full_lo, full_hi, hi


@triton.jit
def _attention_prefill_kernel(
    # Pointers
    q_ptr, k_ptr, v_ptr, q_pos_ptr, k_pos_ptr, layout_ptr, out_ptr,
    # Dimensions
    nheads_q, group, seqlen_q, seqlen_k, qk_scale, window,
    # Strides (the last axis of every tensor is contiguous)
    stride_qb, stride_qh, stride_qs, stride_kb, stride_kh, stride_ks,
    stride_vb, stride_vh, stride_vs, stride_ob, stride_oh, stride_os,
    # Meta-parameters
    HEAD_DIM: tl.constexpr, HAS_WINDOW: tl.constexpr, DOT_DTYPE: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
):
    # The last query blocks see the most keys: start them first so that they do not trail.
    pid_m = tl.num_programs(0) - 1 - tl.program_id(0)
    # int64: batch and head offsets into a long cache pass 2^31 elements.
    pid_bh = tl.program_id(1).to(tl.int64)
    b, h = pid_bh // nheads_q, pid_bh % nheads_q
    k_base = k_ptr + b * stride_kb + (h // group) * stride_kh
    v_base = v_ptr + b * stride_vb + (h // group) * stride_vh
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    row_ok = offs_m < seqlen_q
    mask = row_ok[:, None] & (offs_d < HEAD_DIM)[None, :]
    q = tl.load(q_ptr + b * stride_qb + h * stride_qh + offs_m[:, None] * stride_qs
                + offs_d[None, :], mask=mask, other=0.0).to(DOT_DTYPE)
    # Padding rows sit at position -1: they see no key, and are not stored.
    qp = tl.load(q_pos_ptr + offs_m, mask=row_ok, other=-1).to(tl.int32)
    q_hi = tl.max(qp, 0)
    q_lo = tl.min(tl.where(row_ok, qp, q_hi), 0)
    acc = tl.zeros((BLOCK_M, BLOCK_D), tl.float32)
    m_i = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    l_i = tl.zeros((BLOCK_M,), tl.float32)
    # Keys 0..n_head-1 are in no order (a ring buffer); keys n_head.. hold positions pos0, ...
    n_head = tl.load(layout_ptr).to(tl.int32)
    pos0 = tl.load(layout_ptr + 1).to(tl.int32)
    acc, m_i, l_i = _attend_listed(acc, m_i, l_i, q, qp, q_lo, q_hi, k_base, v_base, k_pos_ptr,
                                   stride_ks, stride_vs, 0, n_head, qk_scale, window, True,
                                   HAS_WINDOW, HEAD_DIM, DOT_DTYPE, BLOCK_N, BLOCK_D)
    n_run = seqlen_k - n_head
    k_base += n_head * stride_ks
    v_base += n_head * stride_vs
    lo, full_lo, full_hi, hi = _run_bounds(q_lo, q_hi, pos0, n_run, window, HAS_WINDOW, BLOCK_N)
    acc, m_i, l_i = _attend_run(acc, m_i, l_i, q, qp, k_base, v_base, stride_ks, stride_vs,
                                lo, full_lo, n_run, pos0, qk_scale, window, True,
                                HAS_WINDOW, HEAD_DIM, DOT_DTYPE, BLOCK_N, BLOCK_D)
    acc, m_i, l_i = _attend_run(acc, m_i, l_i, q, qp, k_base, v_base, stride_ks, stride_vs,
                                full_lo, full_hi, n_run, pos0, qk_scale, window, False,
                                HAS_WINDOW, HEAD_DIM, DOT_DTYPE, BLOCK_N, BLOCK_D)
    acc, m_i, l_i = _attend_run(acc, m_i, l_i, q, qp, k_base, v_base, stride_ks, stride_vs,
                                full_hi, hi, n_run, pos0, qk_scale, window, True,
                                HAS_WINDOW, HEAD_DIM, DOT_DTYPE, BLOCK_N, BLOCK_D)
    # A query that sees no key has sum 0 and accumulator 0: it outputs zeros, as the ref does.
    out = acc / tl.where(l_i > 0, l_i, 1.0)[:, None]
    tl.store(out_ptr + b * stride_ob + h * stride_oh + offs_m[:, None] * stride_os
             + offs_d[None, :], out.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _attention_decode_kernel(
    # Pointers
    q_ptr, k_ptr, v_ptr, q_pos_ptr, k_pos_ptr, part_acc_ptr, part_max_ptr, part_sum_ptr,
    # Dimensions
    nheads_kv, group, seqlen_q, seqlen_k, keys_per_split, qk_scale, window,
    # Strides (the last axis of every tensor is contiguous; the partials are contiguous)
    stride_qb, stride_qh, stride_qs, stride_kb, stride_kh, stride_ks,
    stride_vb, stride_vh, stride_vs,
    # Meta-parameters
    HEAD_DIM: tl.constexpr, HAS_WINDOW: tl.constexpr, DOT_DTYPE: tl.constexpr,
    BLOCK_R: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
):
    split = tl.program_id(0)
    n_splits = tl.num_programs(0)
    pid_bk = tl.program_id(1).to(tl.int64)  # int64: offsets into a long cache pass 2^31
    b, kv = pid_bk // nheads_kv, pid_bk % nheads_kv
    # Row r of the block is query r % seqlen_q of query head kv * group + r // seqlen_q: the
    # whole group shares each key block it loads.
    r = tl.arange(0, BLOCK_R)
    row_ok = r < group * seqlen_q
    h = kv * group + r // seqlen_q
    t = r % seqlen_q
    offs_d = tl.arange(0, BLOCK_D)
    mask = row_ok[:, None] & (offs_d < HEAD_DIM)[None, :]
    q = tl.load(q_ptr + b * stride_qb + h[:, None] * stride_qh + t[:, None] * stride_qs
                + offs_d[None, :], mask=mask, other=0.0).to(DOT_DTYPE)
    qp = tl.load(q_pos_ptr + t, mask=row_ok, other=-1).to(tl.int32)
    acc = tl.zeros((BLOCK_R, BLOCK_D), tl.float32)
    m_i = tl.full((BLOCK_R,), float("-inf"), tl.float32)
    l_i = tl.zeros((BLOCK_R,), tl.float32)
    lo = split * keys_per_split
    acc, m_i, l_i = _attend_listed(acc, m_i, l_i, q, qp, 0, 0, k_ptr + b * stride_kb
                                   + kv * stride_kh, v_ptr + b * stride_vb + kv * stride_vh,
                                   k_pos_ptr, stride_ks, stride_vs, lo,
                                   tl.minimum(lo + keys_per_split, seqlen_k), qk_scale, window,
                                   False, HAS_WINDOW, HEAD_DIM, DOT_DTYPE, BLOCK_N, BLOCK_D)
    # Partials: (batch, nheads_q, seqlen_q, n_splits[, HEAD_DIM]); the max is in base 2.
    part = ((b * nheads_kv * group + h) * seqlen_q + t) * n_splits + split
    tl.store(part_max_ptr + part, m_i, mask=row_ok)
    tl.store(part_sum_ptr + part, l_i, mask=row_ok)
    tl.store(part_acc_ptr + part[:, None] * HEAD_DIM + offs_d[None, :], acc, mask=mask)


@triton.jit
def _attention_combine_kernel(
    # Pointers
    part_acc_ptr, part_max_ptr, part_sum_ptr, out_ptr,
    # Dimensions
    n_splits,
    # Meta-parameters
    HEAD_DIM: tl.constexpr, BLOCK_S: tl.constexpr, BLOCK_D: tl.constexpr,
):
    # One program per output row (batch, query head, query); the output is contiguous.
    row = tl.program_id(0).to(tl.int64)
    offs_s = tl.arange(0, BLOCK_S)
    offs_d = tl.arange(0, BLOCK_D)
    s_ok = offs_s < n_splits
    d_ok = offs_d < HEAD_DIM
    part = row * n_splits + offs_s
    m = tl.load(part_max_ptr + part, mask=s_ok, other=float("-inf"))
    l_s = tl.load(part_sum_ptr + part, mask=s_ok, other=0.0)
    acc = tl.load(part_acc_ptr + part[:, None] * HEAD_DIM + offs_d[None, :],
                  mask=s_ok[:, None] & d_ok[None, :], other=0.0)
    m_all = tl.max(m, 0)
    # Splits that saw no key (max -inf) weigh 0; a row no split saw outputs zeros.
    w = tl.exp2(m - tl.where(m_all == float("-inf"), 0.0, m_all))
    total = tl.sum(w * l_s, 0)
    out = tl.sum(acc * w[:, None], 0) / tl.where(total > 0, total, 1.0)
    tl.store(out_ptr + row * HEAD_DIM + offs_d, out.to(out_ptr.dtype.element_ty), mask=d_ok)


def _key_layout(k_pos: torch.Tensor) -> torch.Tensor:
    """(n_head, pos0), int64 on k_pos's device: keys n_head.. sit at positions pos0, pos0+1, ...

    A full cache has n_head 0; a sliding-window cache puts its ring buffer (slots in no order)
    first, then the new keys. Computed on the device, so no host sync: the kernel reads it.
    """
    steps = torch.arange(1, k_pos.numel(), device=k_pos.device)
    breaks = torch.where(k_pos[1:] - k_pos[:-1] != 1, steps, 0)
    n_head = breaks.max(0, keepdim=True).values if breaks.numel() else steps.new_zeros(1)
    return torch.cat([n_head, k_pos.gather(0, n_head)])


def _prefill_config(dtype: torch.dtype) -> tuple[int, int, int, int]:
    """(BLOCK_M, BLOCK_N, num_warps, num_stages), hand-picked from sm_90 compiles (no autotune:
    the prompt length changes every call, and one config per dtype is what matters)."""
    if interpreting():
        return 32, 32, 4, 1  # bigger blocks mean fewer interpreted steps
    if dtype == torch.float32:
        # IEEE fp32 dots run on FMA units and need many registers: the smallest tiles spill
        # least (fp32 serves tests, not models).
        return 32, 32, 4, 2
    # Triton's fused-attention tutorial shape for Hopper: 8 warps hold the 128-row fp32
    # accumulator without spilling (4 warps spill at head size 64), 3 stages keep K/V loads
    # ahead of the MMAs.
    return 128, 64, 8, 3


@functools.cache
def _sm_count(device: torch.device) -> int:
    return torch.cuda.get_device_properties(device).multi_processor_count


def _decode_splits(programs: int, seqlen_k: int, block_n: int, device: torch.device) -> int:
    """Keys per split (a multiple of block_n) for split-K decoding over `programs` groups."""
    if interpreting() or device.type != "cuda":
        n_splits = 4  # enough to test the combine, few enough to interpret quickly
    else:
        # ~2 programs per SM: one wave, all resident at once (3 fit by shared memory), with
        # loads enough in flight to stream K/V at HBM speed. At least
        # 4 key blocks per split so a split's fixed cost (Q load, partial writes) stays small.
        n_splits = min(triton.cdiv(2 * _sm_count(device), programs),
                       triton.cdiv(seqlen_k, 4 * block_n))
    per_split = triton.cdiv(seqlen_k, max(1, n_splits))
    return triton.cdiv(per_split, block_n) * block_n


def _strides(t: torch.Tensor) -> tuple[int, int, int]:
    return t.stride(0), t.stride(1), t.stride(2)


def _prefill_fwd(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, q_pos: torch.Tensor,
                 k_pos: torch.Tensor, qk_scale: float, window: int | None,
                 out: torch.Tensor) -> None:
    batch, hq, seqlen_q, headdim = q.shape
    block_m, block_n, num_warps, num_stages = _prefill_config(q.dtype)
    grid = (triton.cdiv(seqlen_q, block_m), batch * hq)
    _attention_prefill_kernel[grid](
        q, k, v, q_pos, k_pos, _key_layout(k_pos), out,
        hq, hq // k.shape[1], seqlen_q, k.shape[2], qk_scale, window or 0,
        *_strides(q), *_strides(k), *_strides(v), *_strides(out),
        HEAD_DIM=headdim, HAS_WINDOW=window is not None, DOT_DTYPE=dot_dtype(q.dtype),
        BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_D=max(16, triton.next_power_of_2(headdim)),
        num_warps=num_warps, num_stages=num_stages,
    )


def _decode_fwd(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, q_pos: torch.Tensor,
                k_pos: torch.Tensor, qk_scale: float, window: int | None,
                out: torch.Tensor) -> None:
    batch, hq, seqlen_q, headdim = q.shape
    hkv, seqlen_k = k.shape[1], k.shape[2]
    block_n = 32 if interpreting() else 64
    keys_per_split = _decode_splits(batch * hkv, seqlen_k, block_n, q.device)
    n_splits = triton.cdiv(seqlen_k, keys_per_split)
    # Every partial is written by the decode kernel (each split holds at least one key).
    part_acc = torch.empty(batch, hq, seqlen_q, n_splits, headdim, device=q.device)
    part_max = torch.empty(batch, hq, seqlen_q, n_splits, device=q.device)
    part_sum = torch.empty_like(part_max)
    block_d = max(16, triton.next_power_of_2(headdim))
    # tl.dot needs >= 16 rows: a group of 6 heads x 1 query is padded to 16.
    block_r = max(16, triton.next_power_of_2(hq // hkv * seqlen_q))
    _attention_decode_kernel[(n_splits, batch * hkv)](
        q, k, v, q_pos, k_pos, part_acc, part_max, part_sum,
        hkv, hq // hkv, seqlen_q, seqlen_k, keys_per_split, qk_scale, window or 0,
        *_strides(q), *_strides(k), *_strides(v),
        HEAD_DIM=headdim, HAS_WINDOW=window is not None, DOT_DTYPE=dot_dtype(q.dtype),
        BLOCK_R=block_r, BLOCK_N=block_n, BLOCK_D=block_d,
        # Memory-bound streaming of K/V with 3 stages of loads in flight; 4 warps suffice for
        # 16 rows, 8 keep 32 to 128 rows' accumulator in registers (4 would use 244 at 64).
        num_warps=4 if block_r <= 16 else 8, num_stages=3,
    )
    _attention_combine_kernel[(batch * hq * seqlen_q,)](
        part_acc, part_max, part_sum, out, n_splits,
        HEAD_DIM=headdim, BLOCK_S=max(2, triton.next_power_of_2(n_splits)), BLOCK_D=block_d,
        num_warps=4 if block_d * n_splits > 4096 else 1,  # one row: tiny unless many splits
    )


def _use_decode(seqlen_q: int, group: int, dtype: torch.dtype) -> bool:
    """Split-K decoding while a KV group's queries fit one block of <= 128 rows: a decode step,
    or a keystroke's few new tokens over a long cache (Codestral 22B: 6 heads x 21 queries).
    The prefill kernel would run such a chunk as one query block per head, 48 programs each
    reading the whole cache, too few to fill the GPU; past 128 rows it has enough blocks.
    fp32 (tests) stops at 64 rows: its 128-row block spills 8 KB per thread on sm_90."""
    return group * seqlen_q <= (64 if dtype == torch.float32 else 128)


def _attention_fwd(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, q_pos: torch.Tensor,
    k_pos: torch.Tensor, scale: float, window: int | None, decode: bool | None = None,
) -> torch.Tensor:
    """`attention`, with `decode` forcing the kernel (None: by shape, as `attention` does)."""
    require_triton()
    batch, hq, seqlen_q, headdim = q.shape
    if hq % k.shape[1] or k.shape != v.shape or k.shape[-1] != headdim:
        raise ValueError(f"bad attention shapes: q {q.shape}, k {k.shape}, v {v.shape}")
    out = torch.empty(batch, hq, seqlen_q, headdim, dtype=q.dtype, device=q.device)
    if k.shape[2] == 0 or out.numel() == 0:
        return out.zero_()
    # Heads and positions may be strided views (cache slices, transposed projections): only
    # the head dimension must be contiguous, and copying the rare view that is not is cheap
    # next to attention. The position vectors are tiny.
    q, k, v = (t if t.stride(-1) == 1 else t.contiguous() for t in (q, k, v))
    q_pos, k_pos = q_pos.contiguous(), k_pos.contiguous()
    if decode is None:
        decode = _use_decode(seqlen_q, hq // k.shape[1], q.dtype)
    fwd = _decode_fwd if decode else _prefill_fwd
    fwd(q, k, v, q_pos, k_pos, scale * _LOG2E, window, out)
    return out


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    q_pos: torch.Tensor,
    k_pos: torch.Tensor,
    scale: float,
    window: int | None = None,
) -> torch.Tensor:
    """Triton twin of `attention_ref` (same arguments and result): flash attention for
    prefill, split-K flash-decoding for a few queries (see the module docstring)."""
    return _attention_fwd(q, k, v, q_pos, k_pos, scale, window)


def attention_mask(
    q_pos: torch.Tensor, k_pos: torch.Tensor, window: int | None
) -> torch.Tensor:
    """Which keys each query may see.

    Args:
        q_pos: (seqlen_q,) absolute positions of the queries.
        k_pos: (seqlen_k,) absolute positions of the keys, -1 for an empty slot.
        window: a query at position i sees keys at positions i - window + 1 .. i; None = all.
    Returns:
        (seqlen_q, seqlen_k) bool.
    """
    q = q_pos[:, None]
    k = k_pos[None, :]
    allowed = (k >= 0) & (k <= q)
    if window is not None:
        allowed &= q - k < window
    return allowed


def attention_ref(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    q_pos: torch.Tensor,
    k_pos: torch.Tensor,
    scale: float,
    window: int | None = None,
) -> torch.Tensor:
    """Softmax attention computed in fp32, heads grouped as `kv_head = q_head // (hq // hkv)`.

    Args:
        q: (batch, nheads_q, seqlen_q, headdim)
        k: (batch, nheads_kv, seqlen_k, headdim)
        v: (batch, nheads_kv, seqlen_k, headdim)
        q_pos: (seqlen_q,)
        k_pos: (seqlen_k,)
        scale: multiplies q·k (usually headdim ** -0.5).
        window: sliding-window size, or None.
    Returns:
        (batch, nheads_q, seqlen_q, headdim) in q's dtype.
    """
    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, dim=1).float()
    v = v.repeat_interleave(group, dim=1).float()
    scores = torch.matmul(q.float(), k.transpose(-1, -2)) * scale
    mask = attention_mask(q_pos, k_pos, window)
    scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    # A query with no visible key (impossible for causal self-attention) would give NaN; zero it.
    weights = torch.nan_to_num(weights, nan=0.0)
    return torch.matmul(weights, v).to(q.dtype)
