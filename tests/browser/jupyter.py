"""Start JupyterLab on a loopback port and drive one notebook in headless Chromium.

`start_jupyter` serves a temporary folder (copies of the notebooks, so nothing is
written into the repository) from the project's environment, in quick mode.
`run_notebook` opens a notebook in JupyterLab or Notebook 7, clicks Run > Run All
Cells, waits for the kernel, records every image a training cell shows while it
runs, moves each widget as a person would, and returns what the page showed.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from .checks import Cell, Output, is_training_cell, is_widget_cell

ROOT = Path(__file__).resolve().parents[2]
# The interfaces and the URL that opens a notebook in each (`reset`: not the tabs of the last test).
UIS = {"lab": "lab/tree/{path}?reset&", "notebook7": "notebooks/{path}?"}
_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_MAC_CHROME = "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"


def find_chromium() -> str | None:
    """`$D2L_CHROMIUM`, else Chromium or Chrome on PATH (Debian: `apt-get install chromium`)."""
    if chosen := os.environ.get("D2L_CHROMIUM"):
        return chosen if Path(chosen).is_file() else None
    for name in _CHROMIUM_NAMES:
        if path := shutil.which(name):
            return path
    return _MAC_CHROME if Path(_MAC_CHROME).exists() else None


def is_loopback(url: str) -> bool:
    """True for URLs the page may load: 127.0.0.1 and in-page data."""
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname == "127.0.0.1"


@dataclass
class Server:
    """A running JupyterLab: its base URL, token, served folder and process."""

    base: str
    token: str
    root: Path
    proc: subprocess.Popen
    log: Path
    marker: str  # the value of MARKER in the environment of every process the server starts

    def url(self, ui: str, path: str) -> str:
        return f"{self.base}/{UIS[ui].format(path=path)}token={self.token}"

    def shutdown_kernels(self) -> None:
        """Shut down every kernel, as the page would, even when the page failed half-way."""
        api = f"{self.base}/api/kernels?token={self.token}"
        with urllib.request.urlopen(api, timeout=30) as r:
            kernels = json.load(r)
        for kernel in kernels:
            url = f"{self.base}/api/kernels/{kernel['id']}?token={self.token}"
            urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30).close()

    def processes(self) -> list[psutil.Process]:
        """The server and every process it started, kernels included (see `server_processes`)."""
        return server_processes(self.proc.pid, self.marker)

    def stop(self) -> list[int]:
        """Stop the server, its kernels and whatever they started; the pids still alive after."""
        return stop_server(self.proc, self.marker)


# Every process the server starts inherits its environment: this variable, with a value of its
# own per server, finds them all at teardown, kernels and their children included.
MARKER = "D2L_TEST_JUPYTER"


def server_processes(pid: int, marker: str) -> list[psutil.Process]:
    """The process `pid`, its descendants, and every process whose environment holds `marker`.

    Kernels do not stay in the server's process group (jupyter_client starts each in a session
    of its own) and a background command of a notebook (`!sleep 600 &`) outlives its parent
    shell, so the environment is what ties them to the server.
    """
    found: dict[int, psutil.Process] = {}
    try:
        server = psutil.Process(pid)
        found = {p.pid: p for p in [server, *server.children(recursive=True)]}
    except psutil.NoSuchProcess:
        pass
    for p in psutil.process_iter():
        if p.pid in found or p.pid == os.getpid():
            continue
        try:
            if p.environ().get(MARKER) == marker:
                found[p.pid] = p
        except (psutil.Error, OSError):  # gone, a zombie, or another user's process
            continue
    return list(found.values())


def stop_server(proc: subprocess.Popen, marker: str, timeout: float = 20) -> list[int]:
    """SIGTERM the server's process group (its kernels shut down cleanly), then SIGKILL whatever
    of it is still alive; returns the pids that survived even that (none expected)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # start_jupyter made the server a group leader
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    left = server_processes(proc.pid, marker)
    for p in left:
        try:
            p.kill()
        except psutil.Error:
            pass
    proc.poll()  # reap the server itself
    _, alive = psutil.wait_procs(left, timeout=10)
    return [p.pid for p in alive]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_jupyter(workdir: Path, env: dict[str, str], timeout: float = 120) -> Server:
    """JupyterLab from this environment, serving `workdir/root`, with its own settings and runtime."""
    root = workdir / "root"
    root.mkdir(parents=True, exist_ok=True)
    # No "official Jupyter news?" toast over the page and no update check: only 127.0.0.1 is reached.
    settings = workdir / "settings"
    notification = (
        settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    )
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"checkForUpdates": False, "fetchNews": "false"}))
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
        "JUPYTER_DATA_DIR": str(workdir / "data"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(workdir / "workspaces"),
        **env,
    }
    port, token, marker = _free_port(), secrets.token_hex(16), secrets.token_hex(8)
    env[MARKER] = marker
    log = workdir / "jupyter.log"
    command = [
        str(Path(sys.executable).with_name("jupyter")), "lab", "--config=jupyter_server_config.py",
        "--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        # window.jupyterapp: the driver reads kernel state and cell models from the page
        "--LabApp.expose_app_in_browser=True", "--JupyterNotebookApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url=None",
        "--LabApp.extension_manager=readonly",
        *(["--allow-root"] if os.geteuid() == 0 else []),
    ]  # fmt: skip
    with log.open("wb") as out:
        # A session of its own: the terminal's Ctrl-C goes to pytest, whose teardown stops it all.
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(f"http://127.0.0.1:{port}", token, root, proc, log, marker)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{server.base}/api/status?token={token}", timeout=5):
                return server
        except OSError:
            time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"JupyterLab did not start: {log.read_text(errors='replace')[-2000:]}")


