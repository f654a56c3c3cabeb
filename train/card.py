"""Exporting a trained model, and its model card (MODEL_CARD.md beside the weights).

The card says what a user of the weights needs to know and to comply with: what the model is,
how long and on what it was trained, every corpus package with its license (and the packages
left out because of theirs), and how it evaluates. `autan eval --card` rewrites the evaluation
section in place, between markers, so the card always shows the latest table.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch

from autan.model.io.writer import save_checkpoint
from autan.model.model import Model
from autan.train.options import SHARD_BYTES

EVAL_START, EVAL_END = "<!-- autan-eval:start -->", "<!-- autan-eval:end -->"


def export_model(model: Model, folder: Path, tokenizer: Path, card: str,
                 dtype: torch.dtype = torch.bfloat16, max_shard_bytes: int = SHARD_BYTES) -> Path:
    """Weights (in `dtype`, sharded if large), config.json naming the FIM layout (`autan`,
    StarCoder2's tokens), tokenizer.json and MODEL_CARD.md: a folder the loader reads."""
    save_checkpoint(model, folder, dtype=dtype, max_shard_bytes=max_shard_bytes,
                    extra_config={"fim_family": "autan",
                                  "torch_dtype": str(dtype).removeprefix("torch.")})
    shutil.copyfile(tokenizer, folder / "tokenizer.json.tmp")
    os.replace(folder / "tokenizer.json.tmp", folder / "tokenizer.json")
    write_text(folder / "MODEL_CARD.md", card)
    return folder


def write_text(path: Path, text: str) -> None:
    """Atomic write: a reader sees the old file or the new one, never half."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def table(header: list[str], rows: list[list[object]]) -> str:
    """A Markdown table (the card is read on GitHub and in editors)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def corpus_section(corpus_meta: dict) -> str:
    """Every package trained on or held out, with its license; the excluded ones apart."""
    packages = sorted(corpus_meta.get("packages", []), key=lambda p: (p["split"], p["name"]))
    rows = [[p["name"], p["version"], p["license"], p["split"], p["files"],
             f"{p['chars'] / 1e6:.2f}"] for p in packages]
    excluded = ", ".join(f"{p['name']} ({p['license']})"
                         for p in corpus_meta.get("excluded", [])) or "none"
    return ("## Corpus\n\nPermissively licensed Python found on the training machine: the "
            "standard library (PSF-2.0) and installed distributions whose license metadata is "
            "MIT, BSD, Apache or PSF. Held-out packages were never trained on; they are the "
            "evaluation set.\n\n"
            + table(["package", "version", "license", "split", "files", "MB"], rows)
            + f"\n\nLeft out for their license: {excluded}.\n")


def model_card(summary: dict, corpus_meta: dict) -> str:
    """The card's text; `summary` holds the model and training facts as label -> value."""
    facts = table(["", ""], [[k, v] for k, v in summary.items()])
    return (f"# {summary.get('name', 'autan model')}\n\n"
            "A small fill-in-the-middle code model trained by autan's own tooling "
            "(`autan train`), for completions with nothing to download. It uses StarCoder2's "
            "FIM and repository tokens (`<fim_prefix>`, `<fim_suffix>`, `<fim_middle>`, "
            "`<repo_name>`, `<file_sep>`).\n\n"
            f"## Model and training\n\n{facts}\n\n{corpus_section(corpus_meta)}\n"
            f"## Evaluation\n\n{EVAL_START}\nNot evaluated yet: run "
            f"`autan eval --model DIR --card`.\n{EVAL_END}\n")


def update_eval_section(card_path: Path, markdown: str) -> None:
    """Replace the card's evaluation section (between the markers) with `markdown`."""
    text = card_path.read_text(encoding="utf-8") if card_path.exists() else ""
    block = f"{EVAL_START}\n{markdown.strip()}\n{EVAL_END}"
    if EVAL_START in text and EVAL_END in text:
        head, rest = text.split(EVAL_START, 1)
        text = head + block + rest.split(EVAL_END, 1)[1]
    else:
        text = text.rstrip() + f"\n\n## Evaluation\n\n{block}\n"
    write_text(card_path, text)


def hardware(device: torch.device) -> str:
    """The device trained on, as a person would name it."""
    import platform

    if device.type == "cuda":
        return f"1x {torch.cuda.get_device_name(device)} (torch {torch.__version__})"
    return (f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} "
            f"threads (torch {torch.__version__})")


def training_summary(model: Model, name: str, facts: dict, dtype: torch.dtype) -> dict:
    """Model facts (architecture, parameters, size) followed by the run's `facts`."""
    params = sum(p.numel() for p in model.parameters())
    cfg = model.cfg
    symbols = {"mamba2": "M", "attention": "*", "mlp": "-"}
    pattern = "".join(symbols.get(k, "?") for k in cfg.kinds())
    size = params * torch.empty((), dtype=dtype).element_size()
    return {"name": name,
            "architecture": f"NemotronHForCausalLM, layers `{pattern}` (M Mamba-2, * attention)",
            "parameters": f"{params / 1e6:.2f}M (embedding tied to the head)",
            "width": cfg.d_model, "vocabulary": f"{cfg.vocab_size} (byte-level BPE)",
            "weights": f"{str(dtype).removeprefix('torch.')}, {size / 1e6:.1f} MB", **facts}
