"""Landing files opened safely and read in bounded pieces.

Other systems and people write the landing folders (Data Loader exports, a Marketo job,
erasure requests), so an entry is opened only if it is a regular file reached from the
landing root without a symbolic link: each folder below the root, then the file, is opened
with ``O_NOFOLLOW`` relative to the one above it, so a link put in place after the folder
was listed is refused too, and a file cannot resolve outside the root. A FIFO or device is
refused (opened non-blocking, then checked), not read. Lines are read at most ``CHUNK``
bytes at a time: a 2 GB file without a newline costs a few MiB, never its size.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

SYMLINK = "symbolic link: not followed"
CHUNK = 1 << 20  # bytes read at a time
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_KINDS = {
    stat.S_ISDIR: "a folder",
    stat.S_ISFIFO: "a FIFO",
    stat.S_ISSOCK: "a socket",
    stat.S_ISCHR: "a device",
    stat.S_ISBLK: "a device",
}


class RefusedFile(Exception):
    """A landing entry that is not opened: ``reason`` says why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def entries(folder: Path, *, recursive: bool = False) -> list[Path]:
    """The entries of ``folder`` to load, sorted: all but folders and hidden names (files being
    written, an editor's), symbolic links and FIFOs included, so that ``open_file`` refuses
    them with a reason rather than skipping them unseen. ``recursive`` walks sub-folders, never
    a linked one (the link itself is listed)."""
    if not folder.is_dir():
        return []
    found: list[Path] = []
    try:
        with os.scandir(folder) as listing:
            for entry in listing:
                if entry.name.startswith("."):
                    continue
                if not entry.is_dir(follow_symlinks=False):
                    found.append(Path(entry.path))
                elif recursive:
                    found.extend(entries(Path(entry.path), recursive=True))
    except PermissionError:  # a folder that cannot be listed is listed itself: refused, saying why
        return [folder]
    return sorted(found)


@dataclass(frozen=True)
class LandingFile:
    """A landing file opened for reading (``fd``); ``path`` is the name it was listed under."""

    path: Path
    fd: int
    size: int
    mtime_ns: int = 0  # its modification time when opened (lead_scoring.load.files.content_digest)

    @property
    def read_path(self) -> str:
        """The name another reader (DuckDB) opens this very file by: ``/proc/self/fd/<fd>``
        where the system has one (Linux), so a file swapped after the checks is not read."""
        by_descriptor = f"/proc/self/fd/{self.fd}"
        return by_descriptor if os.path.exists(by_descriptor) else str(self.path)

    def reader(self) -> BinaryIO:
        """A buffered reader from the first byte; closing it leaves the file open."""
        os.lseek(self.fd, 0, os.SEEK_SET)
        return open(self.fd, "rb", closefd=False)

    def sha256(self) -> str:
        digest = hashlib.sha256()
        with self.reader() as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
        return digest.hexdigest()


def _parts_below(path: Path, root: Path) -> tuple[str, ...]:
    relative = Path(os.path.relpath(os.path.abspath(path), os.path.abspath(root)))
    if not relative.parts or relative.parts[0] == os.pardir:
        raise RefusedFile(path, f"outside the landing folder {root}")
    return relative.parts


def _refusal(path: Path, parts: tuple[str, ...], depth: int, directory: int, error: OSError) -> RefusedFile:
    """Why ``parts[depth]`` (opened relative to ``directory``) could not be opened."""
    try:
        mode = os.stat(parts[depth], dir_fd=directory, follow_symlinks=False).st_mode
    except OSError:
        mode = 0
    if stat.S_ISLNK(mode):
        if depth == len(parts) - 1:
            return RefusedFile(path, SYMLINK)
        return RefusedFile(path, f"{SYMLINK} (folder {'/'.join(parts[: depth + 1])} is a link)")
    return RefusedFile(path, f"cannot open ({error.strerror or type(error).__name__})")


