"""`python -m modelport.scoring --entry-script score.py ...` (what deploy targets start).

Start-up failures print one `error: ...` line on stderr (the traceback is in the JSON log) and
exit with the error's code: 2 for a bad script or option.
"""

from __future__ import annotations

import sys

import click

from modelport.errors import ModelportError
from modelport.scoring._cli import main as command


def main() -> None:
    try:
        command.main(
            args=sys.argv[1:], prog_name="python -m modelport.scoring", standalone_mode=False
        )
    except ModelportError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(1)


if __name__ == "__main__":
    main()
