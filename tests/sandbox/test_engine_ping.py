"""`auto` asks the engine's unix socket for a ping itself (grader.sandbox.engine_answers) instead of
importing the docker SDK to ask: only an HTTP 200 counts as an engine, and anything else at the socket
(nothing, a refusal, silence, another reply) means the local sandbox."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from grader.sandbox import choose_sandbox, engine_answers


def _serve(path: Path, reply: bytes | None, requests: int) -> threading.Thread:
    """A unix socket at `path` that answers `requests` pings with `reply` (None: never answers)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def serve() -> None:
        for _ in range(requests):
            conn, _ = server.accept()
            assert conn.recv(1024).startswith(b"GET /_ping HTTP/1.0\r\n")
            if reply is None:
                threading.Event().wait(2)
            else:
                conn.sendall(reply)
            conn.close()
        server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("reply, answers", [
    (b"HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Length: 2\r\n\r\nOK", True),
    (b"HTTP/1.1 500 Internal Server Error\r\n\r\n", False),
    (b"SSH-2.0-OpenSSH_9.2\r\n", False),
    (None, False),
])
def test_only_an_engine_s_200_counts(tmp_path, monkeypatch, reply, answers):
    path = tmp_path / "docker.sock"
    server = _serve(path, reply, requests=1 if reply is None else 2)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
    assert engine_answers(timeout=0.5) is answers
    if reply is not None:  # silence is not asked twice: `auto` would wait its 5 s
        assert choose_sandbox("auto") == ("docker" if answers else "local")
    server.join(timeout=5)


def test_no_socket_means_the_local_sandbox(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    assert engine_answers(timeout=1) is False
    assert choose_sandbox("auto") == "local"
    assert choose_sandbox("docker") == "docker"  # asked for by name: the grading says what is missing
