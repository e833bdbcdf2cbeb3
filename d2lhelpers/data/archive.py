"""Extracting the data hub's archives safely: zip and tar, nothing outside the folder.

Used by `download_extract` (d2lhelpers/data/hub.py). Tar archives go through
tarfile's `data` filter where Python has it (>= 3.10.12, 3.11.4) and through an
equivalent check of every member on older 3.10 releases.
"""

from __future__ import annotations

import os
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["archive_stem", "extract"]


#: The archive suffixes `extract` understands, longest first.
_ARCHIVE_SUFFIXES = (".tar.bz2", ".tar.gz", ".tar.xz", ".tbz2", ".tgz", ".txz", ".tar", ".zip")


def archive_stem(file_name: str) -> str:
    """`file_name` without its archive suffix: `glove.6B.50d.zip` -> `glove.6B.50d`."""
    for suffix in _ARCHIVE_SUFFIXES:
        if file_name.lower().endswith(suffix):
            return file_name[: -len(suffix)]
    raise ValueError(
        f"only zip and tar archives can be extracted ({', '.join(_ARCHIVE_SUFFIXES)}), "
        f"got {file_name}"
    )


def _inside(path: str, root: str) -> bool:
    return os.path.commonpath([path, root]) == root


def _unsafe(member: tarfile.TarInfo, root: str) -> str | None:
    """Why extracting `member` into the folder `root` (a real path) is unsafe, or None."""
    name = member.name
    if os.path.isabs(name) or name.startswith(("/", "\\")):
        return "has an absolute path"
    if ".." in name.replace("\\", "/").split("/"):
        return "has a '..' component"
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        return "is a device or FIFO"
    target = os.path.realpath(os.path.join(root, name))
    if not _inside(target, root):
        return "would be written outside the destination"
    if member.issym() or member.islnk():
        if os.path.isabs(member.linkname):
            return f"links to the absolute path {member.linkname!r}"
        # a symbolic link is relative to its folder, a hard link to the archive's root
        base = os.path.dirname(target) if member.issym() else root
        if not _inside(os.path.realpath(os.path.join(base, member.linkname)), root):
            return f"links outside the destination ({member.linkname!r})"
    return None


def _checked_members(
    t: tarfile.TarFile, dest: Path, archive_name: str
) -> Iterator[tarfile.TarInfo]:
    """Yield `t`'s members after a safety check, for Pythons without `tarfile.data_filter`.

    Raises `ValueError` naming the first member with an absolute path, a `..`
    component, a device or FIFO, or a link pointing outside `dest`. Clears
    setuid/setgid/sticky and group/other write bits and ignores the archive's
    owners, as the `data` filter does. Members are checked as they are extracted,
    so a link extracted earlier is followed to its real target.
    """
    root = os.path.realpath(dest)
    for member in t:
        why = _unsafe(member, root)
        if why is not None:
            raise ValueError(f"refusing to extract {archive_name}: member {member.name!r} {why}")
        member.mode &= 0o755
        if hasattr(os, "getuid"):  # extracted as root, files would get the archive's owners
            member.uid, member.gid, member.uname, member.gname = os.getuid(), os.getgid(), "", ""
        yield member


def extract(archive: Path, dest: Path) -> None:
    """Extract a zip or tar archive into `dest`, refusing members that escape it.

    Uses tarfile's `data` filter where it exists (Python >= 3.10.12, 3.11.4) and
    `_checked_members` on older Pythons, whose `extractall` has no `filter` argument.
    """
    archive_stem(archive.name)  # raises on anything else
    if archive.name.lower().endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            z.extractall(dest)  # zipfile drops absolute paths and '..' itself
        return
    with tarfile.open(archive) as t:
        if hasattr(tarfile, "data_filter"):
            try:
                t.extractall(dest, filter="data")
            except tarfile.FilterError as e:
                raise ValueError(f"refusing to extract {archive.name}: {e}") from e
        else:
            t.extractall(dest, members=_checked_members(t, dest, archive.name))
