"""Lay out the deployed artifacts as Lambda does and run the handler in a worker process.

One worker is one execution environment: it imports the handler once and
serves invocations one at a time until it fails. An init failure, a crash or
a timeout ends the worker, and the next invocation starts a new one, as
Lambda does.
"""

from __future__ import annotations

import json
import logging
import platform
import queue
import shutil
import subprocess
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .deployment import Deployment

log = logging.getLogger(__name__)
function_log = logging.getLogger("function")

WORKER_SCRIPT = Path(__file__).resolve().with_name("worker.py")

# Time allowed for importing the handler: Lambda's init phase limit is 10 s.
INIT_TIMEOUT_SECONDS = 10.0

# `uname -m` names of the machines that can run each Lambda architecture.
HOST_MACHINES = {"x86_64": {"x86_64", "amd64"}, "arm64": {"aarch64", "arm64"}}


class RuntimeSetupError(Exception):
    """The artifacts cannot run on this machine (wrong interpreter or architecture)."""


@dataclass(frozen=True)
class FunctionError:
    """A failed invocation, reported the way the Lambda runtime reports it."""

    error_type: str
    message: str
    stack_trace: tuple[str, ...] = ()

    def to_payload(self) -> dict[str, Any]:
        return {"errorType": self.error_type, "errorMessage": self.message}


@dataclass(frozen=True)
class Layout:
    """Directories that stand in for /var/task and /opt."""

    task_dir: Path
    opt_dir: Path


def unpack(deployment: Deployment, root: Path) -> Layout:
    """Extract the function zip to root/task and the layers, in order, to root/opt.

    Later layers overwrite files of earlier ones, as Lambda merges them.
    """
    layout = Layout(task_dir=root / "task", opt_dir=root / "opt")
    for directory in (layout.task_dir, layout.opt_dir):
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)

    _extract(deployment.function_zip, layout.task_dir)
    for layer_zip in deployment.layer_zips:
        _extract(layer_zip, layout.opt_dir)
    return layout


