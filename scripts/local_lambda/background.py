"""Start the runner in the background and stop local services by their recorded process ids.

Each service records its process id in `.local/run/<service>.pid`. Before a
signal is sent, the process's command line is checked for the service's
marker, so a recycled process id never gets the signal.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

RUNNER_SCRIPT = Path(__file__).resolve().parent.parent / "local_runner.py"
STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
LOG_TAIL_LINES = 20


class BackgroundError(Exception):
    """A background service failed to start or to stop."""


@dataclass(frozen=True)
class Service:
    """A local service: its pid file name, command-line marker and other files it leaves."""

    name: str
    marker: bytes
    extra_files: tuple[str, ...] = ()


RUNNER = Service("runner", b"local_runner.py", ("runner.url",))
# The local AWS API, started and recorded by the Terraform harness for ENV=local.
MOTO = Service("moto", b"moto", ("moto.url",))
SERVICES = (RUNNER, MOTO)


@dataclass(frozen=True)
class StartedRunner:
    url: str
    pid: int
    log_path: Path


def start_runner(env: str, runner_args: list[str], run_dir: Path, log_dir: Path) -> StartedRunner:
    """Start `local_runner.py` detached, record its pid and wait until it serves.

    A runner already recorded is stopped first, so the new one serves the
    latest deployment.
    """
    stop_service(RUNNER, run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    url_file = run_dir / "runner.url"
    url_file.unlink(missing_ok=True)
    log_path = log_dir / f"runner-{env}.log"

    command = [
        sys.executable,
        str(RUNNER_SCRIPT),
        "--env",
        env,
        "--url-file",
        str(url_file),
        *runner_args,
    ]
    with log_path.open("ab") as log_file:
        runner = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the make target that started it
        )
    (run_dir / "runner.pid").write_text(f"{runner.pid}\n", encoding="ascii")

    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if url_file.is_file():
            return StartedRunner(url_file.read_text().strip(), runner.pid, log_path)
        if runner.poll() is not None:
            (run_dir / "runner.pid").unlink(missing_ok=True)
            raise BackgroundError(
                f"the runner exited with status {runner.returncode} before serving; "
                f"last lines of {log_path}:\n{_tail(log_path)}"
            )
        time.sleep(0.1)

    stop_service(RUNNER, run_dir)
    raise BackgroundError(
        f"the runner did not serve within {STARTUP_TIMEOUT_SECONDS:.0f} s; "
        f"last lines of {log_path}:\n{_tail(log_path)}"
    )


def stop_service(service: Service, run_dir: Path) -> int | None:
    """Stop the service recorded in `run_dir` and remove its files.

    Returns the process id that was stopped, or None if none was running.
    """
    pid_file = run_dir / f"{service.name}.pid"
    pid = _read_pid(pid_file)
    stopped = None
    if pid is not None and _is_running(pid) and service.marker in _command_line(pid):
        _terminate(pid)
        stopped = pid
    elif pid is not None:
        log.info("%s pid %s is not running; removing its pid file", service.name, pid)

    pid_file.unlink(missing_ok=True)
    for name in service.extra_files:
        (run_dir / name).unlink(missing_ok=True)
    return stopped


def stop_runner_for(env: str, run_dir: Path) -> int | None:
    """Stop the recorded runner if it serves `env`, as `make destroy` does, and leave others.

    The environment is the last `--env` value on the runner's command line,
    the one its argument parser used. Returns the stopped process id, or None.
    """
    pid = _read_pid(run_dir / f"{RUNNER.name}.pid")
    if pid is None or not _is_running(pid):
        return None
    if runner_environment(_command_line(pid)) != env:
        return None
    return stop_service(RUNNER, run_dir)


def runner_environment(command_line: bytes) -> str | None:
    """Return the environment selected by a runner's NUL-separated command line, else None."""
    args = [arg.decode(errors="replace") for arg in command_line.split(b"\0")]
    if not any(arg.endswith(RUNNER.marker.decode()) for arg in args):
        return None
    env = "local"  # local_runner.py's default
    for index, arg in enumerate(args):
        if arg == "--env" and index + 1 < len(args):
            env = args[index + 1]
        elif arg.startswith("--env="):
            env = arg.removeprefix("--env=")
    return env


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        return None
    except ValueError as error:
        raise BackgroundError(f"{pid_file} does not contain a process id; delete it") from error


def _terminate(pid: int) -> None:
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if not _is_running(pid):
            return
        time.sleep(0.1)
    log.warning("pid %s ignored SIGTERM for %.0f s; killing it", pid, STOP_TIMEOUT_SECONDS)
    os.kill(pid, signal.SIGKILL)


def _is_running(pid: int) -> bool:
    """Return whether `pid` runs, reaping it first if it is a finished child of ours."""
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-LOG_TAIL_LINES:])
