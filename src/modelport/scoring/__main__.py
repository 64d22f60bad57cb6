"""`python -m modelport.scoring --entry-script score.py ...` (what deploy targets start).

Start-up failures print one `error: ...` line on stderr (the traceback is in the JSON log) and
exit with the error's code: 2 for a bad script or option.
"""

from __future__ import annotations

import sys

from modelport.errors import ModelportError
from modelport.scoring._cli import main as command


def main() -> None:
    try:
        command(sys.argv[1:])  # argparse exits 2 on a bad option, with the usage line
    except ModelportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(1)


if __name__ == "__main__":
    main()
