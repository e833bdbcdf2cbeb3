"""The browser test's JupyterLab leaves nothing running: its kernels and what they started stop
with it. Needs JupyterLab (the dev extra), not Chromium, so it runs with the unit tests."""

from __future__ import annotations

import json
import os
import queue
import time
import urllib.request
from pathlib import Path

import psutil
from jupyter_client import BlockingKernelClient

from .jupyter import start_jupyter


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _run_in_kernel(connection_file: Path, code: str) -> str:
    """Execute `code` in the kernel and return what it printed."""
    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    client.start_channels()
    printed: list[str] = []
    try:
        # Ask until the kernel answers: on a loaded machine it starts slowly, and the client's own
        # wait_for_ready takes a missed heartbeat during start-up for a dead kernel.
        deadline = time.monotonic() + 120
        while True:
            msg_id = client.kernel_info()
            try:
                if client.get_shell_msg(timeout=5)["parent_header"].get("msg_id") == msg_id:
                    break
            except queue.Empty:
                assert time.monotonic() < deadline, "the kernel did not answer in 120 s"
        reply = client.execute_interactive(
            code,
            timeout=120,
            output_hook=lambda msg: printed.append(msg["content"].get("text", "")),
        )
    finally:
        client.stop_channels()
    assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(printed)


def test_stopping_the_server_ends_its_kernels_and_their_background_processes(tmp_path):
    server = start_jupyter(tmp_path, {})
    try:
        # its own session, so a Ctrl-C in the terminal reaches pytest only, whose teardown stops it
        assert os.getsid(server.proc.pid) == server.proc.pid != os.getsid(0)
        request = urllib.request.Request(
            f"{server.base}/api/kernels?token={server.token}",
            data=b"{}",
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as r:
            kernel_id = json.load(r)["id"]
        connection_file = tmp_path / "runtime" / f"kernel-{kernel_id}.json"
        # What `!sleep 600 &` in a notebook does: the shell exits at once, the sleep lives on,
        # a child of no process of the server (and so never shut down by the kernel itself).
        printed = _run_in_kernel(
            connection_file,
            "import os, subprocess\n"
            "out = subprocess.run('sleep 600 >/dev/null 2>&1 & echo $!', shell=True,\n"
            "                     capture_output=True, text=True, check=True).stdout\n"
            "print(os.getpid(), out.strip())",
        )
        kernel_pid, background_pid = (int(w) for w in printed.split())
        assert _running(kernel_pid) and _running(background_pid)
        assert {kernel_pid, background_pid} <= {p.pid for p in server.processes()}
    finally:
        survivors = server.stop()
    assert survivors == []
    assert not _running(server.proc.pid), "the server is still running"
    assert not _running(kernel_pid), "the kernel is still running"
    assert not _running(background_pid), "the kernel's background process is still running"
