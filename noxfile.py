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
    """mypy --strict on linq_async/."""
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", "linq_async")


@nox.session
def demo(session: nox.Session) -> None:
    """Run the end-to-end demo against the embedded FakeLinqServer (no key, no network)."""
    session.install("-e", ".")
    session.run("python", "-m", "linq_async", "demo")
