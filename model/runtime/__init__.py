"""Running a loaded model: the engine (prefill, generate, score), the per-block state and its
snapshots, the prefix state cache, CUDA-graph decoding, sampling and stop strings."""
