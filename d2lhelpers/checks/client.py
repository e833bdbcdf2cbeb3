"""The notebook runner of `make grade` and `make site`: nbclient, waking up every second.

nbclient waits for a cell's reply with one long poll on the kernel's shell socket (the
cell's whole time limit) and for its outputs with an endless poll on the iopub socket.
ZeroMQ signals a socket's file descriptor on edges only, so a wake-up can be missed: the
reply sits in the socket while the poll sleeps on, and the kernel, idle, waits too. This
is jupyter/nbclient#312 (open); `make grade` saw it as one notebook in 30 held to the
300-s cell limit with an idle kernel, `make site` as a widget cell that never ended.

Every new poll asks the socket for what it holds before it sleeps (pyzmq reads
ZMQ_EVENTS first), so waiting in slices of at most a second bounds a missed wake-up by
that second. The total time limit, and its error, are nbclient's as before.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from queue import Empty
from typing import Any

from nbclient import NotebookClient
from nbclient.util import run_sync

__all__ = ["PollingNotebookClient", "sliced"]

SLICE_S = 1.0


def sliced(
    get_msg: Callable[..., Awaitable[dict[str, Any]]], slice_s: float = SLICE_S
) -> Callable[..., Awaitable[dict[str, Any]]]:
    """`get_msg(timeout)` as a series of polls of at most `slice_s` seconds each.

    It returns the first message, or raises `queue.Empty` once `timeout` seconds have
    passed with none (never, for `timeout=None`), as the channel's own `get_msg` does.
    """

    async def get_msg_in_slices(timeout: float | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = slice_s if deadline is None else deadline - time.monotonic()
            try:
                return await get_msg(timeout=max(0.0, min(slice_s, left)))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get_msg_in_slices


class PollingNotebookClient(NotebookClient):
    """An `nbclient.NotebookClient` whose kernel client polls its sockets in 1-s slices."""

    async def async_start_new_kernel_client(self):  # type: ignore[no-untyped-def]
        kc = await super().async_start_new_kernel_client()
        for channel in (kc.shell_channel, kc.iopub_channel):
            channel.get_msg = sliced(channel.get_msg)  # this client's own channels only
        return kc

    # nbclient binds the synchronous twin to its own coroutine: `setup_kernel()` (the
    # grader's way in) would bypass the override above without this line
    start_new_kernel_client = run_sync(async_start_new_kernel_client)
