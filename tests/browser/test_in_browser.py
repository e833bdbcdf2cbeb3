"""The notebooks as a learner sees them: JupyterLab and Notebook 7 in headless Chromium.

`make test-browser` (part of `make test`) runs these; a plain `pytest` deselects
them (marker `browser`, see pyproject's addopts). For each notebook below and
each interface: open it, Run > Run All Cells in quick mode, then check that every
code cell ran without an error output, that figures are images and widgets are
widgets, that each training cell shows one figure that changed while training ran
and ends with every epoch, and that moving each widget (mouse on sliders, keyboard
in text boxes) changes its output. Screenshots go to a folder outside the repository,
named in the output.
"""

from __future__ import annotations

import importlib.metadata
import os
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from .checks import cell_problems, training_problems, widget_problems
from .jupyter import ROOT, Run, find_chromium, run_notebook, start_jupyter

# The notebooks driven in the browser, and the interfaces each is opened in; add a chapter here.
# Notebook 7 renders outputs and widgets with JupyterLab's own code, so one notebook with a live
# plot and widgets (08, the quickest) shows that its pages load them.
NOTEBOOKS = {
    "05_linear_networks.ipynb": ["lab"],
    "08_cnn.ipynb": ["lab", "notebook7"],
    "10_rnn.ipynb": ["lab"],
    "11_modern_rnn.ipynb": ["lab"],
    "13_computer_vision.ipynb": ["lab"],
}

# Read at import, before tests/conftest.py clears them for each test: CI's offline data mirror.
_SHARED_DATA = ROOT.parent / "shared" / "data"
DATA_URL = os.environ.get("D2L_DATA_URL") or (
    _SHARED_DATA.resolve().as_uri() if _SHARED_DATA.is_dir() else None
)


def _notebook7_missing() -> str | None:
    """Why Notebook 7 cannot be tested here, or None when it can."""
    try:
        version = importlib.metadata.version("notebook")
    except importlib.metadata.PackageNotFoundError:
        return "Notebook 7 not tested: the `notebook` package is not installed (pip install 'notebook>=7')"
    if int(version.split(".")[0]) < 7:
        return f"Notebook 7 not tested: notebook {version} is installed, the classic interface before 7"
    return None


@pytest.fixture(scope="session")
def shots() -> Path:
    """Screenshots of what the browser showed: `$D2L_SCREENSHOTS`, else a new temporary folder."""
    folder = os.environ.get("D2L_SCREENSHOTS") or Path(
        tempfile.gettempdir()
    ) / "d2l-browser" / time.strftime("%Y%m%d-%H%M%S")
    folder = Path(folder).resolve()
    assert ROOT not in folder.parents, (
        f"screenshots must go outside the repository, not to {folder}"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser():
    chromium = find_chromium()
    if chromium is None:
        message = (
            "no Chromium found: apt-get install chromium (or set D2L_CHROMIUM to a Chrome binary)"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the browser test")
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as p:
        # Only 127.0.0.1 resolves; the page's requests elsewhere are also refused in jupyter.py.
        chrome = p.chromium.launch(
            executable_path=chromium,
            args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        yield chrome
        chrome.close()


@pytest.fixture(scope="session")
def jupyter(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("jupyter")
    env = {"D2L_QUICK": "1", "D2L_DATA_DIR": str(workdir / "d2l-data")}
    if DATA_URL:
        env["D2L_DATA_URL"] = DATA_URL
    server = start_jupyter(workdir, env)
    yield server
    survivors = server.stop()  # the server, its kernels and whatever they started
    assert not survivors, f"still running after JupyterLab was stopped: pids {survivors}"


def problems_of(run: Run) -> list[str]:
    """Everything the page showed that a learner should not see."""
    problems = list(run.problems)
    for cell in run.cells:
        problems += cell_problems(cell)
    for index in run.training:
        problems += training_problems(run.cell(index), run.frames.get(index, []))
    for index in run.widgets:
        problems += widget_problems(run.cell(index))
    for cell in run.after_widgets:
        problems += [f"after moving its widgets, {p}" for p in cell_problems(cell)]
    problems += [f"the page tried to load {url} (only 127.0.0.1 is allowed)" for url in run.blocked]
    return problems


CASES = [
    (ui, name)
    for name, uis in NOTEBOOKS.items()
    if (ROOT / "notebooks" / name).exists()  # a chapter still being written is left out
    for ui in uis
]


@pytest.mark.browser
@pytest.mark.parametrize(("ui", "name"), CASES, ids=[f"{u}-{n.split('_')[0]}" for u, n in CASES])
def test_notebook_in_the_browser(ui, name, browser, jupyter, shots, capsys):
    if ui == "notebook7" and (why := _notebook7_missing()):
        pytest.skip(why)
    run = run_notebook(browser, jupyter, ui, ROOT / "notebooks" / name, shots)
    assert run.training or run.widgets, f"{name}: no training or widget cell found to check"
    problems = problems_of(run)
    times = ", ".join(f"{k} {v:.0f} s" for k, v in run.seconds.items())
    with capsys.disabled():
        print(
            f"\n  {ui} {name}: {times}; training cells {run.training}, widget cells "
            f"{run.widgets}, {len(problems)} problem(s); load {os.getloadavg()[0]:.1f}; "
            f"screenshots in {shots}"
        )
    details = "\n".join(problems[:20]) + (
        f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
    )
    if problems and run.page_errors:
        details += "\nerrors in the page's console:\n" + "\n".join(run.page_errors[:5])
    assert not problems, f"{ui} {name}:\n{details}"


# A notebook with one of each failure learners report, and what the checks must say about it.
BROKEN = [
    ("import time\nimport matplotlib.pyplot as plt\nfrom IPython.display import display\nfrom ipywidgets import IntSlider", None),
    # the figure's repr where its image should be (no image formatter)
    ("fig, ax = plt.subplots(figsize=(3.5, 2.5))\ndisplay(fig, include=['text/plain'])\nplt.close(fig)", "shows a figure as text"),
    # a widget's repr where the widget should be (no widget manager in the page)
    ("display(IntSlider(value=3), include=['text/plain'])", "shows a widget as text"),
    # a widget view whose model the page does not have
    ("display({'application/vnd.jupyter.widget-view+json': {'model_id': 'f' * 32, 'version_major': 2, 'version_minor': 0}}, raw=True)", "instead of the widget"),
    # the book's Animator outside classic Notebook: a new figure at every update
    ("class Animator:\n    def add(self, epoch):\n        fig, ax = plt.subplots(figsize=(3.5, 2.5))\n        ax.plot(range(epoch + 2))\n"
     "        display(fig)\n        plt.close(fig)\n\n\nanimator = Animator()\nfor epoch in range(2):\n    animator.add(epoch)\n    time.sleep(0.5)",
     "shows 2 figures after training, expected exactly one"),
    ("1 / 0", "ended with an error output: ZeroDivisionError"),
    ("print('never reached')", "did not run"),
]  # fmt: skip


@pytest.mark.browser
def test_the_browser_checks_catch_a_broken_notebook(browser, jupyter, shots, tmp_path):
    """The same driver and checks, on a page that shows each failure: each is reported, nothing else."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source) for source, _ in BROKEN]
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    problems = problems_of(run_notebook(browser, jupyter, "lab", path, shots))
    for _, expected in BROKEN[1:]:
        assert any(expected in p for p in problems), (
            f"not caught: {expected!r}; reported: {problems}"
        )
    assert len(problems) == len(BROKEN) - 1, problems
