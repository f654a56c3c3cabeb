"""The wire protocol between `autan engine` and its clients (LSP servers, editor plugins).

Why a separate process: the model (GiBs of weights, a prefix state cache of GiBs more) loads
once and is shared by every editor window, and the LSP process stays free of torch so it starts
fast and never stalls on a model step.

Transport
---------
A Unix socket (default path: `default_socket_path(model_dir)`, under `$XDG_RUNTIME_DIR/autan`
or else `~/.cache/autan/run`, mode 0600) or the engine's stdin/stdout (`autan engine --stdio`,
one client). Several clients may connect to one socket at once; they share the engine's prefix
state cache, and requests run one at a time on the model.

Framing
-------
Each message is one frame: a 4-byte big-endian unsigned length, then that many bytes holding
one msgpack map (string keys, `raw=False` strings). Length-prefixing, rather than a bare
msgpack stream, lets the engine skip a frame it cannot decode without losing its place in the
stream: a malformed frame gets an `error` frame back and the connection goes on. A frame larger
than `MAX_FRAME_BYTES` is answered with an `error` and the connection is closed.

Every message has a `"type"`. Request ids (`id`: int or str) are chosen by the client and are
scoped to its connection; replies carry the id of their request.

Engine -> client, once per connection, as soon as the model is loaded:

- `hello` {protocol: PROTOCOL_VERSION, model, device, pid, load_ms}. `load_ms` is how long
  the engine took to load the model (weights, tokenizer), process start and imports excluded.

Client -> engine:

- `generate` {id, prompt_ids: [int], boundaries: [int], params: {max_tokens, temperature,
  top_p, stop_strings: [str], stop_ids: [int], seed: int|nil}}. Replies: any number of
  `token` {id, text, token_id} frames, then exactly one `done` {id, text, finish_reason,
  stats: {prompt_tokens, reused_tokens, computed_tokens, generated_tokens, ttft_ms,
  decode_ms}} or one `error` {id, message}. `text` of a token frame may be empty (text held
  back while it could still become a stop string); the last token frame may have token_id -1
  (text flushed at the end, not tied to one token). `done.text` is the whole completion,
  stop string excluded. finish_reason: "stop" | "length" | "cancelled".
  `boundaries` are prompt positions where the engine snapshots its state for later requests
  (see `autan.model.io.fim.FimPrompt.boundaries`); params fields may be omitted (defaults in
  `autan.wire.types.SamplingParams`); max_tokens may be at most MAX_NEW_TOKENS (attention
  layers reserve memory for prompt plus max_tokens up front).
- `prefill` {id, prompt_ids, boundaries}: warm the prefix cache for a prompt likely to come
  (e.g. a file just opened). Low priority: queued generates run first, and a newer prefill from
  the same connection replaces its queued older ones (those end "cancelled"). Reply: `done`
  {id, text: "", finish_reason: "prefilled" | "cancelled", stats} or `error`. A prefill
  that has started runs to its end (a cancel only removes a queued one).
- `cancel` {id}: stop that request. A running generation stops before its next decode step
  and ends with `done` finish_reason "cancelled"; a queued one ends at once. A cancel for an
  unknown or finished id is ignored (it may cross the `done` on the wire).
- `health` {id?} -> `health` {id, ok, model, device, pid, load_ms, uptime_s, cache_bytes,
  queued}.
  Answered by the event loop at once, even while a request runs on the model.
- `shutdown` {id?} -> `shutdown` {id} then the engine stops every request, removes its socket
  and exits.

Any request the engine cannot use (not a map, unknown type, missing or mistyped fields, a
duplicate id) gets `error` {id (nil if unknown), message}; the engine keeps serving.
A client that disconnects has its requests cancelled.

This module is the only place the format is written down in code; it imports neither torch nor
any LSP library, so clients and plugins' test harnesses can use it.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import struct
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import msgpack

from autan.wire.types import (  # noqa: F401  (re-exported: the protocol's vocabulary)
    MAX_NEW_TOKENS,
    ProtocolError,
    RequestId,
    RequestStats,
    SamplingParams,
    int_list,
)

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 64 << 20  # 256K prompt ids take ~1.3 MB; anything near this is a bug
ALREADY_RUNNING = "another autan engine already serves"  # message the CLI prints, clients read

_LENGTH = struct.Struct(">I")
class FrameTooLarge(ProtocolError):
    """The length prefix exceeds MAX_FRAME_BYTES: the stream cannot be trusted any more."""


class EngineError(Exception):
    """The engine answered a request with `error`, or the engine could not be reached."""


@dataclass(frozen=True)
class Token:
    """Newly released completion text; token_id -1 for text flushed at the end."""

    text: str
    token_id: int


@dataclass(frozen=True)
class Finished:
    """The end of a request: the whole text, why it ended, and its cost."""

    text: str
    finish_reason: str  # stop | length | cancelled | prefilled
    stats: RequestStats = field(default_factory=RequestStats)


@dataclass(frozen=True)
class Failed:
    """An `error` reply, as an event (clients raise EngineError for it)."""

    message: str


Event = Token | Finished
Reply = Token | Finished | Failed


@dataclass(frozen=True)
class Health:
    """The engine's `health` reply."""

    ok: bool
    model: str
    device: str
    pid: int
    uptime_s: float
    cache_bytes: int
    queued: int = 0


