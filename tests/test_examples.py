"""The example scripts run as documented, against the embedded fake (no key, no network).

``nox -s examples`` is the full check (it also type-checks them and runs the notebook);
these are the quick ones, so that ``pytest`` alone notices a broken example.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<name>`` with the API key variables removed, so it uses the fake."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("LINQ_API_KEY", "LINQ_API_V3_API_KEY")
    }
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("upload_and_send.py", (), "parts       ['TextPart', 'MediaPart']"),
        ("aiohttp_app.py", ("--self-test",), "POST /send -> HTTP 200"),
        ("broadcast.py", (), "the re-run sent 2 new message(s)"),
    ],
)
def test_example_runs_against_the_fake(name: str, args: tuple[str, ...], expected: str) -> None:
    """Each example exits 0, says on stderr that it uses the fake, and prints its result."""
    result = run_example(name, *args)
    assert result.returncode == 0, result.stderr
    assert "using the embedded FakeLinqServer" in result.stderr
    assert expected in result.stdout


@pytest.mark.parametrize(
    ("name", "module", "expected"),
    [
        ("webhooks_aiohttp.py", "aiohttp", "deliveries answered: [200, 200, 200]"),
        ("webhooks_fastapi.py", "fastapi", "POST /linq/webhooks -> [200]"),
    ],
)
def test_webhook_examples_receive_from_the_fake(name: str, module: str, expected: str) -> None:
    """The receiving examples' self-tests get the fake's deliveries (FastAPI only if installed)."""
    pytest.importorskip(module)
    pytest.importorskip("uvicorn" if module == "fastapi" else module)
    result = run_example(name, "--self-test")
    assert result.returncode == 0, result.stdout + result.stderr
    assert expected in result.stdout


def test_broadcast_summary_lists_the_injected_failures() -> None:
    """The broadcast example's summary names the opted-out and the ineligible-line failures."""
    result = run_example("broadcast.py")
    assert "18 sent, 2 failed" in result.stdout
    assert "OptedOutError" in result.stdout
    assert "LineIneligibleError" in result.stdout
    assert "20 sent, 0 failed" in result.stdout


def test_real_api_mode_needs_a_sending_line() -> None:
    """With an API key but no LINQ_FROM, an example stops before sending anything."""
    env = {key: value for key, value in os.environ.items() if key != "LINQ_FROM"}
    env["LINQ_API_KEY"] = "not-a-real-key"
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "upload_and_send.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "set LINQ_FROM" in result.stderr


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("upload_and_send.py", "parts       ['TextPart', 'MediaPart']"),
        ("broadcast.py", "the re-run sent 2 new message(s)"),
    ],
)
def test_examples_run_without_tqdm(name: str, expected: str) -> None:
    """Without tqdm (no ``progress`` extra) an example runs without a bar and says why, once."""
    hide_tqdm = (
        "import runpy, sys; sys.modules['tqdm'] = None; "  # makes `import tqdm` fail
        "sys.argv = sys.argv[1:]; sys.path.insert(0, sys.argv[0].rpartition('/')[0]); "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("LINQ_API_KEY", "LINQ_API_V3_API_KEY")}
    result = subprocess.run(
        [sys.executable, "-c", hide_tqdm, str(EXAMPLES / name)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("No progress bar: tqdm is not installed") == 1
    assert "linq-async[progress]" in result.stderr
    assert expected in result.stdout


def test_fake_server_exports_drive_the_examples() -> None:
    """The export lines of ``linq-async fake-server`` point an example at that local server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINQ_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "linq_async", "fake-server"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert server.stdout is not None
        exports: dict[str, str] = {}
        while "LINQ_TO" not in exports:
            line = server.stdout.readline()
            assert line, "fake-server exited early"
            if line.startswith("export "):
                name, _, value = line[len("export ") :].strip().partition("=")
                exports[name] = value
        result = subprocess.run(
            [sys.executable, str(EXAMPLES / "upload_and_send.py")],
            env={**env, **exports},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
    assert set(exports) == {"LINQ_BASE_URL", "LINQ_API_KEY", "LINQ_FROM", "LINQ_TO"}
    assert result.returncode == 0, result.stderr
    assert "Using the Linq API server on this machine" in result.stderr
    assert "real Linq API" not in result.stderr
    assert "parts       ['TextPart', 'MediaPart']" in result.stdout


def test_readme_testing_snippet_passes_in_strict_mode(tmp_path: Path) -> None:
    """The README's testing snippet passes as written, in pytest-asyncio's strict mode."""
    readme = (EXAMPLES.parent / "README.md").read_text("utf-8")
    section = readme.split("## Testing your own code", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "test_snippet.py").write_text(snippet, "utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", "utf-8")  # none of our settings
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_snippet.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
