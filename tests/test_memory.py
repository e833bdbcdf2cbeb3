"""System memory: d2lhelpers.memory.available_memory on fake /proc and cgroup trees."""

from d2lhelpers.memory import available_memory

GiB, MiB = 2**30, 2**20


# ---------------------------------------------------------------- available_memory
def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_available_memory_reads_a_cgroup_v1_limit_of_a_parent(tmp_path):
    proc, cg = tmp_path / "proc", tmp_path / "cg"
    _write(proc / "meminfo", "MemTotal:  16000000 kB\nMemAvailable:   8000000 kB\n")
    _write(proc / "self" / "cgroup", "5:cpu:/\n4:memory:/a/b\n0::/\n")
    _write(cg / "memory" / "a" / "b" / "memory.limit_in_bytes", "9223372036854771712\n")  # none
    _write(cg / "memory" / "a" / "memory.limit_in_bytes", f"{2 * GiB}\n")
    _write(cg / "memory" / "a" / "memory.usage_in_bytes", f"{GiB}\n")
    _write(cg / "memory" / "a" / "memory.stat", f"cache 1\ntotal_inactive_file {256 * MiB}\n")
    # 2 GiB - (1 GiB used - 256 MiB reclaimable page cache) = 1.25 GiB, below MemAvailable
    assert available_memory(proc, cg) == 2 * GiB - (GiB - 256 * MiB)


def test_available_memory_reads_cgroup_v2_and_takes_the_smaller_value(tmp_path):
    proc, cg = tmp_path / "proc", tmp_path / "cg"
    _write(proc / "meminfo", f"MemAvailable: {2 * GiB // 1024} kB\n")
    _write(proc / "self" / "cgroup", "0::/user.slice/job\n")
    _write(cg / "user.slice" / "job" / "memory.max", "max\n")
    _write(cg / "user.slice" / "memory.max", f"{4 * GiB}\n")
    _write(cg / "user.slice" / "memory.current", f"{GiB}\n")
    assert available_memory(proc, cg) == 2 * GiB  # MemAvailable < 4 - 1 GiB of the cgroup
    _write(cg / "user.slice" / "memory.current", f"{3 * GiB + 512 * MiB}\n")
    assert available_memory(proc, cg) == 512 * MiB


def test_available_memory_is_none_where_nothing_can_be_read(tmp_path):
    assert available_memory(tmp_path / "no-proc", tmp_path / "no-cgroup") is None
