"""The `autan engine` process: one loaded model serving many clients (see `autan.wire.protocol`).

Threads: the asyncio event loop owns every socket, reads frames, answers `health` and turns
`cancel` into a CancelToken at once; one worker thread runs requests on the model, one at a
time, generates before prefills. The worker hands replies back to the loop with
`call_soon_threadsafe`, so no socket is touched off the loop and a long prefill never delays a
cancel or a health check.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autan.model.io.fim import FimFamily
from autan.model.runtime.engine import CancelToken, Engine, Generated
from autan.wire.protocol import (
    ALREADY_RUNNING,
    PROTOCOL_VERSION,
    Failed,
    Finished,
    FrameTooLarge,
    ProtocolError,
    Reply,
    RequestId,
    RequestStats,
    SamplingParams,
    Token,
    encode_frame,
    int_list,
    read_frame,
    reply_to_frame,
    request_id_of,
)

log = logging.getLogger(__name__)

Emit = Callable[[Reply], None]  # thread-safe: called from the worker or the loop thread


@dataclass(eq=False)
class Job:
    """One request for the worker. `owner` groups a client's prefills (newest wins)."""

    kind: str  # "generate" | "prefill"
    prompt_ids: list[int]
    boundaries: list[int]
    params: SamplingParams
    emit: Emit
    owner: object | None = None
    cancel: CancelToken = field(default_factory=CancelToken)


class Scheduler:
    """Runs jobs on the model in one worker thread: queued generates first, then prefills.

    Only one request runs at a time because the model and its prefix cache serve one stream;
    priority matters because a prefill warms the cache for a keystroke that may never come,
    while a generate is a keystroke waiting for its completion.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cond = threading.Condition()
        self._queues: dict[str, deque[Job]] = {"generate": deque(), "prefill": deque()}
        self._running: Job | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._work, name="autan-engine", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def busy(self) -> bool:
        """Whether a job runs or waits."""
        with self._cond:
            return self._running is not None or any(self._queues.values())

    def queued(self) -> int:
        with self._cond:
            return sum(len(q) for q in self._queues.values())

    def submit(self, job: Job) -> None:
        """Queue `job`; a prefill replaces the same owner's prefills still waiting."""
        superseded: list[Job] = []
        with self._cond:
            if self._stopped:
                raise ProtocolError("the engine is shutting down")
            if job.kind == "prefill" and job.owner is not None:
                queue = self._queues["prefill"]
                superseded = [j for j in queue if j.owner is job.owner]
                self._queues["prefill"] = deque(j for j in queue if j.owner is not job.owner)
            self._queues[job.kind].append(job)
            self._cond.notify()
        for old in superseded:
            old.emit(Finished("", "cancelled"))

    def cancel(self, job: Job) -> None:
        """A queued job ends now; a running one stops before its next decode step."""
        with self._cond:
            queue = self._queues[job.kind]
            queued = job in queue
            if queued:
                queue.remove(job)
        if queued:
            job.emit(Finished("", "cancelled"))
        else:
            job.cancel.cancel()

    def stop(self, timeout_s: float = 5.0) -> None:
        """End every job and the worker; waits at most `timeout_s` for the running step."""
        with self._cond:
            self._stopped = True
            drained = [j for q in self._queues.values() for j in q]
            for q in self._queues.values():
                q.clear()
            if self._running is not None:
                self._running.cancel.cancel()
            self._cond.notify_all()
        for job in drained:
            job.emit(Finished("", "cancelled"))
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _take(self) -> Job | None:
        with self._cond:
            while not self._stopped and not any(self._queues.values()):
                self._cond.wait()
            if self._stopped:
                return None
            queue = self._queues["generate"] or self._queues["prefill"]
            self._running = queue.popleft()
            return self._running

    def _work(self) -> None:
        while (job := self._take()) is not None:
            try:
                self._run(job)
            except Exception as err:  # any failure ends this request, not the engine
                log.exception("request failed")
                job.emit(Failed(f"{type(err).__name__}: {err}"))
            finally:
                with self._cond:
                    self._running = None

    def _run(self, job: Job) -> None:
        if job.cancel.cancelled:
            job.emit(Finished("", "cancelled"))
        elif job.kind == "prefill":
            stats = RequestStats()
            self.engine.prefill(job.prompt_ids, job.boundaries, stats=stats)
            job.emit(Finished("", "prefilled", stats))
        else:
            self._generate(job)

    def _generate(self, job: Job) -> None:
        for event in self.engine.generate(job.prompt_ids, job.params, job.boundaries,
                                          job.cancel):
            if isinstance(event, Generated):
                job.emit(Finished(event.text, event.finish_reason, event.stats))
            else:
                job.emit(Token(event.text, event.token_id))


