"""The website build's own logic (site/build_site.py, site/check_site.py) on small made-up input.

The real build executes every notebook and runs Sphinx (`make site QUICK=1`, minutes);
its pages are checked in a browser by tests/browser/test_site.py. These tests plant each
problem the build must catch in a tiny page or notebook and watch it being reported.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"d2l_{name}", ROOT / "site" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    sys.path.insert(0, str(ROOT / "site"))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "site"))
    return module


check_site = _load("check_site").check_site
build = _load("build_site")


# ---------------------------------------------------------------- check_site


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _sound_site(root: Path) -> None:
    _write(
        root / "index.html",
        '<link rel="stylesheet" href="_static/s.css"><script src="_static/a.js"></script>'
        '<a href="notebooks/01_x.html#sec">one</a> <a href="https://mybinder.org/v2/gh/a/b">Binder</a>'
        '<img src="data:image/png;base64,AAAA"> <a href="#top" id="top">top</a>',
    )
    _write(root / "_static/s.css", "@font-face { src: url(fonts/f.woff2); } a { color: red }")
    _write(root / "_static/fonts/f.woff2", "font")
    _write(root / "_static/a.js", "")
    _write(
        root / "notebooks/01_x.html",
        '<section id="sec"><img src="../_images/fig.svg"><a href="01_x.ipynb">download</a></section>',
    )
    _write(root / "_images/fig.svg", "<svg/>")
    _write(root / "notebooks/01_x.ipynb", "{}")


def test_a_sound_site_has_no_problems(tmp_path):
    _sound_site(tmp_path)
    assert check_site(tmp_path) == []


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        (
            "index.html",
            '<a href="notebooks/02_y.html">two</a>',
            "missing file: notebooks/02_y.html",
        ),
        ("index.html", '<a href="notebooks/01_x.html#nowhere">x</a>', "missing anchor"),
        ("index.html", '<img src="_images/gone.png">', "<img src> points at a missing file"),
        ("index.html", '<script src="https://cdn.example.org/x.js"></script>', "loads https://cdn"),
        ("index.html", '<img src="//cdn.example.org/x.png">', "from outside the site"),
        (
            "index.html",
            '<link rel="stylesheet" href="http://x.org/a.css">',
            "from outside the site",
        ),
        ("index.html", '<a href="../../etc/passwd">x</a>', "points outside the site"),
        ("_static/t.css", "a { background: url('https://x.org/b.png') }", "url() loads https"),
        ("_static/t.css", "a { background: url(gone.png) }", "url() points at a missing file"),
        ("notebooks/01_x.html", '<div class="output traceback">Err</div>', "error output"),
    ],
)
def test_each_broken_thing_is_reported(tmp_path, path, text, expected):
    _sound_site(tmp_path)
    target = tmp_path / path
    _write(target, (target.read_text() if target.exists() else "") + text)
    problems = check_site(tmp_path)
    assert len(problems) == 1 and expected in problems[0], problems


def test_a_missing_site_is_reported(tmp_path):
    assert "not built" in check_site(tmp_path)[0]


# ---------------------------------------------------------------- widgets become static outputs


def _widget_notebook(with_state: bool = True) -> nbformat.NotebookNode:
    """What nbclient leaves after `interact(f, n=IntSlider(3))` drew a figure in its Output."""
    figure = nbformat.v4.new_output(
        "display_data", data={"image/svg+xml": "<svg/>", "text/plain": "<Figure>"}
    )
    view = nbformat.v4.new_output(
        "display_data",
        data={
            "application/vnd.jupyter.widget-view+json": {"model_id": "box", "version_major": 2},
            "text/plain": "interactive(children=(IntSlider(value=3),))",
        },
    )
    cell = nbformat.v4.new_code_cell("interact(f, n=IntSlider(3))", outputs=[view])
    nb = nbformat.v4.new_notebook(cells=[cell])
    state = {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_s", "IPY_MODEL_o"]}},
        "s": {"model_name": "IntSliderModel", "state": {"description": "n", "value": 3}},
        "o": {"model_name": "OutputModel", "state": {"outputs": [figure]}},
        "d": {
            "model_name": "DropdownModel",
            "state": {"description": "act", "index": 1, "_options_labels": ["relu", "tanh"]},
        },
    }
    if not with_state:
        del state["o"]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": state}}
    return nb


def test_an_interact_becomes_a_note_and_the_output_it_drew():
    nb = _widget_notebook()
    problems = build.static_widgets(nb, "https://mybinder.org/v2/gh/a/b/HEAD?urlpath=x")
    assert problems == []
    note, figure = nb.cells[0].outputs
    assert "n = 3" in note.data["text/html"] and "mybinder.org" in note.data["text/html"]
    assert "Binder" in note.data["text/html"] and "d2l-widget-note" in note.data["text/html"]
    assert figure.data["image/svg+xml"] == "<svg/>"
    assert "widgets" not in nb.metadata  # no widget manager is loaded for the page


def test_a_dropdown_shows_its_label():
    controls: list[str] = []
    state = _widget_notebook().metadata["widgets"]["application/vnd.jupyter.widget-state+json"]
    assert build._controls_and_outputs("d", state["state"], controls, [])
    assert controls == ["act = tanh"]


def test_a_widget_without_recorded_state_is_a_problem():
    nb = _widget_notebook(with_state=False)
    problems = build.static_widgets(nb, "b")
    assert len(problems) == 1 and "cell 0" in problems[0] and "not recorded" in problems[0]


# ---------------------------------------------------------------- links to repository files


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "[解答](../solutions/08_cnn.ipynb)",
            "[解答](https://github.com/o/r/blob/HEAD/solutions/08_cnn.ipynb)",
        ),
        (
            "[README](../README.md#set-up)",
            "[README](https://github.com/o/r/blob/HEAD/README.md#set-up)",
        ),
        ("[CNN](08_cnn.ipynb#卷积层)", "[CNN](08_cnn.ipynb#卷积层)"),  # a chapter page
        ("[d2l](https://d2l.ai)", "[d2l](https://d2l.ai)"),
        ("[up](#top)", "[up](#top)"),
        ("![fig](../docs/fig.png)", "![fig](../docs/fig.png)"),  # images are left to Sphinx
    ],
)
def test_links_outside_the_chapters_go_to_github(monkeypatch, source, expected):
    monkeypatch.setenv("D2L_SITE_REPO", "o/r")
    assert build.repository_links(source) == expected


def test_the_chapter_table_lists_each_notebook_with_binder_and_download(monkeypatch):
    monkeypatch.setenv("D2L_SITE_REPO", "o/r")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 张量 Tensors\n\ntext")])
    table = build.chapter_table({"01_tensors.ipynb": nb})
    row = table.splitlines()[-1]
    assert "[张量 Tensors](notebooks/01_tensors.ipynb)" in row
    assert "https://mybinder.org/v2/gh/o/r/HEAD?urlpath=lab/tree/notebooks/01_tensors.ipynb" in row
    assert 'href="notebooks/01_tensors.ipynb" download' in row


def test_the_chapter_pages_are_the_numbered_notebooks_only():
    names = [p.name for p in build.chapters()]
    assert names and all(n[:2].isdigit() for n in names)
    assert names == sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


# ---------------------------------------------------------------- the execution cache


def _executed(source: str, markdown: str = "intro") -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    # what nbclient adds to each cell it runs (record_timing), never in the committed notebook
    cell.metadata["execution"] = {"iopub.status.busy": "2026-12-06T20:00:00.000000Z"}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown), cell])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def _blank(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(nb), as_version=4))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)  # as committed: stripped
    return nb


def test_the_cache_reruns_a_notebook_only_when_its_code_or_the_library_changes(
    tmp_path, monkeypatch
):
    pytest.importorskip("jupyter_cache", reason="the site extra is not installed")
    monkeypatch.setattr(build, "library_hash", lambda: "v1")
    cache = build.Cache(tmp_path)
    nb = _executed("print(42)")
    assert cache.lookup(_blank(nb)) is None
    merged = cache.store("01_x.ipynb", _blank(nb), nb, 12.0)
    assert merged.cells[1].outputs[0].text == "42\n"  # what the page shows
    # the same code, new prose: the cached outputs with the new prose
    merged = cache.lookup(_blank(_executed("print(42)", markdown="new prose")))
    assert merged is not None and merged.cells[0].source == "new prose"
    assert merged.cells[1].outputs[0].text == "42\n"
    assert cache.lookup(_blank(_executed("print(43)"))) is None  # new code runs again
    cache.close()
    cache = build.Cache(tmp_path)
    assert cache.times == {"01_x.ipynb": 12.0}  # kept for the next estimate
    assert cache.lookup(_blank(nb)) is not None  # the library is unchanged
    cache.close()
    monkeypatch.setattr(build, "library_hash", lambda: "v2")
    cache = build.Cache(tmp_path)
    assert cache.lookup(_blank(nb)) is None  # d2lhelpers changed: all run again
    cache.close()


def test_a_second_build_cannot_use_a_cache_in_use(tmp_path, monkeypatch):
    pytest.importorskip("jupyter_cache", reason="the site extra is not installed")
    monkeypatch.setattr(build, "library_hash", lambda: "v1")
    cache = build.Cache(tmp_path)
    with pytest.raises(build.BuildError, match="another make site is using"):
        build.Cache(tmp_path)
    cache.close()
    build.Cache(tmp_path).close()


def test_a_new_version_of_a_notebook_replaces_the_old_one_in_the_cache(tmp_path, monkeypatch):
    pytest.importorskip("jupyter_cache", reason="the site extra is not installed")
    monkeypatch.setattr(build, "library_hash", lambda: "v1")
    cache = build.Cache(tmp_path)
    for code in ("print(42)", "print(43)"):
        cache.store("01_x.ipynb", _blank(_executed(code)), _executed(code), 1.0)
    assert [r.uri for r in cache.jc.list_cache_records()] == ["notebooks/01_x.ipynb"]
    cache.close()


# ---------------------------------------------------------------- make site


def test_make_site_runs_the_build_in_the_mode_asked(tmp_path):
    quick = subprocess.run(
        ["make", "-n", "site", "QUICK=1"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    default = subprocess.run(
        ["make", "-n", "site"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "site/build_site.py --quick" in quick
    assert "site/build_site.py" in default and "--quick" not in default


def test_the_kernels_run_in_the_mode_asked_with_the_inline_backend(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("D2L_QUICK", "1")
    default = build.kernel_env(quick=False)
    assert "D2L_QUICK" not in default and "MPLBACKEND" not in default
    assert build.kernel_env(quick=True)["D2L_QUICK"] == "1"
