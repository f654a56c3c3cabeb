"""BM25 over line windows finds the code most similar to the lines before the cursor."""

from __future__ import annotations

from autan.indexer.lexical import bm25_rank, terms, windows


def test_terms_split_camel_and_snake_case() -> None:
    assert terms("parseConfig(load_file)") == ["parseconfig", "parse", "config", "load_file",
                                               "load", "file"]


def test_windows_cover_the_file_in_overlapping_steps() -> None:
    text = "\n".join(f"line{i}" for i in range(45))
    spans = [(w.start_line, w.end_line) for w in windows("a.py", text)]
    assert spans == [(0, 19), (10, 29), (20, 39)]
    assert windows("b.py", "only\nthree\nlines")[0].end_line == 2


def test_bm25_prefers_the_window_sharing_rare_terms() -> None:
    noise = "\n".join("x = compute(value)" for _ in range(25))
    target = "\n".join(["def render_invoice(invoice):", "    total = invoice.total_amount",
                        "    return format_currency(total)"] + ["pass"] * 17)
    docs = windows("noise.py", noise) + windows("billing.py", target)
    ranked = bm25_rank("amount = invoice.total_amount\nformat_currency(amount)", docs)
    assert ranked[0][1].path == "billing.py"
    assert all(score > 0 for score, _ in ranked)
    assert bm25_rank("", docs) == [] and bm25_rank("anything", []) == []
