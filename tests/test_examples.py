"""The example scripts run as documented, against the embedded fake (no key, no network).

``nox -s examples`` is the full check (it also type-checks them and runs the notebook);
these are the quick ones, so that ``pytest`` alone notices a broken example.
"""

from __future__ import annotations

import os
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
