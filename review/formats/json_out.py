"""The whole review as JSON, for scripts: findings with every field, skipped files, stats."""

from __future__ import annotations

import json
from dataclasses import asdict

from autan.review.types import Review


def render(review: Review) -> str:
    stats = asdict(review.stats) | {"tokens_per_s": round(review.stats.tokens_per_s, 1)}
    return json.dumps({
        "base": review.base,
        "head": review.head,
        "findings": [asdict(f) | {"message": f.message} for f in review.findings],
        "skipped": [{"path": path, "reason": reason} for path, reason in review.skipped],
        "stats": stats,
    }, indent=2, ensure_ascii=False) + "\n"