class EngineService:
    """What every front end (msgpack connections, HTTP) shares: the engine, its scheduler,
    identity for `hello`/`health`, and the stop signal."""

    def __init__(self, engine: Engine, model_name: str, family: FimFamily | None = None,
                 load_ms: float = 0.0) -> None:
        """`load_ms`: how long loading the model took, told to clients in `hello` so that a
        client that started this engine can split its wait into process start and load."""
        self.engine = engine
        self.model_name = model_name
        self.family = family
        self.load_ms = load_ms
        self.scheduler = Scheduler(engine)
        self.started = time.monotonic()
        self.connections = 0
        self.last_active = time.monotonic()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._stop = asyncio.Event()

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    async def wait_stopped(self) -> None:
        assert self._stop is not None
        await self._stop.wait()

    def threadsafe(self, deliver: Callable[[Reply], None]) -> Emit:
        """An Emit that runs `deliver` on the loop, from whichever thread calls it."""
        loop = self._loop
        assert loop is not None

        def emit(reply: Reply) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed during shutdown
                loop.call_soon_threadsafe(deliver, reply)

        return emit

    def identity(self) -> dict[str, Any]:
        return {"model": self.model_name, "device": str(self.engine.model.device),
                "pid": os.getpid(), "load_ms": round(self.load_ms, 3)}

    def health(self) -> dict[str, Any]:
        uptime = round(time.monotonic() - self.started, 3)
        return {"ok": True, **self.identity(), "uptime_s": uptime,
                "cache_bytes": int(self.engine.cache.nbytes), "queued": self.scheduler.queued()}

    def check_prompt(self, ids: list[int], boundaries: list[int], rid: RequestId | None) -> None:
        """Refuse prompts the model cannot run, before they reach the worker."""
        vocab = self.engine.model.cfg.vocab_size
        if not ids:
            raise ProtocolError("prompt_ids is empty", rid)
        if max(ids) >= vocab:
            raise ProtocolError(f"prompt id {max(ids)} is outside the vocabulary ({vocab})", rid)
        if boundaries and max(boundaries) > len(ids):
            raise ProtocolError("a boundary lies past the end of the prompt", rid)

    def touch(self, delta: int = 0) -> None:
        """Count a connection opening (+1) or closing (-1), for --idle-exit."""
        self.connections += delta
        self.last_active = time.monotonic()


