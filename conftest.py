"""pytest hooks for notebook runs: missing glyphs in figures and exercise verdicts.

1. A figure that draws a missing glyph fails its cell.

Matplotlib draws an empty box for a character its font lacks (Chinese text with the
default DejaVu Sans, for instance) and only warns: "Glyph 25439 (...) missing from
font(s) DejaVu Sans." (a Python warning), or, for text that mixes in math such as
"重置门 $R_t$", "Font 'default' does not have a glyph for '\\u91cd' [U+91cd],
substituting with a dummy symbol." (a log record). In a notebook both land in the
cell's stderr stream, which nbval collects but never checks. This hook reads the outputs nbval collected
for each cell (`IPyNbCell.test_outputs`) and fails the cell when they contain the
warning, naming the notebook, the cell and the glyphs.

It sits at the repository root so that every `pytest --nbval-lax ...` run under the
repository picks it up (notebooks/, solutions/, any path), and nothing else changes:
other items (the unit tests) are left alone. tests/test_nbval_glyphs.py checks it.

2. Exercise verdicts printed by `d2l.check`: a worked solution (a notebook under
`solutions/`) must pass every check, so a cell printing "✗ 08.3: ..." or "08.3 尚未作答"
fails; a chapter notebook (under `notebooks/`) is committed with every answer left at
None, so a cell printing "✓ 08.3 正确" fails. tests/checks/test_nbval_verdicts.py checks it.
"""

from __future__ import annotations

import re
import unicodedata

import pytest

# matplotlib >= 3.6: "Glyph 25439 (\N{CJK UNIFIED IDEOGRAPH-635F}) missing from font(s) DejaVu Sans."
# older releases: "Glyph 25439 missing from current font."
MISSING_GLYPH = re.compile(
    r"Glyph (?P<code>\d+)(?: \((?P<name>[^)\n]*)\))? missing from "
    r"(?P<fonts>font\(s\) [^\n]*?|current font)\.?[ \t]*(?:\n|$)"
)
# mathtext (a string with $...$ in it), logged by matplotlib.mathtext:
# "Font 'default' does not have a glyph for '\u91cd' [U+91cd], substituting with a dummy symbol."
MISSING_MATHTEXT_GLYPH = re.compile(
    r"Font '(?P<font>[^'\n]*)' does not have a glyph for '[^'\n]*' \[U\+(?P<hex>[0-9a-fA-F]+)\]"
)


def missing_glyphs(outputs: list) -> list[tuple[str, str]]:
    """The `(character, fonts)` pairs of the missing-glyph messages in a cell's outputs.

    `outputs` are nbformat output dicts; stderr streams are searched (where Python's
    warnings and log records go in a kernel). Each character is listed once, in order
    of appearance.
    """
    found: dict[str, str] = {}
    for out in outputs:
        if out.get("output_type") != "stream" or out.get("name") != "stderr":
            continue
        text = out.get("text", "")
        hits = [(m.start(), chr(int(m.group("code"))), m.group("fonts").removeprefix("font(s) "))
                for m in MISSING_GLYPH.finditer(text)]  # fmt: skip
        hits += [(m.start(), chr(int(m.group("hex"), 16)), f"mathtext font '{m.group('font')}'")
                 for m in MISSING_MATHTEXT_GLYPH.finditer(text)]  # fmt: skip
        for _, char, fonts in sorted(hits):
            found.setdefault(char, fonts)
    return list(found.items())


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"{char!r} (U+{ord(char):04X}{', ' + name if name else ''})"


def glyph_failure_message(notebook: str, cell_num: int, glyphs: list[tuple[str, str]]) -> str:
    """The message of a failed cell: notebook, cell number as nbval counts it, glyphs."""
    chars = ", ".join(_describe(c) for c, _ in glyphs[:8])
    more = f" and {len(glyphs) - 8} more" if len(glyphs) > 8 else ""
    fonts = sorted({f for _, f in glyphs})
    return (
        f"missing glyphs in a figure of {notebook}, Cell {cell_num} (code cells counted "
        f"from 0): {chars}{more} missing from font(s) {', '.join(fonts)}, drawn as empty "
        f"boxes. Write the figure's text in English (and math), or give this figure a "
        f"font that has these characters."
    )


# `d2l.check` prints "✓ 08.3 正确", "✗ 08.3: hint" or "08.3 尚未作答..." at a line's start.
VERDICT = re.compile(
    r"^(?:(?P<mark>[✓✗]) (?P<id>\d{2}\.\d+)\b|(?P<todo>\d{2}\.\d+) 尚未作答)", re.M
)


def verdict_problem(notebook: str, outputs: list) -> str | None:
    """Why a cell's printed verdicts do not fit its notebook, or None.

    Under `solutions/` every check passes; under `notebooks/` none is answered yet.
    """
    text = "".join(
        o.get("text", "")
        for o in outputs
        if o.get("output_type") == "stream" and o.get("name") == "stdout"
    )
    parts = notebook.replace("\\", "/").split("/")
    for m in VERDICT.finditer(text):
        if "solutions" in parts and m.group("mark") != "✓":
            which = m.group("id") or m.group("todo")
            return f"the worked solution {notebook} does not pass exercise {which}: {m.group(0)}"
        if "notebooks" in parts and m.group("mark") == "✓":
            return (
                f"{notebook} passes exercise {m.group('id')}: a chapter notebook is committed "
                "with every answer left at None (the answers belong in solutions/)"
            )
    return None


@pytest.hookimpl(trylast=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """After nbval ran a cell (its own `pytest_runtest_call` ran first), check its outputs."""
    outputs = getattr(item, "test_outputs", None)
    cell_num = getattr(item, "cell_num", None)
    if outputs is None or cell_num is None:  # not a notebook cell run by nbval
        return
    notebook = item.nodeid.split("::")[0]
    glyphs = missing_glyphs(outputs)
    message = verdict_problem(notebook, outputs)
    if glyphs:
        message = glyph_failure_message(notebook, cell_num, glyphs)
    if message is None:
        return
    raise_cell_error = getattr(item, "raise_cell_error", None)
    if raise_cell_error is not None:  # nbval's own report: the message and the cell's source
        raise_cell_error(message)
    pytest.fail(message, pytrace=False)
