"""Developer tasks: ``python3 -m pip install 'nox[uv]'``, then ``python3 -m nox``.

``nox`` alone runs ``lint``, ``typecheck`` and ``tests`` (every supported Python found).
``nox -l`` lists every session; the main ones:

- ``tests``: the whole suite on Python 3.10 to 3.13, each from the unpacked sdist against the
  installed wheel (``build`` runs first), with a real S3 server the tests start themselves.
  ``nox -s tests-3.12 -- -k upload`` runs one interpreter; extra arguments go to pytest.
- ``lowest``: the same at the dependency floors, on the oldest and the newest Python.
- ``typecheck``, ``lint``, ``examples``, ``docs`` (with a headless-browser check), ``demo``,
  ``bench``.

Virtualenvs are made with uv when it is installed (``nox[uv]``), else with virtualenv.
Interpreters are found on ``PATH`` and, failing that, in pyenv's versions directory, so the
pyenv shims need no ``pyenv global`` juggling.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"  # dependency groups, uv|virtualenv, session requires

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
"""Every supported Python: keep in step with requires-python and the classifiers."""
LOWEST_PYTHONS = [PYTHONS[0], PYTHONS[-1]]
"""Old floors break on new Pythons (cattrs 23.2.0 on 3.13), new code on old ones: both ends."""

ROOT = Path(__file__).resolve().parent
DIST = ROOT / "dist"
SDIST_TREE = ROOT / ".nox" / "_sdist"
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.download_python = "never"  # no network for interpreters: use the machine's


class _NoUvNotice(logging.Filter):
    """Drop nox's "uv binary not found." line: without uv, virtualenv is the plan, not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "uv binary not found" not in record.getMessage()


logging.getLogger("nox").addFilter(_NoUvNotice())


# --- interpreters -------------------------------------------------------------------------


def _runs(executable: str) -> bool:
    """Whether ``executable -c pass`` works (a pyenv shim for an inactive version does not)."""
    try:
        return subprocess.run([executable, "-c", "pass"], capture_output=True).returncode == 0
    except OSError:
        return False


def _pyenv_python(version: str) -> Path | None:
    """The newest ``pythonX.Y`` in pyenv's versions directory, or None."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found: list[tuple[tuple[int, ...], Path]] = []
    for folder in root.glob(f"{version}.*"):
        patch = folder.name[len(version) + 1 :]
        exe = folder / "bin" / f"python{version}"
        if patch.isdigit() and exe.is_file():  # 3.12.1, not 3.12-dev nor 3.13.0t
            found.append(((int(patch),), exe))
    return max(found)[1] if found else None


def find_python(version: str) -> str | None:
    """A working ``pythonX.Y``: from ``PATH``, else from pyenv's versions; None if absent."""
    on_path = shutil.which(f"python{version}")
    if on_path and _runs(on_path):
        return on_path
    from_pyenv = _pyenv_python(version)
    return str(from_pyenv) if from_pyenv and _runs(str(from_pyenv)) else None


def _expose_pythons() -> None:
    """Put a working ``pythonX.Y`` first on ``PATH`` for each supported version nox would miss.

    Symlinks in ``.nox/.pythons``: only the ``pythonX.Y`` names, so nothing else on ``PATH``
    (``python3``, ``pip``) is shadowed.
    """
    links = ROOT / ".nox" / ".pythons"
    for version in PYTHONS:
        on_path = shutil.which(f"python{version}")
        if on_path and _runs(on_path):
            continue
        target = _pyenv_python(version)
        if target is None:
            continue
        links.mkdir(parents=True, exist_ok=True)
        link = links / f"python{version}"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
    if links.is_dir() and str(links) not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([str(links), os.environ.get("PATH", "")])


_expose_pythons()


@nox.session(python=False)
def interpreters(session: nox.Session) -> None:
    """List the supported Pythons found; fail if one named in the arguments is missing.

    ``nox -s interpreters -- 3.11`` is CI's check that its reference interpreter is there.
    """
    for version in PYTHONS:
        session.log(f"python{version}: {find_python(version) or 'not found'}")
    missing = [version for version in session.posargs if find_python(version) is None]
    if missing:
        session.error(f"required Python not found: {', '.join(missing)}")


