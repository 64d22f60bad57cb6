from __future__ import annotations

from pathlib import Path

import pytest

from modelport.environments import Environment
from modelport.environments.requirements import read_requirements
from modelport.errors import InvalidArgument, NotFound


def test_comments_continuations_and_relative_includes(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.txt").write_text("idna>=3  # inline comment\n-r more.txt\n")
    (tmp_path / "sub" / "more.txt").write_text("# only a comment\nsix\n")
    main = tmp_path / "requirements.txt"
    main.write_text(
        "# top comment\n"
        "\n"
        "--requirement=sub/base.txt\n"
        "numpy>=1.24,\\\n"
        "   <3\n"
        "--extra-index-url https://example.invalid/simple\n"
        "inference-schema[numpy-support]\n"
    )
    result = read_requirements(main)
    assert result.packages == [
        "idna>=3",
        "six",
        "numpy>=1.24,   <3",
        "inference-schema[numpy-support]",
    ]
    assert result.options == ["--extra-index-url https://example.invalid/simple"]


def test_include_cycles_are_read_once(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("six\n-r b.txt\n")
    (tmp_path / "b.txt").write_text("idna\n-r a.txt\n")
    assert read_requirements(tmp_path / "a.txt").packages == ["six", "idna"]


def test_unsupported_option_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("six\n-e ./local\n")
    with pytest.raises(InvalidArgument, match=r"requirements\.txt:2: pip option '-e'"):
        read_requirements(path)


def test_missing_include_is_not_found(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("-r nowhere.txt\n")
    with pytest.raises(NotFound, match=r"nowhere\.txt"):
        read_requirements(path)


def test_environment_from_pip_requirements(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("six==1.17.0\n-i https://example.invalid/simple\n")
    env = Environment.from_pip_requirements("pipenv", path)
    deps = env.python.conda_dependencies
    assert deps is not None
    assert deps.pip_packages == ["six==1.17.0"]
    assert deps.pip_options == ["-i https://example.invalid/simple"]
