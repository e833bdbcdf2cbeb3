"""The grader's and the site's notebook runner: polls that cannot sleep past a waiting message."""

from __future__ import annotations

import asyncio
from queue import Empty

import nbformat
import pytest

from d2lhelpers.checks.client import PollingNotebookClient, sliced


class MissedWakeUp:
    """A channel whose message is in the socket after `arrives` polls, but a poll that
    started before it arrived sleeps out its whole timeout (the missed ZeroMQ edge)."""

    def __init__(self, arrives: int):
        self.arrives, self.timeouts = arrives, []

    async def get_msg(self, timeout=None):
        self.timeouts.append(timeout)
        if len(self.timeouts) > self.arrives:
            return {"msg_type": "execute_reply"}
        await asyncio.sleep(0)  # the poll that misses the message returns Empty at its end
        raise Empty


def test_a_missed_wake_up_costs_one_slice_not_the_cell_limit():
    channel = MissedWakeUp(arrives=1)
    msg = asyncio.run(sliced(channel.get_msg, slice_s=1.0)(timeout=300))
    assert msg == {"msg_type": "execute_reply"}
    # nbclient's single poll would have been asked to wait all 300 s for it
    assert len(channel.timeouts) == 2 and max(channel.timeouts) <= 1.0


def test_no_message_within_the_timeout_raises_empty_as_the_channel_does():
    asked = []

    async def never(timeout=None):  # waits out each poll, as a socket with nothing in it
        asked.append(timeout)
        await asyncio.sleep(timeout)
        raise Empty

    with pytest.raises(Empty):
        asyncio.run(sliced(never, slice_s=0.05)(timeout=0.2))
    assert len(asked) >= 4 and max(asked) <= 0.05


def test_no_timeout_waits_in_slices_until_a_message_comes():
    channel = MissedWakeUp(arrives=5)
    msg = asyncio.run(sliced(channel.get_msg, slice_s=0.5)(timeout=None))
    assert msg["msg_type"] == "execute_reply"
    assert channel.timeouts == [0.5] * 6


def test_the_client_runs_a_widget_notebook_with_its_own_channels_sliced(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("from ipywidgets import interact"),
            nbformat.v4.new_code_cell("interact(lambda x: print(2 * x), x=(0, 10));"),
            nbformat.v4.new_code_cell("print('after the widget')"),
        ]
    )
    polls = []
    client = PollingNotebookClient(
        nb,
        timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
        store_widget_state=True,
        on_cell_executed=lambda **_: polls.append(
            {client.kc.shell_channel.get_msg.__name__, client.kc.iopub_channel.get_msg.__name__}
        ),
    )
    client.execute()
    assert nb.cells[2].outputs[0]["text"] == "after the widget\n"
    assert "10" in str(nb.cells[1].outputs)  # the widget's output at its default, x=5
    assert polls == [{"get_msg_in_slices"}] * 3  # this client's channels, for every cell


def test_the_grader_s_way_in_setup_kernel_then_cells_is_sliced_too(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    client = PollingNotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    with client.setup_kernel():
        assert client.kc.shell_channel.get_msg.__name__ == "get_msg_in_slices"
        assert client.kc.iopub_channel.get_msg.__name__ == "get_msg_in_slices"
        client.execute_cell(nb.cells[0], 0)
    assert nb.cells[0].outputs[0]["text"] == "42\n"
