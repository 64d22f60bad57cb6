"""Symbolic links in a registered folder: stored as what they point to, never outside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelport.core import Model, Workspace
from modelport.errors import InvalidArgument
from tests.conftest import run_cli


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere" / "passwd"
    path.parent.mkdir()
    path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    return path


def _blobs(ws: Workspace) -> list[Path]:
    return [p for p in (ws.path / "artifacts" / "blobs").rglob("*") if p.is_file()]


def test_a_link_leading_outside_the_folder_is_refused(
    ws: Workspace, model_folder: Path, secret: Path
) -> None:
    (model_folder / "outside.txt").symlink_to(secret)
    with pytest.raises(InvalidArgument) as caught:
        Model.register(ws, model_folder, "m")
    message = str(caught.value)
    assert "'outside.txt'" in message and str(secret) in message and "\n" not in message
    assert "follow_external_links=True" in message
    assert Model.list(ws) == [] and _blobs(ws) == []


def test_a_folder_link_leading_outside_is_refused(
    ws: Workspace, model_folder: Path, secret: Path
) -> None:
    (model_folder / "sub" / "etc").symlink_to(secret.parent, target_is_directory=True)
    with pytest.raises(InvalidArgument, match="'sub/etc' points outside"):
        Model.register(ws, model_folder, "m")


def test_following_external_links_is_an_explicit_choice(
    ws: Workspace, model_folder: Path, secret: Path, tmp_path: Path
) -> None:
    (model_folder / "outside.txt").symlink_to(secret)
    model = Model.register(ws, model_folder, "m", follow_external_links=True)
    out = Path(model.download(tmp_path / "dl")) / "outside.txt"
    assert not out.is_symlink() and out.read_text() == secret.read_text()


def test_links_inside_the_folder_are_stored_as_the_files_they_point_to(
    ws: Workspace, model_folder: Path, tmp_path: Path
) -> None:
    (model_folder / "latest.bin").symlink_to("weights.bin")
    (model_folder / "tokenizer").symlink_to("sub", target_is_directory=True)
    model = Model.register(ws, model_folder, "m")
    assert sorted(f.path for f in model.files) == [
        "config.json",
        "latest.bin",
        "sub/vocab.txt",
        "tokenizer/vocab.txt",
        "weights.bin",
    ]
    assert len(_blobs(ws)) == 3  # each content once
    out = Path(model.download(tmp_path / "dl"))
    assert not (out / "latest.bin").is_symlink()
    assert (out / "latest.bin").read_bytes() == (model_folder / "weights.bin").read_bytes()
    assert (out / "tokenizer" / "vocab.txt").read_text() == "a\nb\nc\n"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda f: (f / "gone.bin").symlink_to(f / "nothing-here"),
            "'gone.bin' .* does not exist",
        ),
        (lambda f: (f / "sub" / "up").symlink_to("..", target_is_directory=True), "'sub/up' loops"),
        (
            lambda f: ((f / "a").symlink_to(f / "b"), (f / "b").symlink_to(f / "a")),
            "'a' is a loop",
        ),
    ],
    ids=["dangling", "folder-loop", "link-loop"],
)
def test_dangling_links_and_loops_are_clear_errors(
    sqlite_ws: Workspace, model_folder: Path, make: object, expected: str
) -> None:
    make(model_folder)  # type: ignore[operator]
    with pytest.raises(InvalidArgument, match=expected):
        Model.register(sqlite_ws, model_folder, "m")
    assert Model.list(sqlite_ws) == []


def test_child_paths_cannot_leave_the_folder(
    sqlite_ws: Workspace, model_folder: Path, secret: Path
) -> None:
    with pytest.raises(InvalidArgument, match="leads outside"):
        Model.register(sqlite_ws, model_folder, "m", child_paths=["../elsewhere"])


def test_the_cli_refuses_external_links_unless_told(
    sqlite_ws: Workspace, model_folder: Path, secret: Path
) -> None:
    (model_folder / "outside.txt").symlink_to(secret)
    workspace = ["-w", str(sqlite_ws.path)]
    refused = run_cli("model", "register", *workspace, "-n", "m", "-p", str(model_folder))
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "'outside.txt'" in refused.stderr
    assert "--follow-links" in refused.stderr
    followed = run_cli(
        "model", "register", *workspace, "-n", "m", "-p", str(model_folder), "--follow-links"
    )
    assert followed.returncode == 0, followed.stderr
    assert "Registered m:1 (4 files" in followed.stdout
    assert os.path.islink(model_folder / "outside.txt")  # the source is left alone