class RpcConnection:
    """One msgpack client: reads its frames, runs its requests, cancels them when it goes."""

    def __init__(self, service: EngineService, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.service = service
        self.reader = reader
        self.writer = writer
        self._jobs: dict[RequestId, Job] = {}

    async def serve(self) -> None:
        self.service.touch(+1)
        self._send({"type": "hello", "protocol": PROTOCOL_VERSION, **self.service.identity()})
        try:
            await self._read_loop()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away
        finally:
            for job in list(self._jobs.values()):
                self.service.scheduler.cancel(job)
            self._jobs.clear()
            self.writer.close()
            self.service.touch(-1)

    async def _read_loop(self) -> None:
        while True:
            try:
                message = await read_frame(self.reader)
                self._dispatch(message)
            except FrameTooLarge as err:
                self._send({"type": "error", "id": None, "message": str(err)})
                return
            except ProtocolError as err:
                self._send({"type": "error", "id": err.request_id, "message": str(err)})
            except (asyncio.IncompleteReadError, ConnectionError):
                raise
            except Exception as err:  # a bug in handling one message must not drop the client
                log.exception("cannot handle a message")
                self._send({"type": "error", "id": None, "message": f"internal error: {err!r}"})

    def _send(self, message: dict[str, Any]) -> None:
        if not self.writer.is_closing():
            self.writer.write(encode_frame(message))

    def _dispatch(self, message: dict[str, Any]) -> None:
        handler = {
            "generate": self._on_generate,
            "prefill": self._on_prefill,
            "cancel": self._on_cancel,
            "health": self._on_health,
            "shutdown": self._on_shutdown,
        }.get(message["type"])
        if handler is None:
            rid = message.get("id") if isinstance(message.get("id"), int | str) else None
            raise ProtocolError(f"unknown message type {message['type']!r}", rid)
        handler(message)

    def _submit(self, kind: str, message: dict[str, Any], params: SamplingParams) -> None:
        rid = request_id_of(message)
        assert rid is not None
        if rid in self._jobs:
            raise ProtocolError(f"request id {rid!r} is already in use", rid)
        ids = int_list(message.get("prompt_ids"), "prompt_ids", rid)
        boundaries = int_list(message.get("boundaries", []), "boundaries", rid)
        self.service.check_prompt(ids, boundaries, rid)
        job = Job(kind, ids, boundaries, params, self.service.threadsafe(
            lambda reply: self._deliver(rid, reply)), owner=self)
        self._jobs[rid] = job
        try:
            self.service.scheduler.submit(job)
        except ProtocolError as err:
            self._jobs.pop(rid, None)
            raise ProtocolError(str(err), rid) from None

    def _deliver(self, rid: RequestId, reply: Reply) -> None:
        if isinstance(reply, Finished | Failed):
            self._jobs.pop(rid, None)
        self._send(reply_to_frame(rid, reply))

    def _on_generate(self, message: dict[str, Any]) -> None:
        rid = request_id_of(message)
        self._submit("generate", message, SamplingParams.from_wire(message.get("params"), rid))

    def _on_prefill(self, message: dict[str, Any]) -> None:
        self._submit("prefill", message, SamplingParams(max_tokens=0))

    def _on_cancel(self, message: dict[str, Any]) -> None:
        job = self._jobs.get(request_id_of(message))  # unknown ids: the done crossed it
        if job is not None:
            self.service.scheduler.cancel(job)

    def _on_health(self, message: dict[str, Any]) -> None:
        rid = request_id_of(message, required=False)
        self._send({"type": "health", "id": rid, **self.service.health()})

    def _on_shutdown(self, message: dict[str, Any]) -> None:
        self._send({"type": "shutdown", "id": request_id_of(message, required=False)})
        self.service.stop()


@dataclass(frozen=True)
class ServeConfig:
    """Which front ends to open. `announce` tells the user (stderr) where they listen."""

    socket_path: Path | None = None
    stdio_fds: tuple[int, int] | None = None  # (read, write) from claim_stdio()
    http: tuple[str, int] | None = None
    idle_exit_s: float = 0.0  # stop after this long with no client (0: never)
    announce: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True)


class EngineBusy(Exception):
    """Another engine holds this socket's lock."""


