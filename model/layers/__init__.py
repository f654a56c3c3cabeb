"""The mixers a block is made of: Mamba-1, Mamba-2, attention, MLP/MoE, norms, and the two
hybrid layers (Zamba2, Falcon-H1) that compose them. Each has `new_cache(...)` and
`forward(u, cache, pos)`."""
