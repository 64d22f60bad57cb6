"""`python -m modelport.events WORKSPACE`: the background events process (process.py)."""

from __future__ import annotations

import sys

from modelport.errors import ModelportError
from modelport.workspace import Workspace


def main(argv: list[str]) -> int:
    from modelport.events.process import serve

    try:
        serve(Workspace.get(argv[0]))
    except ModelportError as exc:
        print(f"events: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
