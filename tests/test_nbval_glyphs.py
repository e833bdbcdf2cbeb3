"""The repository's conftest.py fails a notebook cell whose figure draws a missing glyph.

The parser is checked on the warning matplotlib really emits; the hook is checked end
to end: pytest runs nbval on tiny notebooks in a temporary folder that holds a copy
of the repository's conftest.py, as `make test-notebooks` does under notebooks/.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import nbformat
import pytest
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[1]
CONFTEST = ROOT / "conftest.py"


def _load_conftest():
    # `import conftest` would find tests/conftest.py: load the root one under its own name
    spec = importlib.util.spec_from_file_location("_root_conftest_glyphs", CONFTEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


glyph_hook = _load_conftest()


def _stderr_of_drawing(text: str, fmt: str) -> str:
    """What a kernel prints on stderr when a figure with `text` is rendered.

    Python warnings (plain text) and matplotlib's log records (mathtext) both go there.
    """
    fig = Figure(figsize=(2, 1))
    fig.add_subplot().set_title(text, fontfamily="DejaVu Sans")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("matplotlib")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.savefig(io.BytesIO(), format=fmt)
    finally:
        logger.removeHandler(handler)
    shown = [warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in caught]
    return "".join(shown) + stream.getvalue()


@pytest.mark.parametrize("fmt", ["png", "svg"])
@pytest.mark.parametrize(
    ("text", "chars"),
    [("损失 loss", ["损", "失"]), (r"重置门 $\mathbf{R}_t$", ["重", "置", "门"])],
    ids=["text", "mathtext"],
)
def test_parser_reads_the_messages_matplotlib_emits(text, chars, fmt):
    stderr = _stderr_of_drawing(text, fmt)
    assert stderr, f"matplotlib {matplotlib.__version__} did not complain about {text!r}"
    found = glyph_hook.missing_glyphs([{"output_type": "stream", "name": "stderr", "text": stderr}])
    assert [c for c, _ in found] == chars, stderr
    # English and math draw no empty boxes: nothing found, whatever else an old matplotlib
    # prints on stderr (3.7 with a newer pyparsing warns that its own calls are deprecated)
    clean = _stderr_of_drawing("loss $\\eta^2$", fmt)
    assert (
        glyph_hook.missing_glyphs([{"output_type": "stream", "name": "stderr", "text": clean}])
        == []
    )
    assert "Glyph" not in clean and "does not have a glyph" not in clean, clean


def test_parser_reads_both_formats_and_only_stderr():
    new = "x.py:1: UserWarning: Glyph 20013 (\\N{CJK UNIFIED IDEOGRAPH-4E2D}) missing from font(s) DejaVu Sans.\n  f()\n"
    old = "x.py:1: UserWarning: Glyph 25991 missing from current font.\n"
    math = "Font 'default' does not have a glyph for '\\u91cd' [U+91cd], substituting with a dummy symbol.\n"
    outs = [
        {"output_type": "stream", "name": "stderr", "text": new + old + new + math},
        {
            "output_type": "stream",
            "name": "stdout",
            "text": "Glyph 22269 missing from current font.\n",
        },
        {"output_type": "display_data", "data": {"text/plain": "中文"}},
    ]
    assert glyph_hook.missing_glyphs(outs) == [
        ("中", "DejaVu Sans"),
        ("文", "current font"),
        ("重", "mathtext font 'default'"),
    ]
    message = glyph_hook.glyph_failure_message("notebooks/11_x.ipynb", 7, [("中", "DejaVu Sans")])
    assert "notebooks/11_x.ipynb, Cell 7" in message
    assert "'中' (U+4E2D, CJK UNIFIED IDEOGRAPH-4E2D)" in message and "DejaVu Sans" in message


SETUP = "import matplotlib.pyplot as plt\nimport d2lhelpers as d2l\nd2l.use_svg_display()"


def _notebook(path: Path, *cells: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def _nbval(cwd: Path, *paths: str) -> subprocess.CompletedProcess:
    """`make test-notebooks`' pytest invocation, on `paths` under `cwd`."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
         "-p", "no:cacheprovider", "-rA", "--color=no", *paths],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_a_cell_whose_figure_draws_chinese_text_fails_and_others_pass(tmp_path):
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    # a notebook under notebooks/ that draws no missing glyph: Chinese printed, not drawn
    _notebook(
        tmp_path / "notebooks" / "01_good.ipynb",
        SETUP,
        "print('损失 loss')\nplt.plot([1, 2])\nplt.title('loss')\nplt.show()",
    )
    # one under solutions/: the same hook covers any path under the repository root
    _notebook(
        tmp_path / "solutions" / "01_bad.ipynb",
        SETUP,
        "x = 1",
        "plt.plot([1, 2])\nplt.xlabel('损失')\nplt.show()",
        "x + 1",
        "plt.plot([1, 2])\nplt.title(r'门 $\\sigma$')\nplt.show()",
    )
    run = _nbval(tmp_path, "notebooks", "solutions")
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    for cell in range(2):
        assert f"PASSED notebooks/01_good.ipynb::Cell {cell}" in out, out
    for cell in (0, 1, 3):
        assert f"PASSED solutions/01_bad.ipynb::Cell {cell}" in out, out
    assert "FAILED solutions/01_bad.ipynb::Cell 2" in out, out
    assert "missing glyphs in a figure of solutions/01_bad.ipynb, Cell 2" in out
    assert "'损' (U+635F, CJK UNIFIED IDEOGRAPH-635F)" in out and "'失' (U+5931" in out
    assert "FAILED solutions/01_bad.ipynb::Cell 4" in out, out  # text mixed with math
    assert "missing glyphs in a figure of solutions/01_bad.ipynb, Cell 4" in out
    assert "'门' (U+95E8" in out
    assert "2 failed, 5 passed" in out


def test_without_the_hook_the_same_notebook_passes(tmp_path):
    """The control: nbval alone lets the empty boxes through; the hook is what fails it."""
    _notebook(tmp_path / "bad.ipynb", SETUP, "plt.plot([1, 2])\nplt.xlabel('损失')\nplt.show()")
    run = _nbval(tmp_path, "bad.ipynb")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
