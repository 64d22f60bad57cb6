"""Content-addressed blob storage.

Blobs live at `<root>/blobs/<sha[:2]>/<sha>` and are read-only once written, so a file
registered twice is stored once and services can hard-link them safely. Writes go to
`<root>/tmp/` first and are renamed into place, so a crash never leaves a half blob at its
final name; reads verify the hash, so a corrupt or missing blob is an error, never silent.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from modelport.errors import IntegrityError, InvalidArgument


@dataclass(frozen=True)
class FileEntry:
    """One file of a model version: where it goes (POSIX relative path) and what it holds."""

    path: str
    sha256: str
    size: int

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> FileEntry:
        return cls(path=str(data["path"]), sha256=str(data["sha256"]), size=int(data["size"]))  # type: ignore[call-overload]


class ArtifactStore:
    """Blobs on a local filesystem, addressed by their sha256."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._blobs = self.root / "blobs"
        self._tmp = self.root / "tmp"

    def blob_path(self, sha256: str) -> Path:
        return self._blobs / sha256[:2] / sha256

    # -- writing ---------------------------------------------------------------------
    def put_file(self, source: Path) -> tuple[str, int]:
        """Copy one file in, then hash the copy; return (sha256, size).

        The kernel copies (copy_file_range) and the hash is taken from our private copy, so
        the blob's name always matches its bytes even if the source changes meanwhile; this is
        about twice as fast as hashing while copying through Python buffers.
        """
        self._tmp.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp / f"{uuid.uuid4().hex}.part"
        try:
            shutil.copyfile(source, tmp)
            sha, size = _digest(tmp)
            final = self.blob_path(sha)
            if final.is_file() and final.stat().st_size == size:
                tmp.unlink()
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
                os.replace(tmp, final)
            return sha, size
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def put_tree(self, files: Iterable[tuple[str, Path]], threads: int = 4) -> list[FileEntry]:
        """Store many files in parallel (hashing releases the GIL); keep the given order."""
        items = list(files)

        def one(item: tuple[str, Path]) -> FileEntry:
            rel, src = item
            sha, size = self.put_file(src)
            return FileEntry(rel, sha, size)

        if len(items) <= 1:
            return [one(item) for item in items]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(one, items))

    # -- reading ---------------------------------------------------------------------
    def verify(self, entry: FileEntry) -> Path:
        """Return the blob path after checking it exists with the recorded size."""
        path = self.blob_path(entry.sha256)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise IntegrityError(
                f"Artifact blob for '{entry.path}' ({entry.sha256[:12]}…) is missing from "
                f"{self._blobs}.",
                hint="The workspace's artifact store was modified outside modelport; "
                "re-register the model from its source files.",
            ) from None
        if size != entry.size:
            raise IntegrityError(
                f"Artifact blob for '{entry.path}' is corrupt: {size} bytes, expected {entry.size}.",
                hint="Re-register the model from its source files.",
            )
        return path

    def copy_out(self, entry: FileEntry, dest: Path) -> None:
        """Copy a blob to `dest`, verifying the sha256 of what was written; atomic at `dest`."""
        src = self.verify(entry)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            shutil.copyfile(src, tmp)
            if _digest(tmp)[0] != entry.sha256:
                raise IntegrityError(
                    f"Artifact blob for '{entry.path}' is corrupt: its content no longer "
                    f"matches sha256 {entry.sha256[:12]}….",
                    hint="Re-register the model from its source files.",
                )
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def link_out(self, entry: FileEntry, dest: Path) -> None:
        """Hard-link a blob to `dest` (read-only, shares storage); copy across filesystems."""
        src = self.verify(entry)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dest)
        except FileExistsError:
            if not (dest.exists() and os.path.samefile(src, dest)):
                raise
        except OSError:
            shutil.copyfile(src, dest)
            os.chmod(dest, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)

    def copy_many(self, entries: Iterable[tuple[FileEntry, Path]], threads: int = 4) -> None:
        items = list(entries)
        if len(items) <= 1:
            for entry, dest in items:
                self.copy_out(entry, dest)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(lambda item: self.copy_out(*item), items))


def _digest(path: Path) -> tuple[str, int]:
    """(sha256, size) of a file; hashlib releases the GIL, so threads hash in parallel."""
    with open(path, "rb") as f:
        sha = hashlib.file_digest(f, "sha256").hexdigest()
        return sha, os.fstat(f.fileno()).st_size


def walk_files(path: Path, child_paths: Iterable[str] | None = None) -> Iterator[tuple[str, Path]]:
    """Yield (relative POSIX path, absolute path) for a file or every file under a folder."""
    if path.is_file():
        yield path.name, path
        return
    roots = [path / c for c in child_paths] if child_paths else [path]
    for root in roots:
        if not root.exists():
            raise InvalidArgument(
                f"child path '{root.relative_to(path)}' does not exist in {path}.",
                hint="Pass paths relative to the registered folder.",
            )
        if root.is_file():
            yield root.relative_to(path).as_posix(), root
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                full = Path(dirpath) / name
                if full.is_file():
                    yield full.relative_to(path).as_posix(), full
