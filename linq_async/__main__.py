"""``python -m linq_async demo``: run the embedded end-to-end demo."""

from __future__ import annotations

import asyncio
import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``demo`` runs the demo against the embedded fake server."""
    args = sys.argv[1:] if argv is None else argv
    if args != ["demo"]:
        print("usage: python -m linq_async demo", file=sys.stderr)
        return 2
    from ._demo import run_demo

    asyncio.run(run_demo())
    return 0


if __name__ == "__main__":
    sys.exit(main())