# --- installing ---------------------------------------------------------------------------


def _uses_uv(session: nox.Session) -> bool:
    return session.venv_backend == "uv"


def _group(name: str) -> list[str]:
    """The requirements of a PEP 735 dependency group in pyproject.toml."""
    return list(nox.project.dependency_groups(PYPROJECT, name))


def _wheel() -> Path:
    """The one wheel ``build`` left in dist/."""
    wheels = sorted(DIST.glob("linq_async-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one wheel in {DIST} (run `nox -s build`), found {wheels}")
    return wheels[0]


def _install_wheel(
    session: nox.Session, *requirements: str, constraints: Path | None = None
) -> None:
    """Install the built wheel (with the ``progress`` extra) and ``requirements``.

    A reused virtualenv already holds an older build of the same version, which neither uv
    nor pip replaces on its own: the package is reinstalled explicitly, without its deps.
    """
    wheel = _wheel()
    pins = ["-c", str(constraints)] if constraints else []
    session.install(f"linq-async[progress] @ {wheel.as_uri()}", *requirements, *pins)
    if _uses_uv(session):
        session.install("--reinstall-package", "linq-async", "--no-deps", str(wheel))
    else:
        session.install("--force-reinstall", "--no-deps", str(wheel))


_CHECK_INSTALLED = (
    "import pathlib, linq_async; where = pathlib.Path(linq_async.__file__).resolve().parent; "
    'assert "site-packages" in where.parts, f"linq_async from {where}, not the wheel"; '
    'print(f"testing linq_async {linq_async.__version__} installed at {where}")'
)


def _run_suite(session: nox.Session, *args: str) -> None:
    """Run pytest in the unpacked sdist, where ``linq_async/`` was removed: the wheel is tested.

    ``LINQ_ASYNC_REQUIRE_SERVERS=1`` turns a real server that cannot start into a failure, so
    this never skips a test silently (see tests/real_servers.py).
    """
    with session.chdir(_sdist_tree()):
        session.run("python", "-c", _CHECK_INSTALLED)
        session.run(
            "pytest", "-p", "no:cacheprovider", *args, env={"LINQ_ASYNC_REQUIRE_SERVERS": "1"}
        )


# --- build and tests ----------------------------------------------------------------------


def _sdist_tree() -> Path:
    trees = sorted(SDIST_TREE.glob("linq_async-*"))
    if len(trees) != 1:
        raise RuntimeError(f"expected one unpacked sdist in {SDIST_TREE}, found {trees}")
    return trees[0]


@nox.session
def build(session: nox.Session) -> None:
    """Build the sdist and the wheel (from the sdist) into dist/; unpack the sdist for tests.

    The unpacked sdist loses its ``linq_async/``, so tests run there import the installed
    wheel: a module missing from the wheel fails them.
    """
    shutil.rmtree(DIST, ignore_errors=True)
    if _uses_uv(session):
        session.run("uv", "build", "--quiet", "--out-dir", str(DIST), str(ROOT))
    else:
        session.install("build>=1.2")
        session.run("python", "-m", "build", "--outdir", str(DIST), str(ROOT), silent=True)
    (sdist,) = DIST.glob("linq_async-*.tar.gz")
    wheel = _wheel()
    shutil.rmtree(SDIST_TREE, ignore_errors=True)
    SDIST_TREE.mkdir(parents=True)
    with tarfile.open(sdist) as archive:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12: refuse odd members
            archive.extractall(SDIST_TREE, filter="data")
        else:  # pragma: no cover
            archive.extractall(SDIST_TREE)
    shutil.rmtree(_sdist_tree() / "linq_async")
    session.log(f"built {sdist.name} and {wheel.name}")


@nox.session(python=PYTHONS, requires=["build"])
def tests(session: nox.Session) -> None:
    """Run the test suite against the installed wheel (extra arguments go to pytest)."""
    _install_wheel(session, *_group("dev"))
    _run_suite(session, *session.posargs)


def _floors() -> dict[str, str]:
    """``{name: lowest version}`` of every runtime dependency, from its ``>=`` specifier."""
    from packaging.requirements import Requirement

    floors = {}
    for line in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(line)
        lows = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if len(lows) != 1:
            raise RuntimeError(f"{line!r}: a runtime dependency needs exactly one >= floor")
        floors[requirement.name] = lows[0]
    return floors


_CHECK_FLOORS = (
    "import json, sys; from importlib.metadata import version; "
    "floors = json.loads(sys.argv[1]); "
    "wrong = {n: version(n) for n, low in floors.items() if version(n) != low}; "
    'assert not wrong, f"not at the floors {floors}: {wrong}"; '
    'print("at the floors:", ", ".join(f"{n}=={low}" for n, low in floors.items()))'
)


@nox.session(python=LOWEST_PYTHONS, requires=["build"])
def lowest(session: nox.Session) -> None:
    """The suite with every runtime dependency at its declared floor (pyproject's ``>=``).

    The floors are pinned with a constraints file (pip and uv read it alike; uv's
    ``--resolution lowest-direct`` would not lower the wheel's own dependencies, which are
    not direct there). Only the runtime dependencies are lowered; the floors must be exact
    releases, and a check after the install proves they were installed. The benchmark
    smoke test (``slow``) is left to ``tests``.
    """
    floors = _floors()
    constraints = Path(session.create_tmp()) / "floors.txt"
    constraints.write_text("".join(f"{name}=={low}\n" for name, low in floors.items()))
    _install_wheel(session, *_group("dev"), constraints=constraints)
    session.run("python", "-c", _CHECK_FLOORS, json.dumps(floors))
    _run_suite(session, "-m", "not slow", *session.posargs)


# --- checks on the checkout ---------------------------------------------------------------


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on linq_async/ and on tests/typing/ (the public API as users call it)."""
    session.install("-e", ".", *_group("dev"))
    session.run("mypy", "--strict", "linq_async", "tests/typing")


@nox.session(requires=["build"])
def examples(session: nox.Session) -> None:
    """Type-check and run every example script and the notebook, on the embedded fake server.

    They run against the installed wheel, as a user's would. The API key variables are
    blanked, so the examples never reach the real API from here.
    """
    _install_wheel(
        session,
        *_group("dev"),
        "nbclient>=0.10",
        "nbformat>=5.10",
        "ipykernel>=6.29",
        "jupyter_core>=5",
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


CHROMIUM = os.environ.get("LINQ_ASYNC_CHROMIUM") or shutil.which("chromium") or ""


@nox.session
def docs(session: nox.Session) -> None:
    """Build the site with mkdocs --strict into site/, then check it.

    Checks: every public attrs class renders with its real constructor signature
    (docs/check_signatures.py), and the home page, the API reference and a guide load in
    headless Chromium (Debian's ``chromium``) with no console error and no broken internal
    link (docs/check_site.py). Without Chromium the browser check is skipped with a
    warning, except on CI (``CI`` set), where it fails.
    """
    session.install("-e", ".", *_group("docs"))
    session.run(
        "mkdocs", "build", "--strict", "--site-dir", "site", env={"NO_MKDOCS_2_WARNING": "1"}
    )
    session.run("python", "docs/check_signatures.py")
    if not CHROMIUM:
        if os.environ.get("CI"):
            session.error("no chromium for the browser check (apt-get install chromium)")
        session.warn("no chromium: skipping the browser check (apt-get install chromium)")
        return
    session.run("python", "docs/check_site.py", "site", "--chromium", CHROMIUM)


# --- running things -----------------------------------------------------------------------


@nox.session
def demo(session: nox.Session) -> None:
    """Run the end-to-end demo against the embedded FakeLinqServer (no key, no network)."""
    session.install("-e", ".")
    session.run("python", "-m", "linq_async", "demo")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: every send path against a bare aiohttp client, the official SDK and curl.

    Writes bench/results/latest.{md,json,png} (a full run also docs/bench/latest.png).
    Arguments pass through to ``python -m bench``: ``nox -s bench -- --quick`` is a smoke run.
    """
    session.install("-e", ".", "linq-python==0.65.0", "matplotlib")
    session.run("python", "-m", "bench", *session.posargs)
