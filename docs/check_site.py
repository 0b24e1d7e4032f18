"""Load the built documentation site in headless Chromium and fail on what a reader would hit.

Serves the site (``site/`` by default) on 127.0.0.1, opens the home page, one guide and
every API reference page in Chromium (Debian's ``chromium``, driven by Playwright; no browser
is downloaded), and reports:

- any console error, uncaught page error, failed request or HTTP error of the page itself
  or of what it loads (scripts, styles, images, the search index);
- any broken internal link on those pages: a target page that does not answer 200, or an
  ``#anchor`` with no element of that id on the target page.

External links are not followed (the machines have no network). Run by ``nox -s docs``::

    python docs/check_site.py site --chromium /usr/bin/chromium
"""

from __future__ import annotations

import argparse
import functools
import html
import re
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag

from playwright.sync_api import ConsoleMessage, Page, Request, Response, sync_playwright

GUIDE = "sending-files/"
# Without these Chromium tries to reach Google's hosts at start, which this network refuses.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
_ID = re.compile(r"""\s(?:id|name)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (a free port) for the block; yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@functools.cache
def fetch(url: str) -> tuple[int, str]:
    """(status, text) of a page of the served site."""
    try:
        with _OPENER.open(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, ""


@functools.cache
def anchors(url: str) -> frozenset[str]:
    """Every ``id`` and ``name`` in the page at ``url``."""
    _, text = fetch(url)
    return frozenset(
        html.unescape(next(g for g in m.groups() if g is not None)) for m in _ID.finditer(text)
    )


def check_page(page: Page, base: str, path: str) -> list[str]:
    """Load ``base + path``; return the problems found on it."""
    problems: list[str] = []
    url = base + path

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text}")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            problems.append(f"HTTP {response.status} for {response.url}")

    def on_failed(request: Request) -> None:
        problems.append(f"request failed: {request.url} ({request.failure})")

    def on_page_error(error: Exception) -> None:
        problems.append(f"page error: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("response", on_response)
    page.on("requestfailed", on_failed)
    try:
        response = page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        if response is None or response.status != 200:
            problems.append(f"{url} answered {response.status if response else 'nothing'}")
        if not page.locator("h1").count():
            problems.append("no <h1>: the page has no content")
        hrefs: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    finally:
        page.remove_listener("console", on_console)
        page.remove_listener("pageerror", on_page_error)
        page.remove_listener("response", on_response)
        page.remove_listener("requestfailed", on_failed)

    checked = 0
    for href in sorted(set(hrefs)):
        if not href.startswith(base):
            continue  # external: not followed
        target, fragment = urldefrag(href)
        status, _ = fetch(target)
        checked += 1
        if status != 200:
            problems.append(f"broken link {href}: HTTP {status}")
        elif fragment and unquote(fragment) not in anchors(target):
            problems.append(f"broken link {href}: no #{unquote(fragment)} on that page")
    print(f"  {path or '/'}: {checked} internal links", "ok" if not problems else "FAILED")
    return problems


def main() -> int:
    """Check the pages; print the problems; 0 when there are none."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", default="site", type=Path)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    site: Path = args.site
    reference = sorted(
        p.parent.relative_to(site).as_posix() + "/" for p in site.glob("reference/*/index.html")
    )
    if not reference or not (site / GUIDE / "index.html").is_file():
        print(f"check_site: {site} has no API reference or no {GUIDE}: not a built site?")
        return 1
    pages = ["", GUIDE, *reference]
    failures: dict[str, list[str]] = {}
    with serve(site) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context()
            page = context.new_page()
            print(f"check_site: {len(pages)} pages of {site} in {browser.version} at {base}")
            for path in pages:
                problems = check_page(page, base, path)
                if problems:
                    failures[path or "/"] = problems
        finally:
            browser.close()
    for path, problems in failures.items():
        print(f"{path}:", *(f"  {problem}" for problem in problems), sep="\n", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
