"""Developer tasks. ``nox`` runs lint, typecheck and tests; ``nox -s demo`` runs the demo.

Sessions use the interpreter nox itself runs on, so any Python >= 3.10 works.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (extra pytest arguments pass through)."""
    session.install("-e", ".[dev]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on linq_async/ and on tests/typing/ (the public API as users call it)."""
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", "linq_async", "tests/typing")


@nox.session
def demo(session: nox.Session) -> None:
    """Run the end-to-end demo against the embedded FakeLinqServer (no key, no network)."""
    session.install("-e", ".")
    session.run("python", "-m", "linq_async", "demo")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site with mkdocs --strict into site/ (gitignored)."""
    session.install("-e", ".[docs]", "ruff>=0.5")  # mkdocstrings formats signatures with ruff
    session.run(
        "mkdocs", "build", "--strict", "--site-dir", "site", env={"NO_MKDOCS_2_WARNING": "1"}
    )


@nox.session
def examples(session: nox.Session) -> None:
    """Type-check and run every example script and the notebook, on the embedded fake server.

    The API key variables are blanked, so the examples never reach the real API from here.
    """
    from pathlib import Path

    session.install(
        "-e", ".[dev]", "nbclient>=0.10", "nbformat>=5.10", "ipykernel>=6.29", "jupyter_core>=5"
    )
    # Only for examples/webhooks_fastapi.py: linq-async itself does not depend on them.
    session.install("fastapi>=0.110", "uvicorn>=0.29")
    session.run("mypy", "--strict", "examples")
    env = {"LINQ_API_KEY": "", "LINQ_API_V3_API_KEY": ""}
    extra_args = {
        "aiohttp_app.py": ["--self-test"],
        "webhooks_aiohttp.py": ["--self-test"],
        "webhooks_fastapi.py": ["--self-test"],
    }
    for script in sorted(Path("examples").glob("[!_]*.py")):
        session.run("python", str(script), *extra_args.get(script.name, []), env=env)
    for notebook in sorted(Path("examples").glob("*.ipynb")):
        # Executes a copy in memory: the committed notebook keeps its cleared outputs.
        session.run("jupyter", "execute", "--timeout=120", str(notebook), env=env)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: every send path against a bare aiohttp client, the official SDK and curl.

    Writes bench/results/latest.{md,json,png} (a full run also docs/bench/latest.png).
    Arguments pass through to ``python -m bench``: ``nox -s bench -- --quick`` is a smoke run.
    """
    session.install("-e", ".", "linq-python==0.65.0", "matplotlib")
    session.run("python", "-m", "bench", *session.posargs)
