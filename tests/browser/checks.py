"""What a learner must see in a notebook page, judged from a snapshot of the page.

The browser driver (`jupyter.py`) turns each cell of a rendered notebook into a
`Cell` (what its prompt and outputs show); the functions here return a list of
problems, one readable line each, so that a test reports them all at once and
`test_checks.py` can feed them deliberately broken pages.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

# `print(fig)` or a missing inline backend: the figure's repr instead of its image.
FIGURE_AS_TEXT = re.compile(r"<(?:matplotlib\.figure\.)?Figure size [\d.]+x[\d.]+ with \d+ Axes>")
# A widget's repr instead of the widget: no widget manager in the page.
WIDGET_AS_TEXT = re.compile(
    r"\b(?:interactive|\w*Slider|\w*Box|\w*Text|Dropdown|Checkbox|Button|Output)"
    r"\((?:children|value|description|options|layout|outputs)="
)
# The widget manager failed to render a view (JupyterLab's and classic Notebook's messages).
WIDGET_ERRORS = (
    "Error displaying widget",
    "Loading widget...",
    "A Jupyter widget could not be displayed",
)
# An exception rendered by IPython: the classic header, or the `Cell In[3], line 1` of IPython 8.
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|Cell In\[\d+\], line \d+")
# What the trainers print at the end in quick mode: `(quick mode: 2 of 10 epochs)`.
QUICK_EPOCHS = re.compile(r"quick mode: (\d+) of \d+ epochs")
# A statement that starts a live plot: a trainer (`d2l.train_ch6(...)`, `h = train_ch3(...)`)
# or an Animator, at the top level of a cell (not inside a `def`).
TRAINING_CALL = re.compile(r"^(?:\w+\s*=\s*)?(?:d2l\.)?(?:train_ch\d+|Animator)\(", re.M)
# A statement that builds widgets: `@interact(...)`, `w = interact(f, ...)`, `interactive(...)`.
WIDGET_CALL = re.compile(r"^(?:@interact\b|(?:\w+\s*=\s*)?(?:widgets\.)?interact(?:ive)?\()", re.M)


def is_training_cell(source: str) -> bool:
    """A cell that runs exactly one live plot, so it must show exactly one figure."""
    return len(TRAINING_CALL.findall(source)) == 1


def is_widget_cell(source: str) -> bool:
    """A cell that builds widgets at its top level."""
    return WIDGET_CALL.search(source) is not None


@dataclass
class Output:
    """One rendered output of a cell: its MIME type, visible text, images and widget views."""

    mime: str = ""
    text: str = ""
    images: list[str] = field(default_factory=list)  # img src (data: URIs) or "svg:<svg ...>"
    broken_images: int = 0  # <img> elements the browser could not decode
    widgets: int = 0  # rendered ipywidgets views


@dataclass
class Cell:
    """A code cell as the page shows it after Run All."""

    index: int
    source: str
    execution_count: int | None = None
    errors: list[str] = field(default_factory=list)  # "NameError: ..." from the notebook model
    outputs: list[Output] = field(default_factory=list)

    @property
    def images(self) -> list[str]:
        return [src for out in self.outputs for src in out.images]

    @property
    def text(self) -> str:
        return "\n".join(out.text for out in self.outputs)

    @property
    def widgets(self) -> int:
        return sum(out.widgets for out in self.outputs)

    def label(self) -> str:
        first = next((ln for ln in self.source.splitlines() if ln.strip()), "")
        return f"cell {self.index} ({first.strip()[:60]!r})"


def cell_problems(cell: Cell) -> list[str]:
    """Problems every code cell must be free of after Run All."""
    where = cell.label()
    problems = []
    if cell.execution_count is None:
        problems.append(f"{where} did not run (Run All stopped before it)")
    problems += [f"{where} ended with an error output: {error}" for error in cell.errors]
    text = cell.text
    if not cell.errors and TRACEBACK.search(text):
        problems.append(f"{where} shows a traceback: {_around(text, TRACEBACK)}")
    if FIGURE_AS_TEXT.search(text):
        problems.append(
            f"{where} shows a figure as text, not as an image: {_around(text, FIGURE_AS_TEXT)}"
        )
    if WIDGET_AS_TEXT.search(text):
        problems.append(f"{where} shows a widget as text: {_around(text, WIDGET_AS_TEXT)}")
    for message in WIDGET_ERRORS:
        if message in text:
            problems.append(f"{where} shows {message!r} instead of the widget")
    broken = sum(out.broken_images for out in cell.outputs)
    if broken:
        problems.append(f"{where} has {broken} image(s) the browser could not display")
    return problems


def widget_problems(cell: Cell) -> list[str]:
    """A cell that builds widgets must show at least one rendered widget view."""
    if cell.widgets:
        return []
    return [f"{cell.label()} builds widgets, but the page shows no rendered widget"]


def _around(text: str, pattern: re.Pattern) -> str:
    match = pattern.search(text)
    return repr(text[max(0, match.start() - 10) : match.end() + 40])


# ---------------------------------------------------------------- figures (matplotlib SVG)

_SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class Axes:
    """One matplotlib axes read back from its SVG: data lines in pixels, x ticks, right edge."""

    lines: list[list[tuple[float, float]]]  # vertices of each data line, in pixels
    xticks: list[tuple[float, float]]  # (pixel x, tick value)
    right: float  # pixel x of the axes' right edge

    def to_data(self, px: float) -> float | None:
        """The x value at pixel `px`, from two ticks of a linear axis (None without two ticks)."""
        ticks = sorted(set(self.xticks))
        if len(ticks) < 2 or ticks[0][0] == ticks[-1][0]:
            return None
        (p0, v0), (p1, v1) = ticks[0], ticks[-1]
        return v0 + (px - p0) * (v1 - v0) / (p1 - p0)

    def line_ends(self) -> list[float]:
        """The x value (data units when the ticks allow, else pixels) where each line ends."""
        ends = [max(x for x, _ in line) for line in self.lines if line]
        if self.to_data(0.0) is None:
            return ends
        return [self.to_data(px) for px in ends]

    def x_max(self) -> float:
        """The x-axis' right limit, in the same units as `line_ends`."""
        value = self.to_data(self.right)
        return self.right if value is None else value


