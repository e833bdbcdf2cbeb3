"""How much memory this process can still use: `available_memory`.

Reads Linux's `MemAvailable` and the memory limit of the process's cgroup (a
container's limit, such as Binder's 2 GB), v1 or v2. Used by 09_modern_cnn.ipynb
to choose how a training step of the book's batch size fits on a small machine.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["available_memory"]

_UNLIMITED = 2**60  # cgroup v1 writes "no limit" as a number close to 2**63


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max" (cgroup v2: no limit) -> None


def _stat(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == key:
                return int(parts[1])
    except (OSError, ValueError):
        pass
    return 0


def _cgroup_room(base: Path, cgroup_dir: Path, limit: str, usage: str, inactive: str) -> int | None:
    """Smallest (limit - working set) from cgroup_dir up to the hierarchy's root `base`."""
    room = None
    for d in (cgroup_dir, *cgroup_dir.parents):
        if not d.is_relative_to(base):
            break
        cap = _read_int(d / limit)
        if cap is not None and cap < _UNLIMITED:
            used = _read_int(d / usage) or 0
            # page cache that is not in active use can be reclaimed (as Kubernetes counts it)
            used -= min(used, _stat(d / "memory.stat", inactive))
            room = cap - used if room is None else min(room, cap - used)
    return room


def available_memory(
    proc: str | Path = "/proc", cgroup_root: str | Path = "/sys/fs/cgroup"
) -> int | None:
    """Bytes this process can still allocate, or None where it cannot be read (not Linux).

    The smaller of the system's `MemAvailable` and the room left under the
    memory limit of the process's cgroup (a container's limit, e.g. Binder's 2 GB),
    cgroup v1 or v2.
    """
    proc, cgroup_root = Path(proc), Path(cgroup_root)
    free = _stat(proc / "meminfo", "MemAvailable:") * 1024 or None
    try:
        lines = (proc / "self" / "cgroup").read_text().splitlines()
    except OSError:
        lines = []
    rooms = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        rel = path.lstrip("/")
        if controllers == "":  # cgroup v2
            base = cgroup_root / "unified" if (cgroup_root / "unified").is_dir() else cgroup_root
            room = _cgroup_room(base, base / rel, "memory.max", "memory.current", "inactive_file")
        elif "memory" in controllers.split(","):  # cgroup v1
            base = cgroup_root / "memory"
            room = _cgroup_room(
                base,
                base / rel,
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
                "total_inactive_file",
            )
        else:
            continue
        if room is not None:
            rooms.append(room)
    values = [v for v in (free, *rooms) if v is not None]
    return max(0, min(values)) if values else None
