"""Text to token ids and back, for one model folder's `tokenizer.json`.

A thin wrapper over the `tokenizers` library (no `transformers`: the server must start fast
and offline). Two things the library does not give directly are added here:

* Plain-text encoding. `tokenizers` matches every added token (special or not) inside the input
  text even with `add_special_tokens=False`; that flag only controls the post-processor
  template. A completion prompt is built from the user's code, and code that happens to contain
  `<fim_prefix>` must not turn into the control token. So `encode` runs a second copy of the
  tokenizer from which the added tokens were removed: user text can then only produce ordinary
  vocabulary ids, and control tokens are inserted by id (see `io/fim.py`).
* Streaming detokenization (`StreamDecoder`): byte-level BPE splits multi-byte UTF-8 characters
  over several tokens, so text is handed out only once it decodes cleanly.

Special tokens are always found by name, never by a hard-coded id: ids differ between models
that share a token's name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import tokenizers

from autan.model.errors import ModelFileError

REPLACEMENT_CHAR = "\ufffd"

# Names tried, in order, when the config does not say which token starts or ends a document.
BOS_NAMES: tuple[str, ...] = (
    "<s>",
    "<|begin_of_text|>",
    "<｜begin▁of▁sentence｜>",
    "<bos>",
    "<|startoftext|>",
    "<BOS>",
)
EOS_NAMES: tuple[str, ...] = (
    "</s>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<｜end▁of▁sentence｜>",
    "<eos>",
    "<EOS>",
)

# Files in a model folder that may name the BOS/EOS tokens, most authoritative first.
_CONFIG_FILES: tuple[str, ...] = ("config.json", "generation_config.json", "tokenizer_config.json")


def _read_json(path: Path) -> dict[str, Any]:
    """Parse a JSON object from `path`, turning every failure into a one-line ModelFileError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelFileError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ModelFileError(path, f"cannot read: {err}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ModelFileError(path, f"not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ModelFileError(path, "not a JSON object")
    return data


def _backend_from_spec(spec: Mapping[str, Any], path: str) -> tokenizers.Tokenizer:
    """Build a `tokenizers.Tokenizer` from a parsed tokenizer.json, naming the file on failure."""
    try:
        return tokenizers.Tokenizer.from_str(json.dumps(spec))
    except Exception as err:  # the library raises a bare Exception for every parse problem
        first_line = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ModelFileError(path, f"not a usable tokenizer.json: {first_line}") from None


def _without_added_tokens(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The same tokenizer with no added tokens, so that no text can produce a control token."""
    plain = dict(spec)
    plain["added_tokens"] = []
    return plain


def _strip_dummy_prefix(node: Any, kind: str) -> tuple[Any, bool]:
    """Remove the leading-space insertion from one normalizer or pre-tokenizer node.

    SentencePiece-style tokenizers prepend a space ("dummy prefix") to the start of every encoded
    text. Text that continues earlier text (a FIM suffix) must not get one. Returns the node to
    keep (None to drop it) and whether anything changed.
    """
    if not isinstance(node, dict):
        return node, False
    kind_name = node.get("type")
    if kind_name == "Sequence":
        key = "normalizers" if kind == "normalizer" else "pretokenizers"
        kept, changed = [], False
        for child in node.get(key, []):
            new_child, child_changed = _strip_dummy_prefix(child, kind)
            changed = changed or child_changed
            if new_child is not None:
                kept.append(new_child)
        return {**node, key: kept}, changed
    if kind == "normalizer" and kind_name == "Prepend":
        return None, True
    if kind_name == "Metaspace" and (
        node.get("prepend_scheme", "always") != "never" or node.get("add_prefix_space")
    ):
        new = {**node, "prepend_scheme": "never"}
        if "add_prefix_space" in new:
            new["add_prefix_space"] = False
        return new, True
    if kind_name == "ByteLevel" and node.get("add_prefix_space"):
        return {**node, "add_prefix_space": False}, True
    return node, False


def _continuation_spec(plain: Mapping[str, Any]) -> dict[str, Any] | None:
    """`plain` without its dummy-prefix space, or None when it never adds one."""
    spec = dict(plain)
    normalizer, norm_changed = _strip_dummy_prefix(spec.get("normalizer"), "normalizer")
    pre, pre_changed = _strip_dummy_prefix(spec.get("pre_tokenizer"), "pre_tokenizer")
    if not (norm_changed or pre_changed):
        return None
    spec["normalizer"] = normalizer
    spec["pre_tokenizer"] = pre
    return spec


def _config_token_ids(value: Any) -> list[int]:
    """Ids from a config's `bos_token_id`/`eos_token_id`, which may be an int or a list."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
    return []


def _config_token_name(value: Any) -> str | None:
    """A token name from tokenizer_config.json, where it is a string or an AddedToken dict."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return None


class Tokenizer:
    """One model's tokenizer: plain-text encoding, decoding, and special tokens by name."""

    def __init__(
        self,
        spec: Mapping[str, Any],
        config: Mapping[str, Any] | None = None,
        path: str | Path = "<memory>",
    ) -> None:
        """Build from a parsed tokenizer.json (`spec`); `config` may name BOS/EOS ids or tokens.

        `config` keys used: `bos_token_id`, `eos_token_id` (int or list), `bos_token`,
        `eos_token` (name). Anything else is ignored, so a merged config.json is fine.
        """
        self.path = str(path)
        self._backend = _backend_from_spec(spec, self.path)
        plain = _without_added_tokens(spec)
        self._plain = _backend_from_spec(plain, self.path)
        cont_spec = _continuation_spec(plain)
        self._continuation = (
            _backend_from_spec(cont_spec, self.path) if cont_spec is not None else self._plain
        )
        self._vocab = self._backend.get_vocab(with_added_tokens=True)
        self._vocab_size = max(self._vocab.values(), default=-1) + 1
        self._special_ids = frozenset(
            i for i, tok in self._backend.get_added_tokens_decoder().items() if tok.special
        )
        config = dict(config or {})
        self._bos_id = self._find_bos(config)
        self._eos_ids = self._find_eos(config)
        self._anchor_ids = self._plain.encode("a", add_special_tokens=False).ids
        self._anchor_text = self.decode(self._anchor_ids)

    @classmethod
    def from_file(cls, path: str | Path, config: Mapping[str, Any] | None = None) -> Tokenizer:
        """Load a tokenizer.json file; raises ModelFileError if it is missing or unusable."""
        path = Path(path)
        return cls(_read_json(path), config, path)

    @classmethod
    def from_backend(
        cls, backend: tokenizers.Tokenizer, config: Mapping[str, Any] | None = None
    ) -> Tokenizer:
        """Wrap an in-memory `tokenizers.Tokenizer` (tests, converted tokenizers)."""
        return cls(json.loads(backend.to_str()), config)

    @classmethod
    def from_dir(cls, path: str | Path, config: Mapping[str, Any] | None = None) -> Tokenizer:
        """Load `path/tokenizer.json`; BOS/EOS hints come from `config` or the folder's configs.

        Without an explicit `config`, config.json, generation_config.json and
        tokenizer_config.json are read when present (earlier files win per key).
        """
        folder = Path(path)
        if config is None:
            config = cls._folder_config(folder)
        return cls.from_file(folder / "tokenizer.json", config)

    @staticmethod
    def _folder_config(folder: Path) -> dict[str, Any]:
        """Merge the BOS/EOS hints of a model folder's config files."""
        merged: dict[str, Any] = {}
        for name in _CONFIG_FILES:
            file = folder / name
            if not file.is_file():
                continue
            for key, value in _read_json(file).items():
                if key in ("bos_token_id", "eos_token_id", "bos_token", "eos_token"):
                    merged.setdefault(key, value)
        return merged

    def _valid(self, ids: Iterable[int]) -> list[int]:
        """Keep the ids that exist in this vocabulary (configs are sometimes wrong)."""
        return [i for i in ids if 0 <= i < self._vocab_size and self.id_to_token(i) is not None]

    def _find_bos(self, config: Mapping[str, Any]) -> int | None:
        """BOS from config ids, then the config's token name, then the usual names."""
        ids = self._valid(_config_token_ids(config.get("bos_token_id")))
        if ids:
            return ids[0]
        return self._first_present([_config_token_name(config.get("bos_token")), *BOS_NAMES])

    def _find_eos(self, config: Mapping[str, Any]) -> tuple[int, ...]:
        """All EOS ids: config ids (possibly several), else the config's name or usual names."""
        ids = self._valid(_config_token_ids(config.get("eos_token_id")))
        if ids:
            return tuple(dict.fromkeys(ids))
        found = self._first_present([_config_token_name(config.get("eos_token")), *EOS_NAMES])
        return () if found is None else (found,)

    def _first_present(self, names: Sequence[str | None]) -> int | None:
        """The id of the first name in `names` that this vocabulary has."""
        for name in names:
            if name is not None and (found := self.token_id(name)) is not None:
                return found
        return None

    @property
    def bos_id(self) -> int | None:
        """The beginning-of-sequence id, or None for models that have none (StarCoder, Qwen)."""
        return self._bos_id

    @property
    def eos_id(self) -> int | None:
        """The main end-of-sequence id, or None when none could be found."""
        return self._eos_ids[0] if self._eos_ids else None

    @property
    def eos_ids(self) -> tuple[int, ...]:
        """Every end-of-sequence id the config lists (generation stops on any of them)."""
        return self._eos_ids

    @property
    def vocab_size(self) -> int:
        """One more than the largest id, added tokens included: the embedding rows needed."""
        return self._vocab_size

    def token_id(self, name: str) -> int | None:
        """The id of the token spelled `name` (vocabulary or added token), or None."""
        return self._backend.token_to_id(name)

    def id_to_token(self, token_id: int) -> str | None:
        """The raw vocabulary spelling of `token_id` (e.g. 'Ġfoo'), or None if out of range."""
        return self._backend.id_to_token(token_id)

    def is_special(self, token_id: int) -> bool:
        """Whether `token_id` is an added token flagged special (skipped by skip_special)."""
        return token_id in self._special_ids

    def encode(
        self,
        text: str,
        add_special: bool = False,
        *,
        continuation: bool = False,
        parse_special: bool = False,
    ) -> list[int]:
        """Token ids for `text`, treated as plain text unless `parse_special` is set.

        `add_special` applies the tokenizer's post-processor (usually a BOS). `continuation`
        says the text directly continues earlier text, so SentencePiece-style tokenizers do
        not prepend their dummy space (FIM suffixes need this). `parse_special` turns the
        spellings of added tokens in `text` into their ids, as `tokenizers` does by default.
        """
        if parse_special:
            backend = self._backend
        else:
            backend = self._continuation if continuation else self._plain
        return backend.encode(text, add_special_tokens=add_special).ids

    def encode_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Ids for `text` as plain text, and each token's (start, end) character span in it.

        A token holding part of a multi-byte character spans that whole character, so
        neighbouring spans may overlap; every span lies inside `text`.
        """
        encoding = self._plain.encode(text, add_special_tokens=False)
        return list(encoding.ids), [tuple(span) for span in encoding.offsets]

    def decode(
        self, ids: Sequence[int], skip_special: bool = False, *, continuation: bool = False
    ) -> str:
        """The text of `ids`; special tokens are spelled out unless `skip_special`.

        With `continuation`, the ids are taken to follow earlier text: SentencePiece decoders
        drop the leading space of the first token ('▁foo' -> 'foo') at the start of a text,
        which is wrong for generated text that continues a prompt. The ids are then decoded
        after a fixed anchor token and the anchor's text is cut off.
        """
        if not continuation:
            return self._backend.decode(list(ids), skip_special_tokens=skip_special)
        full = self._backend.decode([*self._anchor_ids, *ids], skip_special_tokens=skip_special)
        if self._anchor_text and full.startswith(self._anchor_text):
            return full[len(self._anchor_text) :]
        return self._backend.decode(list(ids), skip_special_tokens=skip_special)

    @property
    def anchor_ids(self) -> tuple[int, ...]:
        """Ids of a fixed short text ('a') that continuation decoding puts in front."""
        return tuple(self._anchor_ids)

    def token_text(self, token_id: int) -> str:
        """The text one token contributes when it follows other text (for per-token output).

        A token holding part of a UTF-8 character yields U+FFFD; use StreamDecoder for text.
        """
        return self.decode([token_id], continuation=True)


class StreamDecoder:
    """Incremental detokenizer: feed ids one at a time, get only the newly completed text.

    Decoding each token alone is wrong twice over: a byte-level token may hold half of a UTF-8
    character, and SentencePiece decoders drop a leading space at the start of a text. So each
    step decodes a short window of recent ids and returns what the newest ids added to it. Text
    ending in U+FFFD is held back until the following token completes the character; `flush`
    returns whatever is still held.

    The concatenated output equals `decode(ids, continuation=continuation)`. `continuation`
    is on by default because generated ids continue a prompt: a first token '▁x' then yields
    ' x', not 'x'. For byte-level tokenizers both modes give `decode(ids)`.
    """

    def __init__(
        self, tokenizer: Tokenizer, skip_special: bool = False, continuation: bool = True
    ) -> None:
        self._tokenizer = tokenizer
        self._skip_special = skip_special
        # In continuation mode the window starts with the anchor ids, already "returned".
        self._start = list(tokenizer.anchor_ids) if continuation else []
        self.reset()

    def _decode(self, ids: Sequence[int]) -> str:
        return self._tokenizer.decode(ids, skip_special=self._skip_special)

    def feed(self, token_id: int) -> str:
        """Add one id; return the text it completes ('' while a character is still partial)."""
        self._ids.append(token_id)
        return self._emit(final=False)

    def feed_many(self, ids: Iterable[int]) -> str:
        """Add several ids; return the text they complete."""
        return "".join(self.feed(i) for i in ids)

    def flush(self) -> str:
        """Return any held-back text, even if it ends in an incomplete character."""
        return self._emit(final=True)

    def reset(self) -> None:
        """Forget everything fed so far (start of a new completion)."""
        self._ids: list[int] = list(self._start)
        self._prefix_offset = 0  # start of the window decoded for context
        self._read_offset = len(self._ids)  # ids before this are already returned as text

    def _emit(self, final: bool) -> str:
        """Decode the window and hand out the part past what was already returned."""
        if self._read_offset >= len(self._ids):
            return ""
        prefix_text = self._decode(self._ids[self._prefix_offset : self._read_offset])
        new_text = self._decode(self._ids[self._prefix_offset :])
        if not final and (len(new_text) <= len(prefix_text) or new_text.endswith(REPLACEMENT_CHAR)):
            return ""
        if new_text.startswith(prefix_text):
            delta = new_text[len(prefix_text) :]
        else:  # the decoder rewrote earlier text; hand out from the first difference
            same = 0
            while same < min(len(prefix_text), len(new_text)) and (
                prefix_text[same] == new_text[same]
            ):
                same += 1
            delta = new_text[same:]
        self._prefix_offset = self._read_offset
        self._read_offset = len(self._ids)
        return delta