def svg_text(src: str) -> str | None:
    """The SVG document behind an image source (data: URI or inline "svg:"), else None."""
    if src.startswith("svg:"):
        return src[4:]
    head, _, data = src.partition(",")
    if not head.startswith("data:image/svg+xml"):
        return None
    if head.endswith(";base64"):
        return base64.b64decode(data).decode("utf-8")
    return urllib.parse.unquote(data)


def read_axes(svg: str) -> list[Axes]:
    """Every axes of a matplotlib SVG, with its data lines and x ticks."""
    root = ET.fromstring(svg, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))
    found = []
    for group in root.iter(f"{_SVG}g"):
        if not re.fullmatch(r"axes_\d+", group.get("id", "")):
            continue
        lines, right = [], 0.0
        for child in group:
            gid = child.get("id", "")
            if re.fullmatch(
                r"line2d_\d+", gid
            ):  # a data line (ticks and grid lines are nested deeper)
                lines += [_vertices(p.get("d", "")) for p in child.iter(f"{_SVG}path")]
            elif re.fullmatch(r"patch_\d+", gid) and not right:  # the axes background
                right = max(
                    (x for p in child.iter(f"{_SVG}path") for x, _ in _vertices(p.get("d", ""))),
                    default=0.0,
                )
        found.append(Axes(lines=lines, xticks=_xticks(group), right=right))
    return found


def _vertices(d: str) -> list[tuple[float, float]]:
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?", d)]
    return list(zip(numbers[::2], numbers[1::2], strict=False))


def _xticks(axes: ET.Element) -> list[tuple[float, float]]:
    ticks = []
    for tick in axes.iter(f"{_SVG}g"):
        if not re.fullmatch(r"xtick_\d+", tick.get("id", "")):
            continue
        marks = [float(u.get("x")) for u in tick.iter(f"{_SVG}use") if u.get("x")]
        labels = [c.text for c in tick.iter() if c.tag is ET.Comment and c.text]
        if not marks or not labels:
            continue
        label = labels[0].strip().replace("\N{MINUS SIGN}", "-").strip("$")
        try:
            ticks.append((marks[0], float(label)))
        except ValueError:  # a log axis' `10^{1}` or a category name: no linear map
            continue
    return ticks


# ---------------------------------------------------------------- live training plots


def training_problems(cell: Cell, frames: list[list[str]]) -> list[str]:
    """A training cell shows one figure that grew while training ran and ends with every epoch.

    `frames` are the image sources the cell's output area showed, recorded by the
    page at each change while the cell ran (consecutive duplicates dropped).
    """
    where = cell.label()
    final = cell.images
    if len(final) != 1:
        return [f"{where} shows {len(final)} figures after training, expected exactly one"]
    problems = []
    most = max((len(frame) for frame in frames), default=0)
    if most > 1:
        problems.append(
            f"{where} showed {most} figures at once while training (a stack, not one figure that updates)"
        )
    seen = list(dict.fromkeys(src for frame in frames for src in frame))
    if len(seen) < 2:
        problems.append(
            f"{where}: the figure never changed while training ran ({len(seen)} image(s) seen)"
        )
    svg = svg_text(final[0])
    if svg is None:  # a PNG: it changed, but its curves cannot be read back
        return problems
    axes = read_axes(svg)
    if not axes or not any(axes[0].lines):
        return [*problems, f"{where}: the final figure has no curves"]
    ends, x_max = axes[0].line_ends(), axes[0].x_max()
    epochs = QUICK_EPOCHS.search(cell.text)
    expected = float(epochs.group(1)) if epochs else x_max
    tolerance = 0.01 * max(abs(x_max), 1.0)
    short = [end for end in ends if end < expected - tolerance]
    if short:
        problems.append(
            f"{where}: the final figure does not show every epoch: its curves end at "
            f"{', '.join(f'{e:.3g}' for e in ends)}, expected {expected:g}"
        )
    if len(seen) >= 2:
        first = svg_text(seen[0])
        first_axes = read_axes(first) if first else []
        first_end = max(first_axes[0].line_ends(), default=float("-inf")) if first_axes else None
        if first_end is not None and first_end >= expected - tolerance:
            problems.append(
                f"{where}: the first figure shown already had every epoch (not drawn live)"
            )
    return problems
