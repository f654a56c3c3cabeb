"""Lexical retrieval: BM25 over sliding windows of lines, as CrossCodeEval and RepoCoder do.

The query is the code just before the cursor; the documents are 20-line windows (step 10) of
candidate files. Terms are identifier-like words, split further at camelCase and snake_case
so that `parseConfig` also matches `parse_config`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
WINDOW_LINES = 20
WINDOW_STEP = 10


def terms(text: str) -> list[str]:
    """Lower-cased words and their camel/snake parts, for matching across naming styles."""
    out: list[str] = []
    for word in WORD.findall(text):
        out.extend(word_terms(word))
    return out


@lru_cache(maxsize=1 << 16)
def word_terms(word: str) -> tuple[str, ...]:
    """One word's terms; cached, since code repeats its words endlessly."""
    lower = word.lower()
    parts = [p.lower() for chunk in word.split("_") for p in CAMEL.findall(chunk)]
    if len(parts) > 1:
        return (lower, *(p for p in parts if len(p) > 1))
    return (lower,)


@dataclass
class Window:
    path: str
    start_line: int  # 0-based, inclusive
    end_line: int
    counts: Counter
    length: int = 0  # number of terms, for BM25's length normalisation


def windows(path: str, text: str) -> list[Window]:
    lines = text.splitlines()
    out = []
    for start in range(0, max(len(lines) - WINDOW_LINES, 0) + 1, WINDOW_STEP):
        chunk = lines[start : start + WINDOW_LINES]
        if chunk:
            counts = Counter(terms("\n".join(chunk)))
            out.append(Window(path, start, start + len(chunk) - 1, counts,
                              sum(counts.values())))
    return out


def bm25_rank(query: str, docs: Iterable[Window], k1: float = 1.2, b: float = 0.75,
              top: int = 20) -> list[tuple[float, Window]]:
    """The `top` windows by BM25 score against `query` (score > 0 only)."""
    docs = list(docs)
    if not docs:
        return []
    q = set(terms(query))
    df = Counter(t for d in docs for t in q if t in d.counts)
    avg_len = sum(d.length for d in docs) / len(docs) or 1.0
    scored = []
    for d in docs:
        length = d.length
        score = 0.0
        for t in q:
            tf = d.counts.get(t, 0)
            if tf:
                idf = math.log(1 + (len(docs) - df[t] + 0.5) / (df[t] + 0.5))
                score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg_len))
        if score > 0:
            scored.append((score, d))
    scored.sort(key=lambda x: (-x[0], x[1].path, x[1].start_line))
    return scored[:top]
