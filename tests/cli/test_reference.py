"""docs/cli.md is generated from --help; a command or option added without regenerating fails."""

from __future__ import annotations

from pathlib import Path

from modelport.cli.reference import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_cli_reference_is_up_to_date() -> None:
    assert DOC.read_text() == render(), "run: python -m modelport.cli.reference > docs/cli.md"