def request_id_of(msg: dict[str, Any], required: bool = True) -> RequestId | None:
    """The `id` of a request, validated (int or str)."""
    rid = msg.get("id")
    if rid is None and not required:
        return None
    if isinstance(rid, bool) or not isinstance(rid, int | str):
        raise ProtocolError("id must be an integer or a string")
    return rid


def reply_to_frame(request_id: RequestId, reply: Reply) -> dict[str, Any]:
    """The frame that carries `reply` for request `request_id`."""
    if isinstance(reply, Token):
        return {"type": "token", "id": request_id, "text": reply.text, "token_id": reply.token_id}
    if isinstance(reply, Finished):
        return {"type": "done", "id": request_id, "text": reply.text,
                "finish_reason": reply.finish_reason, "stats": reply.stats.to_wire()}
    return {"type": "error", "id": request_id, "message": reply.message}


def reply_from_frame(frame: dict[str, Any]) -> Reply:
    """Parse a `token`, `done` or `error` frame (the client side of `reply_to_frame`)."""
    kind = frame.get("type")
    if kind == "token":
        return Token(str(frame.get("text", "")), int(frame.get("token_id", -1)))
    if kind == "done":
        stats = RequestStats.from_wire(frame.get("stats"))
        return Finished(str(frame.get("text", "")), str(frame.get("finish_reason", "")), stats)
    if kind == "error":
        return Failed(str(frame.get("message", "engine error")))
    return Failed(f"unexpected reply type {kind!r}")


def health_from_frame(frame: dict[str, Any]) -> Health:
    """Parse a `health` reply, ignoring fields a newer engine may add."""
    known = {f.name for f in fields(Health)}
    return Health(**{k: v for k, v in frame.items() if k in known})


def encode_frame(message: dict[str, Any]) -> bytes:
    """One frame: length prefix and msgpack body."""
    body = msgpack.packb(message, use_bin_type=True)
    return _LENGTH.pack(len(body)) + body


def decode_body(body: bytes) -> dict[str, Any]:
    """The map in a frame body; ProtocolError when it is not one well-formed msgpack map."""
    try:
        message = msgpack.unpackb(body, raw=False)
    except Exception as err:  # msgpack raises several unrelated types for bad input
        raise ProtocolError(f"frame is not valid msgpack: {type(err).__name__}") from None
    if not isinstance(message, dict):
        raise ProtocolError("frame is not a msgpack map")
    if not isinstance(message.get("type"), str):
        raise ProtocolError("frame has no string 'type'", _loose_id(message))
    return message


def _loose_id(message: dict[str, Any]) -> RequestId | None:
    """The id of a bad message when it has a usable one, so the error can name it."""
    rid = message.get("id")
    return rid if isinstance(rid, int | str) and not isinstance(rid, bool) else None


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any]:
    """Read one frame. Raises asyncio.IncompleteReadError at end of stream, FrameTooLarge
    for an oversized length (fatal) and ProtocolError for a bad body (the stream stays
    usable: the whole frame was consumed)."""
    header = await reader.readexactly(_LENGTH.size)
    (length,) = _LENGTH.unpack(header)
    if length > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"frame of {length} bytes exceeds {MAX_FRAME_BYTES}")
    return decode_body(await reader.readexactly(length))


def runtime_dir(env: dict[str, str] | None = None) -> Path:
    """Where engine sockets live: $XDG_RUNTIME_DIR/autan (per user, tmpfs) or the cache."""
    env = dict(os.environ) if env is None else env
    base = env.get("XDG_RUNTIME_DIR")
    if base and Path(base).is_dir():
        return Path(base) / "autan"
    cache = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "autan" / "run"


def default_socket_path(model_dir: str | Path, env: dict[str, str] | None = None) -> Path:
    """The socket one model's shared engine listens on: named by the model folder and a hash
    of its full path, so two checkouts of one model name do not collide, and short enough for
    the ~100-byte limit on Unix socket paths."""
    resolved = Path(model_dir).expanduser().resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:10]
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in resolved.name)[:24]
    return runtime_dir(env) / f"engine-{name}-{digest}.sock"
