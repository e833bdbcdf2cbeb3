"""Which exercises this learner has passed: a small JSON file on this machine only.

The file is `$D2L_PROGRESS_FILE` if set, else `progress.json` in the user's data folder
(`~/.local/share/d2lhelpers` on Linux, `~/Library/Application Support/d2lhelpers` on
macOS, `%APPDATA%\\d2lhelpers` on Windows). Deleting it resets the progress. Every
write replaces the file atomically under a lock, so two kernels that pass exercises at
the same moment both keep their passes; a corrupt file is reported, set aside and
started anew. Nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["passed_ids", "progress_file", "record_pass"]

_VERSION = 1


def progress_file() -> Path:
    """Where the progress is kept (see the module docstring)."""
    env = os.environ.get("D2L_PROGRESS_FILE")
    if env:
        return Path(env).expanduser()
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    elif sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "d2lhelpers" / "progress.json"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path.lock` for a read-modify-write (POSIX and Windows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+b") as lock:
        if sys.platform == "win32":
            import msvcrt

            lock.seek(0)
            while True:
                try:
                    msvcrt.locking(lock.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:  # LK_LOCK gives up after 10 s; keep waiting
                    time.sleep(0.1)
            try:
                yield
            finally:
                lock.seek(0)
                msvcrt.locking(lock.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _read(path: Path) -> dict[str, str]:
    """{exercise id: time of the first pass}; a corrupt file is set aside and reported."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
        passed = data["passed"]
        if not isinstance(passed, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in passed.items()
        ):
            raise ValueError("'passed' is not a mapping of ids to times")
        return passed
    except (ValueError, KeyError, TypeError) as error:
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(path, aside)
        print(
            f"练习进度文件已损坏（{type(error).__name__}），已另存为 {aside}，进度从头记录。"
            f" The progress file was corrupt; it was moved to {aside} and progress starts anew."
        )
        return {}


def _write(path: Path, passed: dict[str, str]) -> None:
    """Write atomically: a temporary file in the same folder, flushed, then renamed."""
    text = json.dumps({"version": _VERSION, "passed": passed}, ensure_ascii=False, indent=1)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def record_pass(exercise_id: str) -> None:
    """Remember that `exercise_id` was passed (the first time is kept).

    Progress is a convenience: if the file cannot be written (a read-only home folder),
    one line says so and the check's verdict stands.
    """
    path = progress_file()
    try:
        with _locked(path):
            passed = _read(path)
            if exercise_id not in passed:
                passed[exercise_id] = time.strftime("%Y-%m-%dT%H:%M:%S")
                _write(path, passed)
    except OSError as error:
        print(f"（练习进度未能保存到 {path}：{error}）")


def passed_ids() -> dict[str, str]:
    """The ids passed so far, with the time of the first pass."""
    path = progress_file()
    if not path.exists():
        return {}
    try:
        with _locked(path):
            return _read(path)
    except OSError as error:
        print(f"（无法读取练习进度 {path}：{error}）")
        return {}
