"""Start, find and stop the local AWS API (moto's server) on 127.0.0.1.

A server started for the local main job is recorded in ``.local/run/``
(``moto.pid``, ``moto.url``, log in ``moto.log``) so that later runs reuse it
and ``make stop`` can end it by its process id. The test suite starts an
unrecorded server of its own and stops it at the end of the session.

Liveness is probed on ``/moto-api/config``, which returns moto's own settings
and reads no stored resource. ``/moto-api/data.json`` would not do: once a
Lambda function exists, moto returns 500 for it because dumping the function
tries to reach Docker.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
PROBE_TIMEOUT_SECONDS = 2.0
# A recorded server contains the user's local deployment, so a busy machine gets
# several probes before the server is taken for hung and replaced.
REUSE_PROBE_SECONDS = 10.0
# Long enough for another run to probe and stop a hung server, then start a new one.
LOCK_TIMEOUT_SECONDS = REUSE_PROBE_SECONDS + 2 * STOP_TIMEOUT_SECONDS + STARTUP_TIMEOUT_SECONDS
REPO_ROOT = Path(__file__).resolve().parents[2]

PID_FILE = "moto.pid"
URL_FILE = "moto.url"
LOG_FILE = "moto.log"
LOCK_FILE = "moto.lock"
MODULE_MARKER = b"tests.harness.moto_patches"


class MotoServerError(RuntimeError):
    """The local AWS API could not be started or reached."""


@dataclass(frozen=True)
class MotoServer:
    url: str
    pid: int


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def is_responding(url: str) -> bool:
    """Return whether moto's management API responds at ``url`` within the probe timeout.

    The probe reads moto's settings (a JSON object with a ``lambda`` key), so
    an unrelated server on a reused port does not pass, and its cost does not
    grow with the resources stored in moto.
    """
    try:
        with urllib.request.urlopen(
            f"{url}/moto-api/config", timeout=PROBE_TIMEOUT_SECONDS
        ) as response:
            settings = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return isinstance(settings, dict) and "lambda" in settings


def responds_within(url: str, seconds: float) -> bool:
    """Probe ``url`` until it responds or ``seconds`` have passed, and return whether it did."""
    deadline = time.monotonic() + seconds
    while True:
        if is_responding(url):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start(log_path: Path) -> tuple[MotoServer, subprocess.Popen[bytes]]:
    """Start a moto server on a free port and wait until it responds.

    The server runs in its own session, so it outlives the make target that
    started it; its output goes to ``log_path``.
    """
    port = free_port()
    url = f"http://{HOST}:{port}"
    log_path.parent.mkdir(parents=True, exist_ok=True)

    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.harness.moto_patches", "-H", HOST, "-p", str(port)],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MotoServerError(
                f"moto server exited with status {process.returncode} before answering on"
                f" {url}: see {log_path}"
            )
        if is_responding(url):
            log.info("moto server %s started (pid %s)", url, process.pid)
            return MotoServer(url=url, pid=process.pid), process
        time.sleep(0.2)

    process.terminate()
    raise MotoServerError(
        f"moto server did not answer on {url} within {STARTUP_TIMEOUT_SECONDS:.0f} s:"
        f" see {log_path}"
    )


def ensure_recorded(run_dir: Path) -> MotoServer:
    """Reuse the server recorded in ``run_dir`` if it responds, else start and record one.

    A recorded server that is still running but does not respond is stopped
    first, so its pid is never overwritten while it runs. A lock in
    ``run_dir`` keeps two concurrent runs from both starting a server.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    with _locked(run_dir):
        recorded = read_recorded(run_dir)
        if recorded is not None and is_alive(recorded.pid) and _is_moto(recorded.pid):
            if responds_within(recorded.url, REUSE_PROBE_SECONDS):
                log.info("reusing moto server %s (pid %s)", recorded.url, recorded.pid)
                return recorded
            log.warning(
                "moto server pid %s did not respond on %s within %.0f s:"
                " stopping it and starting another",
                recorded.pid,
                recorded.url,
                REUSE_PROBE_SECONDS,
            )
            stop(recorded.pid)

        server, _ = start(run_dir / LOG_FILE)
        (run_dir / PID_FILE).write_text(f"{server.pid}\n")
        (run_dir / URL_FILE).write_text(f"{server.url}\n")
        return server


def read_recorded(run_dir: Path) -> MotoServer | None:
    """Return the server recorded in ``run_dir``, alive or not, or None if none is recorded.

    A pid without its URL file still counts, with an empty URL that never
    responds, so the process it names is stopped rather than forgotten.
    """
    try:
        pid = int((run_dir / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        url = (run_dir / URL_FILE).read_text().strip()
    except FileNotFoundError:
        url = ""
    return MotoServer(url=url, pid=pid)


def stop_recorded(run_dir: Path) -> bool:
    """Stop the server recorded in ``run_dir`` and forget it. Return whether one was running."""
    if not run_dir.is_dir():
        return False
    with _locked(run_dir):
        recorded = read_recorded(run_dir)
        stopped = False
        if recorded is not None and is_alive(recorded.pid) and _is_moto(recorded.pid):
            stop(recorded.pid)
            stopped = True
        for name in (PID_FILE, URL_FILE):
            (run_dir / name).unlink(missing_ok=True)
        return stopped


def stop(pid: int) -> None:
    """Send SIGTERM to the server and wait for it to exit, then SIGKILL if it is still running.

    SIGCONT follows SIGTERM, so a stopped (suspended) server exits at once
    instead of waiting for the SIGKILL.
    """
    try:
        os.kill(pid, signal.SIGTERM)
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        return
    except PermissionError as error:
        raise MotoServerError(
            f"moto server pid {pid} belongs to another user: stop it as that user"
        ) from error

    if _wait_for_exit(pid):
        log.info("moto server pid %s stopped", pid)
        return
    log.warning(
        "moto server pid %s ignored SIGTERM for %.0f s: killing it", pid, STOP_TIMEOUT_SECONDS
    )
    os.kill(pid, signal.SIGKILL)
    _wait_for_exit(pid)


def _wait_for_exit(pid: int) -> bool:
    """Wait up to the stop timeout for ``pid`` to exit, and return whether it did."""
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not _reap_or_check(pid):
            return True
        time.sleep(0.1)
    return False


@contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    """Hold the run directory's lock, or fail with the lock file's path."""
    lock_path = run_dir / LOCK_FILE
    try:
        with FileLock(lock_path, timeout=LOCK_TIMEOUT_SECONDS):
            yield
    except Timeout as error:
        raise MotoServerError(
            f"another run holds {lock_path} for over {LOCK_TIMEOUT_SECONDS:.0f} s:"
            " wait for it to finish, or delete the file if no make target is running"
        ) from error


def _reap_or_check(pid: int) -> bool:
    """Return whether ``pid`` is still running, reaping it first if it is our child."""
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    return is_alive(pid)


def _is_moto(pid: int) -> bool:
    """Check the command line, so a recycled process id never gets our signal."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return MODULE_MARKER in cmdline
