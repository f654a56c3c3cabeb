"""`autan engine` over a Unix socket and stdio, through real processes and real sockets: the
token stream and its stats, a prefix cache shared by two clients, cancellation within one
decode step, health while busy, prefill priority, malformed frames, and an EngineClient that
restarts an engine killed mid-generation."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import msgpack
import pytest

from autan.model.io.demo import make_demo_checkpoint
from autan.server.engine_client import EngineClient, EngineLaunch
from autan.wire.protocol import (
    ALREADY_RUNNING,
    EngineError,
    Finished,
    ProtocolError,
    SamplingParams,
    Token,
    decode_body,
    encode_frame,
    read_frame,
)

T = TypeVar("T")
START_TIMEOUT_S = 240.0  # loading torch and the model on a busy 2-core CI machine
VOCAB_LOW, VOCAB_HIGH = 7, 500  # the demo tokenizer's specials sit below 7


def demo_model(factory: pytest.TempPathFactory) -> Path:
    """One demo checkpoint per test session (all server test modules share it)."""
    folder = factory.getbasetemp() / "autan-server-demo-model"
    if not (folder / "tokenizer.json").exists():
        make_demo_checkpoint(folder)
    return folder


@contextmanager
def short_tmp() -> Iterator[Path]:
    """A directory whose socket paths fit the ~100-byte Unix limit wherever TMPDIR points."""
    base = "/tmp" if Path("/tmp").is_dir() else None
    with tempfile.TemporaryDirectory(prefix="autan-", dir=base) as folder:
        yield Path(folder)


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    with short_tmp() as folder:
        yield folder


def run(coro: Awaitable[T], timeout_s: float = 300.0) -> T:
    """Run a test coroutine with a hard bound, so a hang fails instead of blocking CI."""
    return asyncio.run(asyncio.wait_for(coro, timeout_s))  # type: ignore[arg-type]


def prompt(seed: int, n: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(VOCAB_LOW, VOCAB_HIGH) for _ in range(n)]


def wait_for_line(log: Path, needle: str, proc: subprocess.Popen[bytes],
                  timeout_s: float = START_TIMEOUT_S) -> str:
    """The first line of `log` containing `needle`; fails if the process dies first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        for line in text.splitlines():
            if needle in line:
                return line
        if proc.poll() is not None:
            pytest.fail(f"engine exited with {proc.returncode}: {text}")
        time.sleep(0.05)
    pytest.fail(f"no {needle!r} in {log} after {timeout_s} s")


def engine_argv(*args: str) -> list[str]:
    return [sys.executable, "-P", "-m", "autan.cli", "engine", "--device", "cpu", *args]