def _open_below(path: Path, root: Path) -> int:
    """A descriptor of the regular file ``path``, reached from ``root`` without a link."""
    parts = _parts_below(path, root)
    try:
        current = os.open(root, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
    except OSError as error:
        raise RefusedFile(path, f"cannot open the landing folder {root} ({error.strerror})") from None
    try:
        for depth, name in enumerate(parts):
            last = depth == len(parts) - 1
            # non-blocking: opening a FIFO would otherwise wait for a writer
            flags = os.O_RDONLY | os.O_NOFOLLOW | _CLOEXEC | (os.O_NONBLOCK if last else os.O_DIRECTORY)
            try:
                opened = os.open(name, flags, dir_fd=current)
            except OSError as error:
                raise _refusal(path, parts, depth, current, error) from None
            os.close(current)
            current = opened
        mode = os.fstat(current).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS.items() if test(mode)), "not a file")
            raise RefusedFile(path, f"not a regular file ({kind})")
    except BaseException:
        os.close(current)
        raise
    return current


@contextmanager
def open_file(path: Path, root: Path) -> Iterator[LandingFile]:
    """``path`` opened for reading, if it is a regular file below ``root`` reached without a
    symbolic link (``root`` itself may be one: it is the configured landing folder); raises
    ``RefusedFile`` naming why not. The file stays open until the block ends."""
    fd = _open_below(path, root)
    try:
        status = os.fstat(fd)
        yield LandingFile(path, fd, status.st_size, status.st_mtime_ns)
    finally:
        os.close(fd)


class Line(NamedTuple):
    number: int  # physical line in the file, from 1
    head: bytes  # its first bytes (at most ``keep``), without the line end
    length: int  # its length in bytes, without the line end


def non_blank_lines(handle: BinaryIO, keep: int, chunk: int = CHUNK) -> Iterator[Line]:
    """Each line of ``handle`` holding more than white space, split on ``\\n`` (a trailing
    ``\\r`` dropped), read ``chunk`` bytes at a time: memory stays bounded by ``chunk`` plus
    ``keep`` however long a line is."""
    number = 0
    while piece := handle.readline(chunk):
        number += 1
        head, length, blank, tail = b"", 0, True, b""
        while True:
            ended = piece.endswith(b"\n")
            body = piece[:-1] if ended else piece
            if len(head) < keep:
                head += body[: keep - len(head)]
            length += len(body)
            blank = blank and not body.strip()
            tail = body[-1:] or tail
            if ended or not (piece := handle.readline(chunk)):
                break
        if not blank:
            if tail == b"\r":
                length -= 1
                head = head[:length]
            yield Line(number, head, length)


def count_non_blank(handle: BinaryIO, before: int = 0, chunk: int = CHUNK) -> tuple[int, int, int]:
    """What ``non_blank_lines`` would yield from ``handle``'s position on, only counted: (how
    many lines, the number of the first, of the last; 0 when none), numbering the lines after
    line ``before``. Reads ``chunk`` bytes at a time and keeps no line: a fast pass over the
    rest of a file whose lines are no longer stored one by one."""
    count = first = last = 0
    number = before  # lines ended so far
    blank, pending = True, False  # the line being read: white space only so far? any byte yet?
    while block := handle.read(chunk):
        parts = block.split(b"\n")
        ended = len(parts) - 1
        if not ended:
            blank, pending = blank and not block.strip(), True
            continue
        blanks = [not part.strip() for part in parts]
        blanks[0] = blanks[0] and blank
        filled = ended - sum(blanks[:ended])
        if filled:
            first = first or number + 1 + blanks.index(False)
            last = number + ended - blanks[ended - 1 :: -1].index(False)
            count += filled
        number += ended
        blank, pending = blanks[-1], bool(parts[-1])
    if pending and not blank:
        count, first, last = count + 1, first or number + 1, number + 1
    return count, first, last
