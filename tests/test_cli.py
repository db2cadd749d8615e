"""``optexity-runner`` as a user runs it: a subprocess, no DISPLAY, exit codes and output."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from support.runs import example

from optexity_runner.errors import ExitCode

CLI = str(Path(sys.executable).with_name("optexity-runner"))
PASSWORD = "correct horse battery"


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a fresh shell: no display, no OPTEXITY_ settings from the host."""
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY" and not k.startswith("OPTEXITY_")}
    env.update(extra)
    return env


def run_cli(
    *args: str | Path, cwd: Path, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *map(str, args)],
        cwd=cwd,
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def write(path: Path, data: dict[str, Any] | str) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def run_dirs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir()) if out.exists() else []


def the_result(out: Path) -> dict[str, Any]:
    [run_dir] = run_dirs(out)
    data: dict[str, Any] = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    return data


def simple(url: str, *nodes: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {
        "url": url,
        "parameters": {"input_parameters": {}},
        "nodes": list(nodes),
        "take_final_screenshot": False,
        **top,
    }


MISSING_BUTTON = 'get_by_role("button", name="Nope")'
MISSING_CLICK = {
    "type": "action_node",
    "interaction_action": {
        "max_tries": 2,
        "max_timeout_seconds_per_try": 0.2,
        "click_element": {"command": MISSING_BUTTON},
    },
    "end_sleep_time": 0,
}


@pytest.fixture
def login_file(tmp_path: Path, demo_site: Any) -> Path:
    return write(tmp_path / "login.json", example("login.json", demo_site.base_url))


def test_success_exits_0(tmp_path: Path, login_file: Path, demo_site: Any) -> None:
    done = run_cli(
        "run", login_file, "--out", tmp_path / "runs", cwd=tmp_path, DEMO_PASSWORD=PASSWORD
    )
    assert done.returncode == 0, done.stderr
    assert demo_site.last_login()["succeeded"] is True
    assert "success in" in done.stderr
    # A live line per node: index, action, command.
    assert 'input_text  get_by_label("Password")' in done.stderr
    assert the_result(tmp_path / "runs")["status"] == "success"
    assert PASSWORD not in done.stderr + done.stdout


def test_failed_step_exits_1_with_node_command_cause_and_screenshot(
    tmp_path: Path, demo_site: Any
) -> None:
    path = write(tmp_path / "fail.json", simple(f"{demo_site.base_url}/login", MISSING_CLICK))
    done = run_cli("run", path, "--out", tmp_path / "runs", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "StepFailedError at node 0" in done.stderr
    assert f"click_element {MISSING_BUTTON}" in done.stderr
    assert "no visible element matches" in done.stderr
    assert "(2 tries)" in done.stderr
    [run_dir] = run_dirs(tmp_path / "runs")
    assert (run_dir / "failure.png").read_bytes().startswith(b"\x89PNG")
    result = the_result(tmp_path / "runs")
    assert (result["status"], result["error"]["node_index"]) == ("failed", "0")
    assert result["error"]["screenshot"] == "failure.png"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"url": "x",\n "nodes": [}', "invalid JSON at line 2, column 12"),
        (
            json.dumps(
                simple("about:blank", {"type": "action_node", "sleep_action": {"sleep_tme": 1}})
            ),
            "$.nodes[0].sleep_action.sleep_tme: unknown key 'sleep_tme'; "
            "did you mean 'sleep_time'?",
        ),
    ],
)
def test_invalid_file_exits_2_before_any_browser_starts(
    tmp_path: Path, text: str, expected: str
) -> None:
    # With no browser at all, a launch attempt would exit 5: exit 2 proves none was tried.
    path = write(tmp_path / "bad.json", text)
    done = run_cli(
        "run",
        path,
        "--out",
        tmp_path / "runs",
        cwd=tmp_path,
        OPTEXITY_CHROMIUM="/nonexistent/chromium",
    )
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert "Chromium" not in done.stderr
    assert not (tmp_path / "runs").exists()


