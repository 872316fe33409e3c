"""Background start and stop of local services by recorded process ids (make serve, make stop)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from local_lambda import background
from local_runner_fixtures import write_config, write_zip

HANDLER = "def lambda_handler(event, context):\n    return {'statusCode': 204}\n"


def test_stop_skips_unrelated_process(tmp_path: Path) -> None:
    # A recycled pid: the recorded process is not a runner, so it must survive.
    unrelated = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    (tmp_path / "runner.pid").write_text(f"{unrelated.pid}\n")
    (tmp_path / "runner.url").write_text("http://127.0.0.1:1/\n")

    try:
        stopped = background.stop_service(background.RUNNER, tmp_path)
        alive = unrelated.poll() is None
    finally:
        unrelated.kill()
        unrelated.wait()

    assert stopped is None
    assert alive
    assert not (tmp_path / "runner.pid").exists()
    assert not (tmp_path / "runner.url").exists()


def test_stop_without_records(tmp_path: Path) -> None:
    for service in background.SERVICES:
        assert background.stop_service(service, tmp_path) is None


def test_stop_rejects_corrupt_pid_file(tmp_path: Path) -> None:
    (tmp_path / "moto.pid").write_text("not a pid\n")

    with pytest.raises(background.BackgroundError, match="moto.pid does not contain a process id"):
        background.stop_service(background.MOTO, tmp_path)


def test_start_then_stop(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.json", layers=0)
    function_zip = write_zip(tmp_path / "function.zip", {"lambda_function.py": HANDLER})
    options = ["--function-config", str(config), "--function-zip", str(function_zip)]
    run_dir = tmp_path / "run"

    started = background.start_runner("local", options, run_dir, tmp_path / "log")
    recorded = int((run_dir / "runner.pid").read_text())
    restarted = background.start_runner("local", options, run_dir, tmp_path / "log")
    stopped = background.stop_service(background.RUNNER, run_dir)

    assert recorded == started.pid
    assert restarted.pid != started.pid
    assert not Path(f"/proc/{started.pid}").exists()
    assert not Path(f"/proc/{restarted.pid}").exists()
    assert stopped == restarted.pid
    assert not (run_dir / "runner.pid").exists()
    assert "serving runner-test" in started.log_path.read_text()


def test_start_failure_shows_log(tmp_path: Path) -> None:
    options = ["--function-config", str(tmp_path / "missing.json"), "--function-zip", "x.zip"]

    with pytest.raises(background.BackgroundError) as error:
        background.start_runner("local", options, tmp_path / "run", tmp_path / "log")

    assert "exited with status 2 before serving" in str(error.value)
    assert "cannot read function configuration" in str(error.value)
    assert not (tmp_path / "run" / "runner.pid").exists()


def test_stop_runner_for_its_environment_only(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.json", layers=0)
    function_zip = write_zip(tmp_path / "function.zip", {"lambda_function.py": HANDLER})
    options = ["--function-config", str(config), "--function-zip", str(function_zip)]
    run_dir = tmp_path / "run"
    started = background.start_runner("local", options, run_dir, tmp_path / "log")

    try:
        other = background.stop_runner_for("dev", run_dir)
        alive_after_other = Path(f"/proc/{started.pid}").exists()
        stopped = background.stop_runner_for("local", run_dir)
    finally:
        background.stop_service(background.RUNNER, run_dir)

    assert other is None
    assert alive_after_other
    assert stopped == started.pid
    assert not Path(f"/proc/{started.pid}").exists()
    assert not (run_dir / "runner.pid").exists()
    assert not (run_dir / "runner.url").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([b"python", b"local_runner.py", b"--env", b"local"], "local"),
        ([b"python", b"local_runner.py", b"--env", b"local", b"--env=dev"], "dev"),
        ([b"python", b"local_runner.py", b"--port", b"0"], "local"),
        ([b"python", b"other.py", b"--env", b"local"], None),
    ],
)
def test_runner_environment_from_command_line(args: list[bytes], expected: str | None) -> None:
    command_line = b"\0".join(args) + b"\0"

    assert background.runner_environment(command_line) == expected
