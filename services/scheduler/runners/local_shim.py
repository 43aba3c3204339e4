"""Supervises one run's process for the local runner.

Started by the scheduler in a session of its own, so it outlives a scheduler that dies: it keeps
the run's output flowing into the log file (one JSON line per line printed, timestamped) and, when
the process ends, writes its exit code to `exit.json`. A restarted scheduler reads that file.
Standard library only, run with `python -I -S`, so it starts in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime
from typing import IO, Any


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _write_json(path: str, data: dict[str, Any]) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class _LogWriter:
    def __init__(self, path: str, container: str) -> None:
        self._out = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()
        self._container = container
        self._node = socket.gethostname()

    def write(self, stream: str, value: str) -> None:
        record = {
            "timestamp": _now(),
            "container": self._container,
            "node": self._node,
            "stream": stream,
            "value": value,
        }
        with self._lock:
            self._out.write(json.dumps(record) + "\n")
            self._out.flush()

    def pump(self, pipe: IO[bytes], stream: str) -> None:
        for raw in iter(pipe.readline, b""):
            self.write(stream, raw.decode("utf-8", "replace").rstrip("\r\n"))
        pipe.close()

    def close(self) -> None:
        with self._lock:
            self._out.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", required=True, help="folder for started.json and exit.json")
    parser.add_argument("--log", required=True, help="JSON-lines log file to append to")
    parser.add_argument("--cwd", required=True)
    parser.add_argument("--container", default="main")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    exit_file = os.path.join(args.state, "exit.json")
    logs = _LogWriter(args.log, args.container)

    # A stop signals the whole process group: the run gets it directly, and we wait for it to end.
    signal.signal(signal.SIGTERM, lambda *_: None)
    signal.signal(signal.SIGINT, lambda *_: None)

    problem = None
    if not command:
        problem = "nothing to run: the container has no command or args"
    elif not os.path.isdir(args.cwd):
        problem = f"working directory {args.cwd} does not exist"
    if problem is None:
        try:
            child = subprocess.Popen(
                command,
                cwd=args.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            problem = f"cannot start {command[0]!r}: {exc.strerror or exc}"
    if problem is not None:
        logs.write("stderr", f"ganglion: {problem}")
        logs.close()
        _write_json(exit_file, {"exit_code": 127, "finished_at": _now(), "error": problem})
        return 127

    _write_json(os.path.join(args.state, "started.json"), {"pid": child.pid, "started_at": _now()})
    assert child.stdout is not None
    assert child.stderr is not None
    pumps = [
        threading.Thread(target=logs.pump, args=(child.stdout, "stdout"), daemon=True),
        threading.Thread(target=logs.pump, args=(child.stderr, "stderr"), daemon=True),
    ]
    for pump in pumps:
        pump.start()
    code = child.wait()
    for pump in pumps:
        # A grandchild may hold the pipes open after the run ended; do not wait for it forever.
        pump.join(timeout=5)
    logs.close()
    result: dict[str, Any] = {"exit_code": code, "finished_at": _now()}
    if code < 0:
        result["signal"] = -code
        result["exit_code"] = 128 - code
    _write_json(exit_file, result)
    return int(result["exit_code"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