def lock_socket(path: Path) -> int:
    """Take the socket's lock file before loading a model, so two engines started at once for
    one socket do not both load; the loser exits and its client connects to the winner.
    Returns the fd, held (and the lock with it) until the process exits."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise EngineBusy(f"{ALREADY_RUNNING} {path}") from None
    return fd


def claim_stdio() -> tuple[int, int]:
    """Keep stdin/stdout for frames and point fd 1 at stderr, so a stray print from any
    library goes to the log instead of corrupting the stream. Call before loading."""
    read_fd, write_fd = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    return read_fd, write_fd


async def _stdio_streams(fds: tuple[int, int]) -> tuple[asyncio.StreamReader,
                                                         asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                 os.fdopen(fds[0], "rb", buffering=0))
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(fds[1], "wb", buffering=0))
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


async def _serve_stdio(service: EngineService, fds: tuple[int, int]) -> None:
    """One client on the pipes; its end of input (the parent died or closed) stops the engine."""
    reader, writer = await _stdio_streams(fds)
    try:
        await RpcConnection(service, reader, writer).serve()
    finally:
        service.stop()


async def _serve_socket(service: EngineService, path: Path,
                        connections: set[asyncio.Task[Any]]) -> asyncio.AbstractServer:
    """Listen on `path` (the caller holds its lock, so a file there is stale), mode 0600."""

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections.add(task)
        try:
            await RpcConnection(service, reader, writer).serve()
        finally:
            connections.discard(task)

    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    old_mask = os.umask(0o177)
    try:
        return await asyncio.start_unix_server(on_connect, path=str(path))
    finally:
        os.umask(old_mask)


async def _idle_watch(service: EngineService, idle_s: float) -> None:
    """Stop the engine once no client has been connected and no job run for `idle_s`."""
    while True:
        await asyncio.sleep(min(idle_s / 4, 5.0))
        quiet = time.monotonic() - service.last_active
        if service.connections == 0 and not service.scheduler.busy and quiet >= idle_s:
            service.stop()
            return


async def serve(service: EngineService, config: ServeConfig) -> None:
    """Open the configured front ends and serve until `shutdown`, a signal, stdin's end or
    the idle timeout; then end every request and remove the socket."""
    from autan.engine_process.http_api import HttpServer, start_http  # optional front end

    service.bind_loop(asyncio.get_running_loop())
    service.scheduler.start()
    servers: list[asyncio.AbstractServer] = []
    http: HttpServer | None = None
    tasks: list[asyncio.Task[Any]] = []
    connections: set[asyncio.Task[Any]] = set()
    try:
        if config.socket_path is not None:
            servers.append(await _serve_socket(service, config.socket_path, connections))
            config.announce(f"autan engine: socket {config.socket_path}")
        if config.http is not None:
            http = await start_http(service, *config.http)
            config.announce(f"autan engine: http {http.url}")
        if config.stdio_fds is not None:
            tasks.append(asyncio.create_task(_serve_stdio(service, config.stdio_fds)))
        if config.idle_exit_s > 0:
            tasks.append(asyncio.create_task(_idle_watch(service, config.idle_exit_s)))
        _stop_on_signals(service)
        config.announce(f"autan engine: ready ({service.model_name} on "
                        f"{service.engine.model.device}, pid {os.getpid()})")
        await service.wait_stopped()
    finally:
        if http is not None:
            http.close()  # no new requests; those in flight end with the scheduler below
        await _close_all(service, servers, tasks, connections)
        if http is not None:
            await http.wait_closed()
        if config.socket_path is not None:
            with contextlib.suppress(FileNotFoundError):
                config.socket_path.unlink()


def _stop_on_signals(service: EngineService) -> None:
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, service.stop)


async def _close_all(service: EngineService, servers: list[asyncio.AbstractServer],
                     tasks: list[asyncio.Task[Any]],
                     connections: set[asyncio.Task[Any]]) -> None:
    """Stop listening, end the requests, then drop the connections (bounded waits only)."""
    for server in servers:
        server.close()
    await asyncio.to_thread(service.scheduler.stop)
    await asyncio.sleep(0.05)  # let the worker's last replies reach their sockets
    pending = [*tasks, *connections]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=2.0)
