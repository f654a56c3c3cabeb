"""Tests of autan.server.postprocess: one file per filter, the pipeline, the golden cases."""