# ---------------------------------------------------------------- in the page (JavaScript)

_READY = """(n) => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  return !!(w && w.context && w.context.isReady && w.content && w.content.widgets.length === n
    && w.sessionContext.session && w.sessionContext.session.kernel
    && w.sessionContext.session.kernel.status === 'idle');
}"""

_STATE = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  const code = w.content.widgets.filter(c => c.model.type === 'code');
  const prompt = c => (c.node.querySelector('.jp-InputPrompt') || {}).textContent || '';
  return {kernel: kernel ? kernel.status : 'none',
          pending: code.filter(c => prompt(c).includes('*')).length,
          executed: code.filter(c => c.model.executionCount !== null).length};
}"""

# Record, at every change of a training cell's output, the images it shows.
_RECORD = """(indices) => {
  const cells = window.jupyterapp.shell.currentWidget.content.widgets;
  window.__d2lFrames = {};
  for (const i of indices) {
    const node = cells[i].node, frames = (window.__d2lFrames[i] = []);
    const look = () => {
      const srcs = [...node.querySelectorAll('.jp-Cell-outputArea img')].map(img => img.src);
      const last = frames.length ? frames[frames.length - 1].join('\\n') : null;
      if (srcs.length && srcs.join('\\n') !== last) frames.push(srcs);
    };
    new MutationObserver(look).observe(node, {subtree: true, childList: true, attributes: true,
                                              attributeFilter: ['src']});
  }
}"""

_SNAPSHOT = """() => window.jupyterapp.shell.currentWidget.content.widgets.map((cell, index) => {
  const m = cell.model, snap = {index, type: m.type, source: m.sharedModel.getSource(),
                                execution_count: null, errors: [], outputs: []};
  if (m.type !== 'code') return snap;
  snap.execution_count = m.executionCount;
  for (let i = 0; i < m.outputs.length; i++) {
    const o = m.outputs.get(i).toJSON();
    if (o.output_type === 'error') snap.errors.push(`${o.ename}: ${o.evalue}`);
  }
  const area = cell.node.querySelector('.jp-Cell-outputArea');
  for (const child of area ? area.querySelectorAll(':scope > .jp-OutputArea-child') : []) {
    const out = child.querySelector(':scope > .jp-OutputArea-output');
    const imgs = [...child.querySelectorAll('img')];
    snap.outputs.push({
      mime: out && out.dataset.mimeType || '',
      text: child.textContent,
      images: imgs.map(img => img.src),
      broken_images: imgs.filter(img => img.complete && img.naturalWidth === 0).length,
      widgets: child.querySelectorAll('.jupyter-widgets[class*=" widget-"]').length,
    });
  }
  return snap;
})"""

# What a widget drives: the text and images of its output area(s).
_WIDGET_OUTPUT = """(node) => {
  const areas = [...node.querySelectorAll('.widget-output')];
  const scope = areas.length ? areas : [node.querySelector('.jp-Cell-outputArea')];
  return scope.map(a => a.textContent + [...a.querySelectorAll('img')].map(i => i.src).join('')).join('|');
}"""

_CONTROL_NAME = """(el) => {
  const box = el.closest('.widget-inline-hbox');
  const label = box && box.querySelector('.widget-label');
  return (label && label.textContent.trim()) || el.getAttribute('aria-label') || 'a widget';
}"""

# Controls the driver moves as a person would: slider handles and text boxes.
_CONTROLS = ".jupyter-widgets .noUi-handle, .jupyter-widgets.widget-text input"


# ---------------------------------------------------------------- one notebook


@dataclass
class Run:
    """What one notebook showed in one interface."""

    ui: str
    name: str
    cells: list[Cell] = field(default_factory=list)
    frames: dict[int, list[list[str]]] = field(default_factory=dict)  # training cell -> images seen
    training: list[int] = field(default_factory=list)
    widgets: list[int] = field(default_factory=list)
    after_widgets: list[Cell] = field(default_factory=list)  # widget cells after the changes
    problems: list[str] = field(default_factory=list)  # found while driving (widgets, timeouts)
    blocked: list[str] = field(default_factory=list)  # requests to anything but 127.0.0.1
    page_errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def cell(self, index: int) -> Cell:
        return next(c for c in self.cells if c.index == index)


def run_notebook(
    browser, server: Server, ui: str, notebook: Path, shots: Path, timeout: float = 300
) -> Run:
    """Open a copy of `notebook` in `ui`, Run All, drive its widgets; screenshots go to `shots`."""
    name = notebook.name
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) for c in nb["cells"]]
    code = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]
    run = Run(ui, name)
    run.training = [i for i in code if is_training_cell(sources[i])]
    run.widgets = [i for i in code if is_widget_cell(sources[i])]
    (server.root / ui).mkdir(exist_ok=True)  # a fresh copy per interface: no outputs carried over
    shutil.copy(notebook, server.root / ui / name)
    stem = f"{ui}-{Path(name).stem}"

    context = browser.new_context(viewport={"width": 1280, "height": 1000})

    def guard(route):
        if is_loopback(route.request.url):
            route.continue_()
        else:
            run.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    context.set_default_timeout(60_000)  # a loaded 2-core machine
    page = context.new_page()
    page.on("pageerror", lambda error: run.page_errors.append(str(error)))
    start = time.monotonic()
    try:
        page.goto(server.url(ui, f"{ui}/{name}"))
        page.wait_for_function(_READY, arg=len(nb["cells"]), timeout=120_000, polling=250)
        run.seconds["open"] = time.monotonic() - start
        page.evaluate(_RECORD, run.training)
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        finished = _wait_for_kernel(page, run, time.monotonic() + timeout)
        run.seconds["run all"] = time.monotonic() - start - run.seconds["open"]
        run.cells = _snapshot(page)
        run.frames = {int(k): v for k, v in page.evaluate("() => window.__d2lFrames").items()}
        page.screenshot(path=shots / f"{stem}.png")
        if not finished:
            return run
        for i in run.training:
            _shoot(page, _cell_node(page, i), shots / f"{stem}-cell{i}-training.png")
            _save_frames(run.frames.get(i, []), shots / f"{stem}-cell{i}-training")
        widgets_start = time.monotonic()
        for i in run.widgets:
            if run.cell(i).widgets:
                _drive_widgets(page, run, i, shots / f"{stem}-cell{i}-widget")
        if run.widgets:  # what the widget cells show after being moved
            run.after_widgets = [c for c in _snapshot(page) if c.index in run.widgets]
        run.seconds["widgets"] = time.monotonic() - widgets_start
    finally:
        context.close()
        server.shutdown_kernels()
    run.seconds["total"] = time.monotonic() - start
    return run


def _wait_for_kernel(page, run: Run, deadline: float) -> bool:
    """Until the kernel is idle and no cell waits to run, twice in a row half a second apart."""
    calm = 0
    while calm < 2:
        state = page.evaluate(_STATE)
        if time.monotonic() > deadline:
            run.problems.append(f"Run All did not finish in time: {state}")
            return False
        if state["kernel"] in ("dead", "none"):
            run.problems.append(f"the kernel died during Run All ({state})")
            return False
        started = state["executed"] > 0 or state["pending"] > 0
        calm = calm + 1 if started and state["kernel"] == "idle" and not state["pending"] else 0
        time.sleep(0.5)
    return True


def _snapshot(page) -> list[Cell]:
    cells = []
    for c in page.evaluate(_SNAPSHOT):
        if c.pop("type") == "code":
            outputs = [Output(**o) for o in c.pop("outputs")]
            cells.append(Cell(**c, outputs=outputs))
    return cells


def _cell_node(page, index: int):
    handle = page.evaluate_handle(
        "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].node", index
    )
    return handle.as_element()


def _shoot(page, cell, path: Path) -> None:
    """A screenshot of a cell's outputs, once scrolling has laid out the cells around it."""
    outputs = cell.query_selector(".jp-Cell-outputWrapper")
    if outputs is None or not outputs.is_visible():  # no output (the cell did not run)
        return
    for _ in range(2):  # off-screen cells get their real height only when scrolled to
        outputs.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
    outputs.screenshot(path=path, timeout=30_000)


