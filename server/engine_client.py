"""The LSP process's handle on `autan engine`: asyncio, torch-free, restarts a crashed engine.

Usage (from a coroutine):

    client = EngineClient(launch=EngineLaunch(model=folder))    # a private engine on stdio
    client = EngineClient(default_socket_path(folder),           # the shared engine of this
                          launch=EngineLaunch(model=folder))      # model, started if absent
    async for event in client.generate(ids, boundaries, SamplingParams(max_tokens=64)):
        ...  # Token(text, token_id) events, then one Finished(text, finish_reason, stats)

Cancel a completion by cancelling the task that iterates it (or closing the generator): the
client then sends `cancel`, and the engine stops before its next decode step. `cancel(id)`
does the same for a generation started with an explicit `request_id`.

An engine that dies (crash, OOM kill) fails the requests in flight with EngineError; the next
request starts a new engine (when the client has an `EngineLaunch`) and goes through. Nothing
here blocks the event loop: process start, connection and reads are all awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autan.wire.protocol import (
    ALREADY_RUNNING,
    PROTOCOL_VERSION,
    EngineError,
    Event,
    Failed,
    Finished,
    Health,
    ProtocolError,
    RequestId,
    SamplingParams,
    Token,
    encode_frame,
    health_from_frame,
    read_frame,
    reply_from_frame,
)

log = logging.getLogger(__name__)
engine_log = logging.getLogger("autan.engine")  # the engine's own stderr lines


@dataclass(frozen=True)
class EngineLaunch:
    """How to start `autan engine` when no engine is reachable."""

    model: Path | None = None  # None: the demo model
    device: str = "auto"
    dtype: str = "auto"
    extra_args: tuple[str, ...] = ()
    python: str = sys.executable
    start_timeout_s: float = 300.0  # loading a 7B model from a cold disk takes a while
    idle_exit_s: float = 600.0  # a shared socket engine exits this long after its last client
    env: Mapping[str, str] | None = None  # None: this process's environment

    def argv(self, transport: Sequence[str]) -> list[str]:
        """The command line for one transport (`--stdio` or `--socket PATH`). `-P`: the
        working folder (the user's workspace) is not put on sys.path, so a folder there
        named `kernels/` or `torch/` cannot shadow a package the engine imports."""
        args = [self.python, "-P", "-m", "autan.cli", "engine", *transport,
                "--device", self.device, "--dtype", self.dtype]
        if self.model is not None:
            args += ["--model", str(self.model)]
        return [*args, *self.extra_args]


@dataclass(frozen=True)
class EngineStart:
    """How the client came by its current engine, for the caller's timings.

    `spawned`: this client started the process (else one was already running). `wait_ms`:
    from the start (or the connect) until the engine's `hello`. `load_ms`: the engine's own
    model load, part of `wait_ms`, 0 when the engine was already running.
    """

    spawned: bool
    wait_ms: float
    load_ms: float


class _Connection:
    """One live connection: writes frames and routes replies to requests by id."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 process: asyncio.subprocess.Process | None = None) -> None:
        self.reader, self.writer, self.process = reader, writer, process
        self.hello: dict[str, Any] = {}
        self.closed_reason: str | None = None
        self._waiters: dict[RequestId, asyncio.Queue[dict[str, Any]]] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self.closed_reason is None

    async def handshake(self, timeout_s: float) -> None:
        """Wait for `hello` (sent once the model is loaded), then start routing replies."""
        frame = await asyncio.wait_for(read_frame(self.reader), timeout_s)
        if frame.get("type") != "hello" or frame.get("protocol") != PROTOCOL_VERSION:
            raise EngineError(f"not an autan engine of protocol {PROTOCOL_VERSION}: {frame}")
        self.hello = frame
        self._task = asyncio.create_task(self._route())

    def open(self, rid: RequestId) -> asyncio.Queue[dict[str, Any]]:
        if rid in self._waiters:
            raise EngineError(f"request id {rid!r} is already in use")
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._waiters[rid] = queue
        return queue

    def forget(self, rid: RequestId) -> None:
        self._waiters.pop(rid, None)

    def send_nowait(self, message: dict[str, Any]) -> None:
        if not self.alive or self.writer.is_closing():
            raise EngineError(self.closed_reason or "the engine connection is closed")
        self.writer.write(encode_frame(message))

    async def send(self, message: dict[str, Any]) -> None:
        self.send_nowait(message)
        try:
            await self.writer.drain()
        except ConnectionError as err:
            raise EngineError(f"the engine connection broke: {err}") from None

    async def _route(self) -> None:
        reason = "the engine closed the connection"
        try:
            while True:
                frame = await read_frame(self.reader)
                queue = self._waiters.get(frame.get("id"))
                if queue is not None:
                    queue.put_nowait(frame)
                elif frame.get("type") == "error":
                    log.warning("engine error: %s", frame.get("message"))
        except (asyncio.IncompleteReadError, ConnectionError, ProtocolError) as err:
            reason = f"the engine connection was lost ({type(err).__name__})"
        finally:
            self.closed_reason = reason
            for queue in self._waiters.values():
                queue.put_nowait({"type": "error", "message": reason})

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.closed_reason = self.closed_reason or "closed by the client"
        with contextlib.suppress(ConnectionError, RuntimeError):
            self.writer.close()


class EngineClient:
    """Requests to one engine: on a socket (shared), or a private child on stdio.

    `socket_path` without `launch`: connect to a running engine only. `socket_path` with
    `launch`: connect, starting `autan engine --socket` (detached, shared with other clients)
    if none answers. `launch` alone: a private `autan engine --stdio` child of this process.
    """

    def __init__(self, socket_path: str | Path | None = None,
                 launch: EngineLaunch | None = None, connect_timeout_s: float = 10.0,
                 on_spawn: Callable[[], None] | None = None) -> None:
        """`on_spawn` is called just before this client starts an engine process (not when
        it connects to one already running): a command line tells the user why it waits."""
        if socket_path is None and launch is None:
            raise ValueError("EngineClient needs a socket path, a launch recipe, or both")
        self.socket_path = None if socket_path is None else Path(socket_path)
        self.launch = launch
        self.connect_timeout_s = connect_timeout_s
        self._conn: _Connection | None = None
        self._lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self._stderr_tail: deque[str] = deque(maxlen=20)
        self._spawned: asyncio.subprocess.Process | None = None
        self._on_spawn = on_spawn
        self._spawning = False  # set while _connection() starts a process
        self.last_start: EngineStart | None = None  # of the current connection

    async def __aenter__(self) -> EngineClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def pid(self) -> int | None:
        """The engine's process id once connected (from its `hello`)."""
        return None if self._conn is None else self._conn.hello.get("pid")

    @property
    def hello(self) -> dict[str, Any]:
        """The engine's `hello` (model, device, pid, load_ms) once connected, else empty."""
        return {} if self._conn is None else dict(self._conn.hello)

    async def start(self) -> None:
        """Connect (starting the engine if needed) now rather than on the first request."""
        await self._connection()

    async def generate(self, prompt_ids: Sequence[int], boundaries: Sequence[int] = (),
                       params: SamplingParams | None = None, *,
                       request_id: RequestId | None = None) -> AsyncIterator[Event]:
        """Stream a completion: Token events, then one Finished. Raises EngineError when the
        engine refuses the request or dies; leaving early cancels the generation."""
        conn = await self._connection()
        rid = next(self._ids) if request_id is None else request_id
        queue = conn.open(rid)
        ended = False
        try:
            await conn.send({"type": "generate", "id": rid, "prompt_ids": list(prompt_ids),
                             "boundaries": list(boundaries),
                             "params": (params or SamplingParams()).to_wire()})
            while not ended:
                reply = reply_from_frame(await queue.get())
                ended = not isinstance(reply, Token)
                if isinstance(reply, Failed):
                    raise EngineError(reply.message)
                yield reply
        finally:
            conn.forget(rid)
            if not ended and conn.alive:
                with contextlib.suppress(EngineError):
                    conn.send_nowait({"type": "cancel", "id": rid})

    async def cancel(self, request_id: RequestId) -> None:
        """Stop a generation or prefill started with `request_id` (no-op if it ended)."""
        conn = self._conn
        if conn is not None and conn.alive:
            with contextlib.suppress(EngineError):
                await conn.send({"type": "cancel", "id": request_id})

    async def prefill(self, prompt_ids: Sequence[int], boundaries: Sequence[int] = (), *,
                      request_id: RequestId | None = None) -> Finished:
        """Warm the engine's prefix cache for a likely prompt (runs after queued generates;
        a newer prefill replaces a queued older one, which then ends "cancelled")."""
        reply = await self._call({"type": "prefill", "prompt_ids": list(prompt_ids),
                                  "boundaries": list(boundaries)}, None, request_id)
        parsed = reply_from_frame(reply)
        if not isinstance(parsed, Finished):
            raise EngineError(getattr(parsed, "message", f"unexpected reply {reply}"))
        return parsed

    async def health(self, timeout_s: float = 10.0) -> Health:
        """The engine's health; answered even while a request runs on the model."""
        return health_from_frame(await self._call({"type": "health"}, timeout_s))

    async def shutdown(self) -> None:
        """Ask the engine to exit (every client of a shared engine loses it), then close."""
        with contextlib.suppress(EngineError):
            await self._call({"type": "shutdown"}, 10.0)
        await self.close()

    async def close(self) -> None:
        """Drop the connection. A private stdio engine exits when its input closes; a shared
        socket engine keeps serving other clients (until its --idle-exit)."""
        async with self._lock:
            if self._conn is not None:
                await self._retire(self._conn)
                self._conn = None

    async def _call(self, message: dict[str, Any], timeout_s: float | None,
                    request_id: RequestId | None = None) -> dict[str, Any]:
        """Send one request and wait for its single reply frame."""
        conn = await self._connection()
        rid = next(self._ids) if request_id is None else request_id
        queue = conn.open(rid)
        try:
            await conn.send({**message, "id": rid})
            reply = await asyncio.wait_for(queue.get(), timeout_s)
        except TimeoutError:
            raise EngineError(f"no {message['type']} reply in {timeout_s:g} s") from None
        finally:
            conn.forget(rid)
        if reply.get("type") == "error":
            raise EngineError(str(reply.get("message")))
        return reply

    async def _connection(self) -> _Connection:
        async with self._lock:
            if self._conn is not None and self._conn.alive:
                return self._conn
            if self._conn is not None:
                await self._retire(self._conn)
                self._conn = None
            start, self._spawning = time.perf_counter(), False
            if self.socket_path is not None:
                self._conn = await self._open_socket(self.socket_path)
            else:
                self._conn = await self._open_stdio()
            load_ms = float(self._conn.hello.get("load_ms", 0.0)) if self._spawning else 0.0
            self.last_start = EngineStart(self._spawning,
                                          (time.perf_counter() - start) * 1000, load_ms)
            return self._conn

    def _before_spawn(self) -> None:
        self._spawning = True
        log.info("starting autan engine (model %s)",
                 self.launch.model if self.launch is not None else "demo")
        if self._on_spawn is not None:
            self._on_spawn()

    async def _retire(self, conn: _Connection) -> None:
        """Close `conn` and reap its private engine (killed if it does not exit)."""
        await conn.close()
        proc = conn.process
        if proc is not None and proc.returncode is None:
            try:
                await asyncio.wait_for(proc.wait(), 5.0)
            except TimeoutError:
                proc.kill()
                await proc.wait()

    async def _open_stdio(self) -> _Connection:
        assert self.launch is not None
        self._before_spawn()
        proc = await asyncio.create_subprocess_exec(
            *self.launch.argv(["--stdio"]), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=None if self.launch.env is None else dict(self.launch.env))
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        drain = asyncio.create_task(_drain_stderr(proc.stderr, self._stderr_tail))
        conn = _Connection(proc.stdout, proc.stdin, proc)
        try:
            await conn.handshake(self.launch.start_timeout_s)
        except (asyncio.IncompleteReadError, ProtocolError, TimeoutError, EngineError) as err:
            await self._retire(conn)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(drain, 2.0)
            raise EngineError(f"autan engine did not start ({type(err).__name__}): "
                              + " | ".join(self._stderr_tail)) from None
        return conn

    async def _try_socket(self, path: Path) -> _Connection | None:
        """Connect and shake hands, or None when nothing listens there."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_unix_connection(str(path), limit=1 << 20), self.connect_timeout_s)
        except (OSError, TimeoutError):
            return None
        conn = _Connection(reader, writer)
        try:
            await conn.handshake(self.connect_timeout_s)
        except (asyncio.IncompleteReadError, ConnectionError, ProtocolError, TimeoutError):
            await conn.close()
            return None
        return conn

    async def _open_socket(self, path: Path) -> _Connection:
        conn = await self._try_socket(path)
        if conn is not None:
            return conn
        if self.launch is None:
            raise EngineError(f"no autan engine answers on {path}")
        log_file, log_start = await self._spawn_socket_engine(path)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.launch.start_timeout_s
        while loop.time() < deadline:
            await asyncio.sleep(0.1)
            conn = await self._try_socket(path)
            if conn is not None:
                return conn
            self._check_spawned(log_file, log_start)
        raise EngineError(f"autan engine did not open {path} in time; see {log_file}")

    async def _spawn_socket_engine(self, path: Path) -> tuple[Path, int]:
        """Start a detached engine (its own session, so it outlives this client and serves
        other windows); its stderr goes to a log file next to the socket. Returns the log
        and where this engine's lines start in it."""
        assert self.launch is not None
        self._before_spawn()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        log_file = path.with_name(path.name + ".log")
        args = ["--socket", str(path), "--idle-exit", str(self.launch.idle_exit_s)]
        fd = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "ab") as sink:
            start = sink.tell()
            self._spawned = await asyncio.create_subprocess_exec(
                *self.launch.argv(args), stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=sink, start_new_session=True,
                env=None if self.launch.env is None else dict(self.launch.env))
        return log_file, start

    def _check_spawned(self, log_file: Path, log_start: int) -> None:
        """Fail fast when the engine we started died, unless it stood aside for another
        engine that holds the socket's lock (that one will answer soon)."""
        proc = self._spawned
        if proc is None or proc.returncode is None:
            return
        tail = _tail(log_file, log_start)
        if ALREADY_RUNNING in tail:
            return
        raise EngineError(f"autan engine exited with {proc.returncode}: {tail}")


def _tail(path: Path, start: int, limit: int = 2000) -> str:
    """The end of a log file after `start`, one line per engine message."""
    try:
        with open(path, "rb") as file:
            file.seek(max(start, os.path.getsize(path) - limit))
            return file.read().decode("utf-8", "replace").strip().replace("\n", " | ")
    except OSError:
        return ""


async def _drain_stderr(stream: asyncio.StreamReader, tail: deque[str]) -> None:
    """Forward a private engine's stderr to logging, keeping the last lines for errors."""
    while line := await stream.readline():
        text = line.decode("utf-8", "replace").rstrip()
        tail.append(text)
        engine_log.info("%s", text)
