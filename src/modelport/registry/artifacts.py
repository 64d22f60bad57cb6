"""Content-addressed blob storage.

Blobs live at `<root>/blobs/<sha[:2]>/<sha>` and are read-only once written, so a file
registered twice is stored once and services can hard-link them safely. Writes go to
`<root>/tmp/` first and are renamed into place, so a crash never leaves a half blob at its
final name. Content is verified where it matters: a dedupe hit re-hashes the blob it keeps
(and replaces a corrupt one, which is how re-registering repairs it), downloads hash what
they wrote, and linking a blob out (deployments, `get_model_path`) hashes it unless it was
verified since its inode last changed (see `check`).

Blob writers and the garbage collector coordinate through one lock file (`writing` and
`exclusive`); `registry/gc.py` explains why that makes reclaiming blobs safe.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from modelport._locks import named_lock
from modelport.errors import IntegrityError, StorageFull
from modelport.registry._scratch import scratch_name, writer_is_gone
from modelport.registry.sources import walk_files

__all__ = ["ArtifactStore", "FileEntry", "walk_files"]

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
STAGE = ".stage-"  # a materialisation being built
STALE = ".stale-"  # a materialisation being thrown away


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
        self._verified = self.root / "verified"

    def blob_path(self, sha256: str) -> Path:
        return self._blobs / sha256[:2] / sha256

    # -- coordination with the garbage collector -----------------------------------------
    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the store's lock shared: from the first blob written to the metadata commit
        that references it. Also reclaims `.part` files whose writer process is gone."""
        with named_lock(self.root, "store", shared=True):
            self._reclaim_dead_parts()
            yield

    def exclusive(self) -> AbstractContextManager[None]:
        """Hold the store's lock alone: no blob is being written or awaits its commit."""
        return named_lock(self.root, "store")

    def _reclaim_dead_parts(self) -> None:
        try:
            names = os.listdir(self._tmp)
        except FileNotFoundError:
            return
        for name in names:
            if writer_is_gone(name, ""):
                (self._tmp / name).unlink(missing_ok=True)

    # -- writing (inside `writing()`) ----------------------------------------------------
    def put_file(self, source: Path) -> tuple[str, int]:
        """Copy one file in, then hash the copy; return (sha256, size).

        The kernel copies (copy_file_range) and the hash is taken from our private copy, so
        the blob's name always matches its bytes even if the source changes meanwhile; this is
        about twice as fast as hashing while copying through Python buffers.
        """
        self._tmp.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp / scratch_name("", ".part")
        try:
            shutil.copyfile(source, tmp)
            sha, size = _digest(tmp)
            final = self.blob_path(sha)
            if _holds(final, sha, size):
                tmp.unlink()
            else:  # a new blob, or a corrupt one replaced atomically: re-registering repairs
                final.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp, READ_ONLY)
                os.replace(tmp, final)  # a new inode: any marker of the old one no longer matches
            return sha, size
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull(
                    f"No space left on the disk holding the artifact store {self.root} while "
                    f"storing {source.name} ({source.stat().st_size / 2**20:.1f} MiB); nothing "
                    "was registered.",
                    hint="Free space (`modelport workspace gc` reclaims unused files) and retry.",
                ) from None
            raise
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def put_tree(self, files: Iterable[tuple[str, Path]], threads: int = 4) -> list[FileEntry]:
        """Store many files in parallel (hashing releases the GIL); keep the given order.

        A source reached by several paths (links inside a folder) is copied once.
        """
        items = list(files)
        sources = list(dict.fromkeys(src for _, src in items))
        if len(sources) <= 1:
            stored = {src: self.put_file(src) for src in sources}
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=threads) as pool:
                stored = dict(zip(sources, pool.map(self.put_file, sources), strict=True))
        return [FileEntry(rel, *stored[src]) for rel, src in items]

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
            raise _corrupt(entry, None)
        return path

    def check(self, entry: FileEntry, path: Path, owner: str | None = None) -> None:
        """Raise IntegrityError unless the file at `path` holds the bytes `entry` records.

        Hashing costs a read of the file, so a marker remembers the last verification by the
        inode's (number, size, mtime, ctime): any write, chmod, utime or new hard link changes
        ctime, which only the kernel sets, so each new link-out (a deployment) hashes again
        while repeated `get_model_path` calls stat only. A marker cannot see media bit rot
        that changes no metadata; downloads always hash in full.
        """
        key = _inode_key(path)
        marker = self._verified / entry.sha256[:2] / entry.sha256
        try:
            if marker.read_text() == key:
                return
        except FileNotFoundError:
            pass
        if os.stat(path).st_size != entry.size or _digest(path)[0] != entry.sha256:
            raise _corrupt(entry, owner)
        self._record_verified(entry.sha256, path)

    def _record_verified(self, sha: str, path: Path) -> None:
        marker = self._verified / sha[:2] / sha
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            tmp = marker.with_name(scratch_name(".", ".part"))
            tmp.write_text(_inode_key(path))
            os.replace(tmp, marker)
        except OSError:
            pass  # a read-only workspace: without a marker the next check hashes again

    def blob_files(self, sha: str) -> Iterator[Path]:
        """The blob and its marker, for the garbage collector to remove."""
        yield self.blob_path(sha)
        marker = self._verified / sha[:2] / sha
        if marker.exists():
            yield marker

    def blobs(self) -> Iterator[tuple[str, Path]]:
        """Every (sha256, path) stored."""
        if not self._blobs.is_dir():
            return
        for prefix in sorted(os.listdir(self._blobs)):
            for name in sorted(os.listdir(self._blobs / prefix)):
                yield name, self._blobs / prefix / name

    def scratch(self) -> Iterator[Path]:
        """Temporary files and markers of absent blobs; garbage when no writer holds the lock."""
        if self._tmp.is_dir():
            yield from sorted(self._tmp.iterdir())
        if self._verified.is_dir():
            for marker in sorted(self._verified.glob("*/*")):
                if marker.name.startswith(".") or not self.blob_path(marker.name).exists():
                    yield marker

    def copy_out(self, entry: FileEntry, dest: Path, owner: str | None = None) -> None:
        """Copy a blob to `dest`, verifying the sha256 of what was written; atomic at `dest`."""
        src = self.verify(entry)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(scratch_name(f".{dest.name}.", ".part"))
        try:
            shutil.copyfile(src, tmp)
            if _digest(tmp)[0] != entry.sha256:
                raise _corrupt(entry, owner)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def link_out(self, entry: FileEntry, dest: Path, owner: str | None = None) -> None:
        """Hard-link a blob to `dest` (read-only, shares storage; a copy across filesystems),
        then check what `dest` holds."""
        src = self.verify(entry)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dest)
        except FileExistsError:
            if not (dest.exists() and os.path.samefile(src, dest)):
                raise
        except OSError:
            shutil.copyfile(src, dest)
            os.chmod(dest, READ_ONLY)
        self.check(entry, dest, owner)

    def copy_many(
        self, entries: Iterable[tuple[FileEntry, Path]], threads: int = 4, owner: str | None = None
    ) -> None:
        items = list(entries)
        if len(items) <= 1:
            for entry, dest in items:
                self.copy_out(entry, dest, owner)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(lambda item: self.copy_out(item[0], item[1], owner), items))

    def materialize(self, final: Path, plan: list[tuple[FileEntry, Path]], owner: str) -> None:
        """Lay out `final/<dest>` for each (entry, dest) as verified read-only hard links.

        `final` appears whole or not at all (built in a staging folder beside it, renamed into
        place). An existing `final` is reused if every file still checks out; one that does
        not (a corrupt blob since repaired by re-registering) is rebuilt.
        """
        base = final.parent
        with self.writing():  # gc treats staging folders as abandoned only under exclusive()
            base.mkdir(parents=True, exist_ok=True)
            _reclaim_dead_folders(base)
            if final.is_dir():
                if self._intact(final, plan):
                    return
                self._build(base, final, plan, owner, replace=True)
            else:
                self._build(base, final, plan, owner, replace=False)

    def _intact(self, final: Path, plan: list[tuple[FileEntry, Path]]) -> bool:
        try:
            for entry, dest in plan:
                self.check(entry, final / dest)
        except (IntegrityError, FileNotFoundError):
            return False
        return True

    def _build(
        self, base: Path, final: Path, plan: list[tuple[FileEntry, Path]], owner: str, replace: bool
    ) -> None:
        staging = base / scratch_name(STAGE)
        staging.mkdir()
        try:
            for entry, dest in plan:
                self.link_out(entry, staging / dest, owner)
            if replace:  # readers holding the old files keep them; new readers get the new
                stale = base / scratch_name(STALE)
                with contextlib.suppress(FileNotFoundError):  # another process replaced it
                    os.rename(final, stale)
                shutil.rmtree(stale, ignore_errors=True)
            try:
                os.rename(staging, final)
            except OSError:
                if not final.is_dir():
                    raise
                shutil.rmtree(staging, ignore_errors=True)  # another process won the race
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def _reclaim_dead_folders(base: Path) -> None:
    for name in os.listdir(base):
        if writer_is_gone(name, STAGE) or writer_is_gone(name, STALE):
            shutil.rmtree(base / name, ignore_errors=True)


def _holds(path: Path, sha: str, size: int) -> bool:
    """Whether `path` is a blob with exactly these bytes (re-hashed: a same-size corrupt
    blob must not be kept, or re-registering could never repair it)."""
    try:
        if path.stat().st_size != size:
            return False
    except FileNotFoundError:
        return False
    return _digest(path)[0] == sha


def _inode_key(path: Path) -> str:
    st = os.stat(path)
    return f"{st.st_ino} {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns}"


def _corrupt(entry: FileEntry, owner: str | None) -> IntegrityError:
    who = f"{owner}: file" if owner else "File"
    return IntegrityError(
        f"{who} '{entry.path}' is corrupt in the artifact store (its bytes no longer match "
        f"sha256 {entry.sha256[:12]}…).",
        hint="Re-register the model from its source files (Model.register or `modelport "
        "model register`) to repair the stored copy, then retry.",
    )


def _digest(path: Path) -> tuple[str, int]:
    """(sha256, size) of a file; hashlib releases the GIL, so threads hash in parallel."""
    with open(path, "rb") as f:
        sha = hashlib.file_digest(f, "sha256").hexdigest()
        return sha, os.fstat(f.fileno()).st_size