@contextmanager
def engine_process(*args: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`autan engine ARGS` until it says ready; terminated (then killed) afterwards."""
    with open(log, "wb") as sink:
        proc = subprocess.Popen(engine_argv(*args), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=sink)
    try:
        wait_for_line(log, "autan engine: ready", proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(15)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_model(tmp_path_factory)


@pytest.fixture(scope="module")
def engine_socket(model_dir: Path) -> Iterator[Path]:
    """One engine on a socket for the module's tests (each test uses its own prompts)."""
    with short_tmp() as folder:
        path = folder / "engine.sock"
        with engine_process("--model", str(model_dir), "--socket", str(path),
                            log=folder / "engine.log"):
            yield path


class RawConnection:
    """Frames by hand, for what EngineClient would never send."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, path: Path) -> RawConnection:
        reader, writer = await asyncio.open_unix_connection(str(path))
        conn = cls(reader, writer)
        assert (await conn.recv())["type"] == "hello"
        return conn

    def send(self, message: dict[str, Any]) -> None:
        self.writer.write(encode_frame(message))

    def send_body(self, body: bytes) -> None:
        self.writer.write(struct.pack(">I", len(body)) + body)

    async def recv(self, timeout_s: float = 60.0) -> dict[str, Any]:
        return await asyncio.wait_for(read_frame(self.reader), timeout_s)

    async def until_done(self, count: int, timeout_s: float = 120.0) -> list[dict[str, Any]]:
        """Frames until `count` of them were `done` or `error`; returns those, in order."""
        ends: list[dict[str, Any]] = []
        while len(ends) < count:
            frame = await self.recv(timeout_s)
            if frame["type"] in ("done", "error"):
                ends.append(frame)
        return ends

    def close(self) -> None:
        self.writer.close()


class Tap:
    """A relay in front of the engine's socket that records every frame crossing it, in the
    order it crosses: what an EngineClient pointed at `path` really sent and what the engine
    answered, for the tests whose point is that order."""

    def __init__(self, target: Path, path: Path) -> None:
        self.target, self.path = target, path
        self.frames: list[tuple[str, dict[str, Any]]] = []  # (sender: client | engine, frame)
        self.server: asyncio.Server | None = None
        self.relays: list[asyncio.Future[Any]] = []

    async def __aenter__(self) -> Tap:
        self.server = await asyncio.start_unix_server(self._relay, str(self.path))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        # The client has closed by now; each relay ends once the engine side hangs up too.
        await asyncio.wait_for(asyncio.gather(*self.relays), 30)

    def sent(self, sender: str, kind: str) -> list[dict[str, Any]]:
        """The frames of type `kind` that `sender` sent, in order."""
        return [f for who, f in self.frames if who == sender and f["type"] == kind]

    def first(self, sender: str, predicate: Callable[[dict[str, Any]], bool]) -> int:
        """The position in `frames` of the first frame from `sender` that `predicate` takes."""
        return next(i for i, (who, f) in enumerate(self.frames)
                    if who == sender and predicate(f))

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_unix_connection(str(self.target))
        relay = asyncio.gather(self._pump("client", reader, up_writer),
                               self._pump("engine", up_reader, writer))
        self.relays.append(relay)
        await relay

    async def _pump(self, sender: str, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                frame = await read_frame(reader)
                self.frames.append((sender, frame))
                writer.write(encode_frame(frame))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # that side hung up: hang up the other
        finally:
            writer.close()


async def collect(stream: Any) -> tuple[list[Token], Finished]:
    tokens: list[Token] = []
    async for event in stream:
        if isinstance(event, Token):
            tokens.append(event)
        else:
            return tokens, event
    raise AssertionError("the stream ended without Finished")


def check_stream(tokens: list[Token], done: Finished, prompt_len: int, max_tokens: int) -> None:
    assert done.finish_reason == "length"
    assert done.text == "".join(t.text for t in tokens)
    assert [t.token_id for t in tokens if t.token_id >= 0] and len(tokens) >= max_tokens
    s = done.stats
    assert s.generated_tokens == max_tokens and s.prompt_tokens == prompt_len
    assert s.reused_tokens + s.computed_tokens == prompt_len
    assert s.ttft_ms > 0 and s.decode_ms > 0


def test_protocol_refuses_what_it_cannot_read() -> None:
    assert decode_body(encode_frame({"type": "health"})[4:]) == {"type": "health"}
    for body in (b"\xc1", msgpack.packb([1, 2]), msgpack.packb({"id": 1})):
        with pytest.raises(ProtocolError):
            decode_body(body)
    params = SamplingParams(max_tokens=3, stop_strings=("\n",), stop_ids=(0,), seed=4)
    assert SamplingParams.from_wire(params.to_wire()) == params
    for bad in ({"temperature": "hot"}, {"max_tokens": True}, {"stop_ids": [-1]}, {"x": 1},
                {"max_tokens": 10**9}, {"top_p": 0}, {"temperature": float("nan")}):
        with pytest.raises(ProtocolError):
            SamplingParams.from_wire(bad, request_id=9)


def test_socket_generate_streams_tokens_then_done(engine_socket: Path) -> None:
    async def main() -> None:
        async with EngineClient(engine_socket) as client:
            ids = prompt(1, 40)
            tokens, done = await collect(client.generate(ids, [20], SamplingParams(12)))
            check_stream(tokens, done, len(ids), 12)
            assert done.stats.reused_tokens == 0
            with pytest.raises(EngineError, match="vocabulary"):
                await collect(client.generate([10**6], (), SamplingParams(2)))
            _, again = await collect(client.generate([*ids, 8], [], SamplingParams(2)))
            assert again.stats.reused_tokens == len(ids)

    run(main())


def test_two_clients_share_one_engine_and_its_prefix_cache(engine_socket: Path) -> None:
    async def main() -> None:
        long_prompt = prompt(2, 600)
        async with EngineClient(engine_socket) as a, EngineClient(engine_socket) as b:
            (_, first), (_, other) = await asyncio.gather(
                collect(a.generate(long_prompt, (), SamplingParams(4))),
                collect(b.generate(prompt(3, 30), (), SamplingParams(4))))
            assert first.stats.reused_tokens == 0 and other.finish_reason == "length"
            extended = [*long_prompt, *prompt(4, 5)]
            _, second = await collect(b.generate(extended, (), SamplingParams(4)))
            assert second.stats.reused_tokens >= len(long_prompt)
            assert second.stats.computed_tokens <= 5
            assert (await a.health()).pid == (await b.health()).pid

    run(main())


def test_cancel_stops_the_generation_within_one_step(engine_socket: Path) -> None:
    async def main() -> None:
        async with EngineClient(engine_socket) as client:
            stream = client.generate(prompt(5, 20), (), SamplingParams(5000), request_id="c1")
            seen = 0
            async for event in stream:
                if isinstance(event, Finished):
                    break
                seen += 1
                if seen == 3:
                    await client.cancel("c1")
            # The engine's own count: it stopped a step or two after the third token (what
            # was already on the wire), not somewhere on the way to 5000.
            assert isinstance(event, Finished) and event.finish_reason == "cancelled"
            assert event.stats.generated_tokens <= 3 + 2

    run(main())


def test_cancelling_the_consumer_task_frees_the_engine(engine_socket: Path,
                                                       sock_dir: Path) -> None:
    async def main() -> None:
        async with Tap(engine_socket, sock_dir / "tap.sock") as tap, \
                EngineClient(tap.path) as client:
            first_token = asyncio.Event()

            async def consume() -> None:
                async for _ in client.generate(prompt(6, 20), (), SamplingParams(5000)):
                    first_token.set()

            task = asyncio.create_task(consume())
            await asyncio.wait_for(first_token.wait(), 60)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            _, done = await collect(client.generate(prompt(7, 10), (), SamplingParams(2)))
            assert done.finish_reason == "length"
        # On the wire: the client cancelled the abandoned generation, and the engine (one
        # request at a time) ended it as cancelled, far short of its 5000 tokens, before it
        # sent anything for the next request.
        abandoned, following = (f["id"] for f in tap.sent("client", "generate"))
        assert {"type": "cancel", "id": abandoned} in tap.sent("client", "cancel")
        ended = tap.first("engine", lambda f: f["type"] == "done" and f["id"] == abandoned)
        end = tap.frames[ended][1]
        assert end["finish_reason"] == "cancelled", end
        assert end["stats"]["generated_tokens"] < 5000
        assert ended < tap.first("engine", lambda f: f.get("id") == following)

    run(main())


def test_health_answers_while_the_model_is_busy(engine_socket: Path, model_dir: Path) -> None:
    async def main() -> None:
        async with EngineClient(engine_socket) as client:
            stream = client.generate(prompt(8, 300), (), SamplingParams(5000))
            assert isinstance(await stream.__anext__(), Token)  # the model is running it
            # A second request on another connection now waits for the model; a health check
            # sent after it on that connection is answered first, while both are in the
            # engine, so it is not waiting its turn behind the model.
            waiting = await RawConnection.open(engine_socket)
            waiting.send({"type": "generate", "id": "queued", "prompt_ids": prompt(19, 10),
                          "params": {"max_tokens": 2}})
            waiting.send({"type": "health", "id": "h"})
            reply = await waiting.recv()
            assert (reply["type"], reply["id"]) == ("health", "h") and reply["queued"] >= 1
            health = await client.health()
            assert health.ok and health.model == model_dir.name and health.queued >= 1
            assert health.pid == client.pid and health.device == "cpu"
            assert health.uptime_s > 0 and health.cache_bytes > 0
            await stream.aclose()  # the model is free: the waiting request runs
            (done,) = await waiting.until_done(1)
            assert (done["id"], done["finish_reason"]) == ("queued", "length")
            waiting.close()

    run(main())


def test_prefill_warms_the_cache_and_yields_to_generates(engine_socket: Path) -> None:
    async def main() -> None:
        conn = await RawConnection.open(engine_socket)
        warm = prompt(9, 200)
        conn.send({"type": "generate", "id": "g1", "prompt_ids": prompt(10, 20),
                   "params": {"max_tokens": 30}})
        conn.send({"type": "prefill", "id": "p1", "prompt_ids": prompt(11, 50)})
        conn.send({"type": "prefill", "id": "p2", "prompt_ids": warm, "boundaries": [100]})
        conn.send({"type": "generate", "id": "g2", "prompt_ids": prompt(12, 20),
                   "params": {"max_tokens": 2}})
        ends = await conn.until_done(4)
        assert [(f["id"], f["finish_reason"]) for f in ends] == [
            ("p1", "cancelled"), ("g1", "length"), ("g2", "length"), ("p2", "prefilled")]
        conn.close()
        async with EngineClient(engine_socket) as client:
            _, done = await collect(client.generate([*warm, 42], (), SamplingParams(2)))
            assert done.stats.reused_tokens == len(warm)

    run(main())


def test_malformed_frames_get_errors_and_the_engine_keeps_serving(engine_socket: Path) -> None:
    async def main() -> None:
        conn = await RawConnection.open(engine_socket)
        conn.send_body(b"\xc1\xc1 not msgpack")
        conn.send_body(msgpack.packb([1, 2, 3]))
        conn.send({"type": "teleport", "id": 5})
        conn.send({"type": "generate", "id": 6})
        conn.send({"type": "generate", "id": 7, "prompt_ids": [8], "params": {"top_p": "x"}})
        conn.send({"type": "generate", "id": 8, "prompt_ids": [10**6]})
        conn.send({"type": "cancel", "id": 12345})  # unknown ids are ignored
        conn.send({"type": "health", "id": 9})
        errors = [await conn.recv() for _ in range(6)]
        assert [e["type"] for e in errors] == ["error"] * 6
        assert [e["id"] for e in errors] == [None, None, 5, 6, 7, 8]
        assert "vocabulary" in errors[-1]["message"]
        health = await conn.recv()
        assert health["type"] == "health" and health["id"] == 9 and health["ok"]
        conn.send_body(b"")  # an empty body is one more bad frame, not the end
        assert (await conn.recv())["type"] == "error"
        conn.writer.write(struct.pack(">I", 1 << 31))  # oversized: error, then closed
        assert "exceeds" in (await conn.recv())["message"]
        assert await asyncio.wait_for(conn.reader.read(), 10) == b""
        async with EngineClient(engine_socket) as client:
            _, done = await collect(client.generate(prompt(13, 5), (), SamplingParams(2)))
            assert done.finish_reason == "length"

    run(main())


def test_a_second_engine_on_a_served_socket_stands_aside(engine_socket: Path,
                                                         model_dir: Path) -> None:
    result = subprocess.run(engine_argv("--model", str(model_dir), "--socket",
                                        str(engine_socket)), capture_output=True, text=True,
                            timeout=START_TIMEOUT_S)
    assert result.returncode == 1 and ALREADY_RUNNING in result.stderr


def test_bad_http_address_is_a_usage_error() -> None:
    result = subprocess.run(engine_argv("--http", "localhost"), capture_output=True,
                            text=True, timeout=START_TIMEOUT_S)
    assert result.returncode == 2 and "HOST:PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_stdio_engine_streams_and_exits_with_its_client(model_dir: Path) -> None:
    async def main() -> None:
        client = EngineClient(launch=EngineLaunch(model=model_dir, device="cpu",
                                                  start_timeout_s=START_TIMEOUT_S))
        ids = prompt(14, 30)
        tokens, done = await collect(client.generate(ids, (), SamplingParams(6)))
        check_stream(tokens, done, len(ids), 6)
        _, again = await collect(client.generate([*ids, 9], (), SamplingParams(6)))
        assert again.stats.reused_tokens == len(ids)
        pid = client.pid
        assert pid is not None and (await client.health()).pid == pid
        await client.close()
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # it exited on end of input and was reaped

    run(main())


def launch_for(model_dir: Path) -> EngineLaunch:
    return EngineLaunch(model=model_dir, device="cpu", start_timeout_s=START_TIMEOUT_S,
                        idle_exit_s=60.0)


@pytest.mark.parametrize("transport", ["stdio", "socket"])
def test_engine_killed_mid_generation_is_restarted(model_dir: Path, transport: str,
                                                   sock_dir: Path) -> None:
    async def main() -> None:
        socket_path = sock_dir / "engine.sock" if transport == "socket" else None
        client = EngineClient(socket_path, launch=launch_for(model_dir))
        try:
            await client.start()
            first_pid = client.pid
            assert first_pid is not None
            killed = False
            with pytest.raises(EngineError):  # the request in flight fails...
                async for _ in client.generate(prompt(15, 20), (), SamplingParams(5000)):
                    if not killed:
                        os.kill(first_pid, signal.SIGKILL)
                        killed = True
            ids = prompt(16, 20)
            tokens, done = await collect(client.generate(ids, (), SamplingParams(5)))
            check_stream(tokens, done, len(ids), 5)
            assert client.pid not in (None, first_pid)
        finally:
            await (client.shutdown() if socket_path else client.close())

    run(main())


def test_concurrent_on_demand_starts_share_one_engine(model_dir: Path, sock_dir: Path) -> None:
    async def main() -> None:
        path = sock_dir / "engine.sock"
        first = EngineClient(path, launch=launch_for(model_dir))
        second = EngineClient(path, launch=launch_for(model_dir))
        try:
            await asyncio.gather(first.start(), second.start())
            assert first.pid == second.pid
            (_, a), (_, b) = await asyncio.gather(
                collect(first.generate(prompt(17, 10), (), SamplingParams(3))),
                collect(second.generate(prompt(18, 10), (), SamplingParams(3))))
            assert a.finish_reason == b.finish_reason == "length"
        finally:
            await second.close()
            await first.shutdown()
        deadline = time.monotonic() + 30
        while path.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not path.exists()  # the engine removed its socket on the way out

    run(main())


@pytest.mark.parametrize("transport", ["stdio", "socket"])
def test_an_engine_that_cannot_start_says_why(tmp_path: Path, sock_dir: Path,
                                              transport: str) -> None:
    async def main() -> None:
        launch = EngineLaunch(model=tmp_path / "no-such-model", device="cpu",
                              start_timeout_s=START_TIMEOUT_S)
        client = EngineClient(sock_dir / "e.sock" if transport == "socket" else None, launch)
        with pytest.raises(EngineError, match="no-such-model"):
            await client.start()
        await client.close()

    run(main())