def _extract(archive: Path, target: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(target)  # zipfile drops ".." and absolute paths
    except (OSError, zipfile.BadZipFile) as error:
        raise RuntimeSetupError(f"cannot extract {archive}: {error}") from error
    log.info("extracted %s to %s", archive, target)


def check_architecture(deployment: Deployment) -> None:
    """Reject a function whose architecture this machine cannot execute natively.

    NOTE: native libraries load against the host's glibc, which is usually
    newer than Lambda's (2.26 for python3.11), so a binary that needs a newer
    glibc still imports here. layer_build.py's audit rejects such a layer.
    """
    machine = platform.machine().lower()
    if machine not in HOST_MACHINES.get(deployment.architecture, set()):
        raise RuntimeSetupError(
            f"function {deployment.function_name} is built for {deployment.architecture}, "
            f"but this machine is {machine}: its native libraries cannot load here. "
            "Run the runner on a matching machine, or check the function against real Lambda"
        )


def resolve_interpreter(deployment: Deployment, override: str | None) -> str:
    """Return the absolute path of the interpreter for the function's runtime.

    `python3.11` for runtime python3.11, unless `override` names another
    executable. The version must match the runtime either way, because
    compiled extensions in the layer are built for exactly one version.
    """
    command = override or deployment.runtime
    try:
        probe = subprocess.run(
            [command, "-I", "-c", "import sys; print(sys.executable); print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as error:
        stderr = getattr(error, "stderr", None) or ""
        detail = stderr.strip().splitlines()[0] if stderr.strip() else str(error)
        raise RuntimeSetupError(
            f"cannot run interpreter {command!r} for runtime {deployment.runtime}: {detail}. "
            f"Install {deployment.runtime} or pass --python with its path"
        ) from error

    executable, version = probe.stdout.splitlines()[:2]
    major, minor = (int(part) for part in version.strip("()").split(","))
    if f"python{major}.{minor}" != deployment.runtime:
        raise RuntimeSetupError(
            f"interpreter {command!r} is Python {major}.{minor}, but the function's runtime "
            f"is {deployment.runtime}; pass --python with a {deployment.runtime} interpreter"
        )
    return executable


def worker_environment(deployment: Deployment, layout: Layout) -> dict[str, str]:
    """Return the worker's complete environment: the function's variables plus Lambda's.

    Nothing comes from the runner's own environment, so a variable exported in
    the developer's shell can never hide a missing one in the deployment.
    Lambda's defined variables follow the AWS Lambda Developer Guide,
    "Defined runtime environment variables".
    NOTE: no AWS credentials are set, so AWS SDK calls in the handler fail here.
    """
    environment = dict(deployment.environment)
    environment.update(
        {
            "_HANDLER": deployment.handler,
            "AWS_REGION": deployment.region,
            "AWS_DEFAULT_REGION": deployment.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{deployment.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": deployment.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(deployment.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": deployment.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": "local-runner",
            "LAMBDA_TASK_ROOT": str(layout.task_dir),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LD_LIBRARY_PATH": f"{layout.task_dir}/lib:{layout.opt_dir}/lib",
        }
    )
    if deployment.log_format.upper() == "JSON":
        environment["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        environment["AWS_LAMBDA_LOG_LEVEL"] = deployment.application_log_level or "INFO"
    return environment


class Worker:
    """One worker process: an execution environment with the handler imported."""

    def __init__(self, interpreter: str, deployment: Deployment, layout: Layout) -> None:
        # -I: no PYTHON* variables, no user site, no script directory on sys.path.
        # -S: no site-packages. -B: /var/task is read-only on Lambda, so no .pyc writes.
        command = [
            interpreter,
            "-I",
            "-S",
            "-B",
            str(WORKER_SCRIPT),
            str(layout.task_dir),
            str(layout.opt_dir),
            deployment.handler,
        ]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=worker_environment(deployment, layout),
            cwd=layout.task_dir,
            text=True,
            encoding="utf-8",
            # Ctrl-C on the runner must not interrupt a handler mid-request;
            # the runner stops the worker itself.
            start_new_session=True,
        )
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read_protocol, daemon=True).start()
        threading.Thread(target=self._forward_log, args=(self.process.stderr,), daemon=True).start()
        log.info("started worker pid %s for %s", self.process.pid, deployment.function_name)

    def wait_init(self) -> FunctionError | None:
        """Wait for the handler import; return the init error, if any."""
        message = self._next_message(INIT_TIMEOUT_SECONDS)
        if isinstance(message, FunctionError):
            return message
        if message.get("type") != "init":
            return FunctionError("Runtime.Unknown", f"unexpected worker message {message!r}")
        error = message.get("error")
        return _function_error(error) if error else None

    def invoke(self, event: dict[str, Any], context: dict[str, Any], timeout: float) -> Any:
        """Send one invocation; return the handler's result or a FunctionError."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps({"event": event, "context": context}) + "\n")
            self.process.stdin.flush()
        except OSError:
            return self._exit_error()

        message = self._next_message(timeout)
        if isinstance(message, FunctionError):
            return message
        if message.get("type") == "error":
            return _function_error(message["error"])
        return message.get("result")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace_seconds: float = 1.0) -> None:
        """End the worker: close its stdin, then kill it after `grace_seconds`."""
        if self.alive():
            assert self.process.stdin is not None
            try:
                self.process.stdin.close()
                self.process.wait(timeout=grace_seconds)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
        self.process.wait()
        log.info("worker pid %s ended with status %s", self.process.pid, self.process.returncode)

    def _next_message(self, timeout: float) -> dict[str, Any] | FunctionError:
        try:
            message = self._messages.get(timeout=timeout)
        except queue.Empty:
            self.stop(grace_seconds=0)
            return FunctionError("Sandbox.Timedout", f"Task timed out after {timeout:.2f} seconds")
        if message is None:
            return self._exit_error()
        return message

    def _exit_error(self) -> FunctionError:
        status = self.process.wait()
        reason = f"signal {-status}" if status < 0 else f"exit status {status}"
        return FunctionError("Runtime.ExitError", f"Runtime exited with error: {reason}")

    def _read_protocol(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self._messages.put(json.loads(line))
            except ValueError:
                log.error("worker pid %s wrote a line that is not JSON", self.process.pid)
        self._messages.put(None)

    @staticmethod
    def _forward_log(stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            function_log.info("%s", line.rstrip("\n"))


def _function_error(payload: dict[str, Any]) -> FunctionError:
    return FunctionError(
        error_type=str(payload.get("errorType", "Runtime.Unknown")),
        message=str(payload.get("errorMessage", "")),
        stack_trace=tuple(payload.get("stackTrace") or ()),
    )


class LocalFunction:
    """The deployed function, invoked one request at a time.

    NOTE: Lambda would run concurrent requests in separate execution
    environments; this runner queues them behind one worker.
    """

    def __init__(self, deployment: Deployment, layout: Layout, interpreter: str) -> None:
        self.deployment = deployment
        self.layout = layout
        self.interpreter = interpreter
        self._lock = threading.Lock()
        self._worker: Worker | None = None

    def start(self) -> FunctionError | None:
        """Start an execution environment now, so init errors reach the log at once."""
        with self._lock:
            return self._ensure_worker()

    def invoke(self, event: dict[str, Any], request_id: str) -> Any:
        """Invoke the handler with `event`; return its result or a FunctionError."""
        with self._lock:
            init_error = self._ensure_worker()
            if init_error is not None:
                return init_error
            assert self._worker is not None

            timeout = float(self.deployment.timeout_seconds)
            context = {
                "aws_request_id": request_id,
                "invoked_function_arn": self.deployment.function_arn,
                "deadline_ms": time.time() * 1000 + timeout * 1000,
            }
            outcome = self._worker.invoke(event, context, timeout)
            if not self._worker.alive():
                self._worker.stop()
                self._worker = None
            return outcome

    def stop(self) -> None:
        with self._lock:
            if self._worker is not None:
                self._worker.stop()
                self._worker = None

    def _ensure_worker(self) -> FunctionError | None:
        if self._worker is not None and self._worker.alive():
            return None
        worker = Worker(self.interpreter, self.deployment, self.layout)
        error = worker.wait_init()
        if error is not None:
            log.error("init failed: %s: %s", error.error_type, error.message)
            if error.stack_trace:
                log.error("init traceback:\n%s", "".join(error.stack_trace).rstrip())
            worker.stop()
            return error
        self._worker = worker
        return None