def _save_frames(frames: list[list[str]], prefix: Path) -> None:
    """The first and the last image a training cell showed, as files beside the screenshots."""
    seen = list(dict.fromkeys(src for frame in frames for src in frame))
    for what, src in (("first", seen[:1]), ("final", seen[-1:])):
        for s in src:
            head, _, data = s.partition(",")
            if head.startswith("data:image/svg+xml") and not head.endswith(";base64"):
                prefix.with_name(f"{prefix.name}-{what}.svg").write_text(urllib.parse.unquote(data))


def _settled_output(page, node, before: str, timeout: float = 60) -> str | None:
    """The widget's output once it differs from `before` and stays so with the kernel idle."""
    deadline, last, calm = time.monotonic() + timeout, None, 0
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = page.evaluate(_WIDGET_OUTPUT, node)
        idle = page.evaluate(_STATE)["kernel"] == "idle"
        calm = calm + 1 if idle and now != before and now == last else 0
        if calm >= 2:
            return now
        last = now
    return None


def _drag(page, handle) -> None:
    """Drag a slider's handle with the mouse (left when it is at the end) until its value changes.

    A person's drag, not the keyboard: in Notebook 7 an arrow key pressed on a focused slider
    moves the focus to the notebook's active cell instead of moving the slider.
    """
    value = handle.get_attribute("aria-valuenow")
    direction = -1 if value == handle.get_attribute("aria-valuemax") else 1
    track = handle.evaluate_handle("(h) => h.closest('.noUi-base')").as_element()
    for fraction in (1 / 20, 1 / 8, 1 / 4):  # a slider with few steps snaps a short drag back
        handle.scroll_into_view_if_needed()
        box, width = handle.bounding_box(), track.bounding_box()["width"]
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + direction * fraction * width, y, steps=5)
        page.mouse.up()
        if handle.get_attribute("aria-valuenow") != value:
            return


def _drive_widgets(page, run: Run, index: int, prefix: Path) -> None:
    """Move each control of a widget cell (mouse on sliders, keyboard in text boxes); its output
    must change."""
    node = _cell_node(page, index)
    _shoot(page, node, prefix.with_name(f"{prefix.name}-before.png"))
    where = run.cell(index).label()
    for control in node.query_selector_all(_CONTROLS):
        name = control.evaluate(_CONTROL_NAME)
        before = page.evaluate(_WIDGET_OUTPUT, node)
        if control.get_attribute("role") == "slider":
            _drag(page, control)
        else:
            control.click()
            page.keyboard.press("End")
            page.keyboard.type("e")
        after = _settled_output(page, node, before)
        if after is None:
            run.problems.append(
                f"{where}: changing {name!r} through the page did not change its output"
            )
            continue
        if "data:image" in before and "data:image" not in after:
            run.problems.append(f"{where}: after changing {name!r} the output has no figure")
    _shoot(page, node, prefix.with_name(f"{prefix.name}-after.png"))