def test_unknown_param_exits_2(tmp_path: Path, login_file: Path) -> None:
    done = run_cli(
        "run", login_file, "--param", "usename=bob", "--out", tmp_path / "runs", cwd=tmp_path,
        OPTEXITY_CHROMIUM="/nonexistent/chromium",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "parameter 'usename' is not an input parameter" in done.stderr
    assert "did you mean 'username'?" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_malformed_param_exits_2(tmp_path: Path, login_file: Path) -> None:
    done = run_cli("run", login_file, "--param", "username", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "expected name=value" in done.stderr


def test_missing_chromium_exits_5_with_the_install_hint(tmp_path: Path, login_file: Path) -> None:
    done = run_cli(
        "run",
        login_file,
        "--out",
        tmp_path / "runs",
        cwd=tmp_path,
        OPTEXITY_CHROMIUM="/nonexistent/chromium",
        DEMO_PASSWORD=PASSWORD,
    )
    assert done.returncode == 5, done.stderr
    assert "Chromium not found at /nonexistent/chromium" in done.stderr
    assert "apt-get install -y --no-install-recommends chromium" in done.stderr


def test_run_time_limit_exits_4_and_writes_the_result(tmp_path: Path) -> None:
    node = {"type": "action_node", "sleep_action": {"sleep_time": 10}}
    path = write(tmp_path / "slow.json", simple("about:blank", node))
    done = run_cli("run", path, "--time-limit", "2", "--out", tmp_path / "runs", cwd=tmp_path)
    assert done.returncode == 4, done.stderr
    result = the_result(tmp_path / "runs")
    assert result["status"] == "timed_out"
    assert result["error"]["type"] == "RunTimeLimitExceeded"
    assert result["error"]["limit"] == "run_time_limit"
    assert result["error"]["node_index"] == "0"
    assert result["nodes"][0]["status"] == "failed"
    assert "time limit of 2 s" in done.stderr


def test_json_prints_result_json(tmp_path: Path, login_file: Path) -> None:
    done = run_cli(
        "run",
        login_file,
        "--json",
        "--out",
        tmp_path / "runs",
        cwd=tmp_path,
        DEMO_PASSWORD=PASSWORD,
    )
    assert done.returncode == 0, done.stderr
    [run_dir] = run_dirs(tmp_path / "runs")
    assert json.loads(done.stdout) == json.loads(
        (run_dir / "result.json").read_text(encoding="utf-8")
    )
    assert json.loads(done.stdout)["status"] == "success"


def test_params_file_and_param_override(tmp_path: Path, login_file: Path, demo_site: Any) -> None:
    params = write(tmp_path / "params.json", {"username": "bob"})
    done = run_cli(
        "run", login_file, "--params-file", params, "--out", tmp_path / "runs", cwd=tmp_path,
        DEMO_PASSWORD=PASSWORD,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert demo_site.last_login()["username"] == "bob"
    done = run_cli(
        "run", login_file, "--params-file", params, "--param", "username=carol",
        "--out", tmp_path / "runs", cwd=tmp_path, DEMO_PASSWORD=PASSWORD,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert demo_site.last_login()["username"] == "carol"


def test_bad_params_file_exits_2(tmp_path: Path, login_file: Path) -> None:
    params = write(tmp_path / "params.json", '["not", "an", "object"]')
    done = run_cli("run", login_file, "--params-file", params, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "expected a JSON object" in done.stderr


def test_validate_command(tmp_path: Path, login_file: Path) -> None:
    done = run_cli("validate", login_file, cwd=tmp_path, OPTEXITY_CHROMIUM="/nonexistent/chromium")
    assert done.returncode == 0, done.stderr
    # cli.validate prints with Rich's wrapping (80 columns off a terminal): compare words.
    assert f"valid: {login_file} (3 nodes)" in " ".join(done.stderr.split())
    bad = write(
        tmp_path / "bad.json", simple("x", {"type": "action_node", "python_script_action": {}})
    )
    done = run_cli("validate", bad, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "$.nodes[0].python_script_action: 'python_script_action' is not supported" in done.stderr


def test_validate_warns_about_unhonoured_fields(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", simple("about:blank", browser_channel="chrome"))
    done = run_cli("validate", path, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "warning: browser_channel: this runner drives Chromium only" in " ".join(
        done.stderr.split()
    )


def test_trace_writes_trace_zip(tmp_path: Path, login_file: Path) -> None:
    done = run_cli(
        "run",
        login_file,
        "--trace",
        "--out",
        tmp_path / "runs",
        cwd=tmp_path,
        DEMO_PASSWORD=PASSWORD,
    )
    assert done.returncode == 0, done.stderr
    [run_dir] = run_dirs(tmp_path / "runs")
    assert the_result(tmp_path / "runs")["trace"] == "trace.zip"
    with zipfile.ZipFile(run_dir / "trace.zip") as archive:
        assert any(name.endswith(".trace") for name in archive.namelist())


def test_terminal_output_holds_no_secret(tmp_path: Path) -> None:
    parameters = {"input_parameters": {}, "secure_parameters": {"pw": [{"env": "CLI_TEST_PW"}]}}
    node = {"type": "action_node", "fail_state_action": {"failure_message": "bad {pw[0]}"}}
    path = write(tmp_path / "leak.json", simple("about:blank", node, parameters=parameters))
    done = run_cli("run", path, "--out", tmp_path / "runs", cwd=tmp_path, CLI_TEST_PW="hunter2-xyz")
    assert done.returncode == 1, done.stderr
    assert "bad [secret]" in done.stderr
    assert "hunter2-xyz" not in done.stderr + done.stdout


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_exits_130_and_still_writes_the_result(tmp_path: Path, signum: int) -> None:
    node = {"type": "action_node", "sleep_action": {"sleep_time": 30}}
    path = write(tmp_path / "long.json", simple("about:blank", node))
    process = subprocess.Popen(
        [CLI, "run", str(path), "--out", str(tmp_path / "runs")],
        cwd=tmp_path,
        env=cli_env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:  # wait until the sleep node is running
        if "run " in line:
            break
    time.sleep(1.0)
    process.send_signal(signum)
    assert process.wait(timeout=30) == ExitCode.INTERRUPTED
    result = the_result(tmp_path / "runs")
    assert result["status"] == "failed"
    assert result["error"]["type"] == "RunInterrupted"
    assert result["error"]["node_index"] == "0"


def test_a_taken_live_view_port_exits_2(tmp_path: Path) -> None:
    node = {"type": "action_node", "human_in_loop_action": {"max_wait_time": 5}}
    path = write(tmp_path / "pause.json", simple("about:blank", node))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("run", path, "--stream-port", str(port), cwd=tmp_path)
    assert done.returncode == ExitCode.INVALID_INPUT, done.stderr
    assert str(port) in done.stderr


def test_unset_environment_secret_exits_2_before_the_browser(tmp_path: Path) -> None:
    parameters = {"input_parameters": {}, "secure_parameters": {"pw": [{"env": "CLI_UNSET_PW"}]}}
    path = write(tmp_path / "needs.json", simple("about:blank", parameters=parameters))
    # A missing browser would exit 5: exit 2 proves the check came first.
    done = run_cli("run", path, cwd=tmp_path, OPTEXITY_CHROMIUM=str(tmp_path / "no-browser"))
    assert done.returncode == ExitCode.INVALID_INPUT, done.stderr
    assert "$CLI_UNSET_PW (for pw)" in done.stderr


def test_secure_parameters_cannot_be_given_on_the_command_line(
    tmp_path: Path, login_file: Path
) -> None:
    done = run_cli("run", login_file, "--param", "password=x", cwd=tmp_path)
    assert done.returncode == ExitCode.INVALID_INPUT
    assert "secure parameter" in done.stderr
    assert "DEMO_PASSWORD" in done.stderr
