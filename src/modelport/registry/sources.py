"""The files a user registers: walking a model or dataset folder, symbolic links included.

A link is stored as the file it points to, so a version never holds a link that could point
somewhere else on the machine that deploys it. A link that resolves outside the registered
folder is refused (it would register, download, deploy and package whatever it reaches,
`/etc/passwd` included) unless the caller opts in with `follow_external_links=True`; a
dangling link or a loop is an error, never a silent skip.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from modelport.errors import InvalidArgument


def walk_files(
    path: Path,
    child_paths: Iterable[str] | None = None,
    *,
    follow_external_links: bool = False,
) -> Iterator[tuple[str, Path]]:
    """Yield (relative POSIX path, real path of its content) for a file or a folder's files.

    Within each folder files come first, then subfolders, each sorted by name.
    """
    if path.is_file():
        yield path.name, path
        return
    walker = _Walker(Path(os.path.realpath(path)), follow_external_links)
    for child in child_paths or [""]:
        yield from walker.child(child)


class _Walker:
    def __init__(self, root: Path, follow_external: bool) -> None:
        self.root = root
        self.follow_external = follow_external

    def child(self, child: str) -> Iterator[tuple[str, Path]]:
        rel = Path(child).as_posix() if child else ""
        if rel in ("", "."):
            yield from self._folder(str(self.root), "", frozenset({str(self.root)}))
            return
        full = os.path.join(self.root, rel)
        if not os.path.lexists(full):
            raise InvalidArgument(
                f"child path '{child}' does not exist in {self.root}.",
                hint="Pass paths relative to the registered folder.",
            )
        real = self._real(rel, full)
        yield from self._entry(rel, real, frozenset({str(self.root)}))

    def _folder(
        self, folder: str, rel: str, ancestors: frozenset[str]
    ) -> Iterator[tuple[str, Path]]:
        files: list[tuple[str, str]] = []
        folders: list[tuple[str, str]] = []
        for name in sorted(os.listdir(folder)):
            full = os.path.join(folder, name)
            child_rel = f"{rel}/{name}" if rel else name
            real = self._real(child_rel, full) if os.path.islink(full) else full
            (folders if os.path.isdir(real) else files).append((child_rel, real))
        for child_rel, real in files + folders:
            yield from self._entry(child_rel, real, ancestors)

    def _entry(self, rel: str, real: str, ancestors: frozenset[str]) -> Iterator[tuple[str, Path]]:
        if os.path.isdir(real):
            if real in ancestors:
                raise InvalidArgument(
                    f"Symbolic link '{rel}' loops back to {real}, a folder that contains it.",
                    hint="Remove the link, or point it at a folder outside its own path.",
                )
            yield from self._folder(real, rel, ancestors | {real})
        elif os.path.isfile(real):
            yield rel, Path(real)
        # sockets, FIFOs and devices are not model content: skipped, as before

    def _real(self, rel: str, full: str) -> str:
        """Where the link at `full` finally leads, if registering it is allowed."""
        try:
            real = os.path.realpath(full, strict=True)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise InvalidArgument(
                    f"Symbolic link '{rel}' is a loop ({exc.strerror}).",
                    hint="Remove the link or point it at a real file.",
                ) from None
            target = os.readlink(full) if os.path.islink(full) else full
            raise InvalidArgument(
                f"Symbolic link '{rel}' points to {target}, which does not exist.",
                hint="Fix or remove the dangling link, then register again.",
            ) from None
        inside = real == str(self.root) or real.startswith(str(self.root) + os.sep)
        if not inside and not self.follow_external and not os.path.islink(full):
            raise InvalidArgument(
                f"child path '{rel}' leads outside the registered folder {self.root}.",
                hint="Pass paths relative to the registered folder.",
            )
        if not inside and not self.follow_external:
            raise InvalidArgument(
                f"Symbolic link '{rel}' points outside the registered folder {self.root}, "
                f"to {real}.",
                hint="Copy the file into the folder, remove the link, or pass "
                "follow_external_links=True (CLI: --follow-links) to store what it points to.",
            )
        return real
