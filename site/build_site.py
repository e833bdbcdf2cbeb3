"""Build the course website: execute the notebooks (cached), then render them with Sphinx.

    python site/build_site.py            # default mode, what `make site` runs
    python site/build_site.py --quick    # quick mode (D2L_QUICK=1), what CI runs

1. Each chapter notebook (`notebooks/NN_*.ipynb`) is executed in its own kernel, in a
   temporary working folder, in default or quick mode. Executed notebooks are kept in a
   jupyter-cache per mode (`_build/cache/default`, `_build/cache/quick`), keyed by the
   notebook's code cells: a notebook runs again only when its code changed, and every
   notebook when `d2lhelpers` changed (the cache is emptied). Before executing, the
   build says how many notebooks will run and how long that should take.
2. Each executed notebook is prepared for a static page (`prepare_notebook`): each
   `interact` widget becomes the output it showed at its default values with a note that
   it is live on Binder or in JupyterLab; links to repository files that are not chapter
   pages (solutions, README) go to GitHub. The results are the Sphinx sources in
   `_build/site-src`.
3. Sphinx (`site/conf.py`, myst-nb, sphinx-book-theme) writes `_build/site`, warnings
   as errors; `check_site.py` then checks every link, image and stylesheet of the
   pages and that nothing is loaded from outside the site.

The build fails (exit 1) on a notebook that raised, a widget with no recorded state, a
warning of Sphinx and a broken link or image.
"""

from __future__ import annotations

import argparse
import copy
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from check_site import check_site  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
CHAPTER_NAME = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")
BUILD = ROOT / "_build"
DEFAULT_REPO = "d2lhelpers/d2l-course"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# Measured per-notebook times (seconds) when this build has none of its own yet.
ESTIMATES = HERE / "timings.json"


class BuildError(Exception):
    """The site cannot be built as it is; the message says what to fix."""


class CellTimeout(BuildError):
    """A cell ran past the time limit: slow, or nbclient waiting on a finished widget cell."""


def repo() -> str:
    return os.environ.get("D2L_SITE_REPO") or DEFAULT_REPO


def binder_url(notebook: str) -> str:
    return f"https://mybinder.org/v2/gh/{repo()}/HEAD?urlpath=lab/tree/notebooks/{notebook}"


def chapters() -> list[Path]:
    """The chapter notebooks, in order (solutions/ and other folders are never pages)."""
    return sorted(p for p in NOTEBOOKS.glob("*.ipynb") if CHAPTER_NAME.match(p.name))


def library_hash() -> str:
    """A hash of d2lhelpers' sources: when it changes every notebook runs again."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "d2lhelpers").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def fmt_seconds(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


# ---------------------------------------------------------------------------- execution


@dataclass
class Cache:
    """The executed notebooks of one mode: a jupyter-cache plus the times each run took."""

    folder: Path

    def __post_init__(self) -> None:
        from jupyter_cache import get_cache

        self.folder.mkdir(parents=True, exist_ok=True)
        # One build per cache at a time: a second one would clear or write it under the first.
        self._lock = (self.folder / ".lock").open("w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BuildError(
                f"another make site is using {self.folder}: wait for it to finish"
            ) from None
        self.jc = get_cache(self.folder / "jupyter-cache")
        stamp = self.folder / "d2lhelpers.sha256"
        current = library_hash()
        if stamp.exists() and stamp.read_text().strip() != current:
            print("d2lhelpers changed since the last build: every notebook runs again")
            self.jc.clear_cache()
            self.jc = get_cache(self.folder / "jupyter-cache")
        elif not stamp.exists() and self.jc.list_cache_records():
            self.jc.clear_cache()
            self.jc = get_cache(self.folder / "jupyter-cache")
        stamp.write_text(current + "\n")
        self.times_file = self.folder / "timings.json"
        self.times = json.loads(self.times_file.read_text()) if self.times_file.exists() else {}

    def close(self) -> None:
        """Let the next build use this cache."""
        self._lock.close()

    def lookup(self, nb: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
        """The notebook with the outputs of its cached run (its current markdown), or None."""
        try:
            _, merged = self.jc.merge_match_into_notebook(nb)
        except KeyError:
            return None
        return merged

    def store(
        self,
        name: str,
        source: nbformat.NotebookNode,
        executed: nbformat.NotebookNode,
        seconds: float,
    ) -> nbformat.NotebookNode:
        """Keep the run of `source`; returns the notebook the page shows, as `lookup` will."""
        from jupyter_cache.base import CacheBundleIn

        # jupyter-cache keys a run by its code cells with their metadata: give the run the
        # source's, or the timestamps nbclient adds would make every later lookup miss.
        code = [c for c in source.cells if c.cell_type == "code"]
        ran = [c for c in executed.cells if c.cell_type == "code"]
        for mine, theirs in zip(code, ran, strict=True):
            theirs.metadata = copy.deepcopy(mine.metadata)
        executed.metadata["kernelspec"] = copy.deepcopy(source.metadata.get("kernelspec", {}))
        uri = f"notebooks/{name}"
        for record in self.jc.list_cache_records():
            if record.uri == uri:  # an older version of this notebook
                self.jc.remove_cache(record.pk)
        self.jc.cache_notebook_bundle(CacheBundleIn(executed, uri), overwrite=True)
        self.times[name] = round(seconds, 1)
        tmp = self.times_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.times, indent=1, sort_keys=True) + "\n")
        tmp.replace(self.times_file)
        merged = self.lookup(source)
        if merged is None:
            raise BuildError(f"{name}: the cache does not find the run it has just stored")
        return merged


def estimate(name: str, mode: str, cache: Cache) -> float:
    """Seconds `name` should take: this build's last run, else the measured table."""
    if name in cache.times:
        return float(cache.times[name])
    table = json.loads(ESTIMATES.read_text(encoding="utf-8"))[mode]
    return float(table.get(name, max(table.values())))


def kernel_env(quick: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # live plots need the inline backend
    if quick:
        env["D2L_QUICK"] = "1"
    else:
        env.pop("D2L_QUICK", None)
    return env


def execute(path: Path, quick: bool, cell_timeout: int) -> tuple[nbformat.NotebookNode, float]:
    """Run `path` top to bottom in a fresh kernel; raises BuildError on the first error."""
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    from d2lhelpers.checks.client import PollingNotebookClient  # imports torch: only when run

    nb = nbformat.read(path, as_version=4)
    code_cells = sum(1 for c in nb.cells if c.cell_type == "code")
    progress = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        progress = tqdm(total=code_cells, unit="cell", leave=False, desc=path.stem)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="d2l-site-") as workdir:
        client = PollingNotebookClient(
            nb,
            timeout=cell_timeout,
            kernel_name="python3",
            resources={"metadata": {"path": workdir}},
            store_widget_state=True,
            record_timing=False,
            allow_errors=False,
            on_cell_executed=(lambda **_: progress.update(1)) if progress else None,
        )
        try:
            # a learner who has answered nothing yet: never the progress file of this machine
            env = {**kernel_env(quick), "D2L_PROGRESS_FILE": str(Path(workdir) / "progress.json")}
            client.execute(env=env)
        except CellExecutionError as e:
            raise BuildError(f"{path.name} raised an error:\n{str(e)[-3000:]}") from e
        except CellTimeoutError as e:
            raise CellTimeout(f"{path.name}: {str(e).splitlines()[0]}") from e
        finally:
            if progress is not None:
                progress.close()
    return nb, time.monotonic() - start


def run_notebooks(quick: bool, cell_timeout: int) -> dict[str, nbformat.NotebookNode]:
    """Every chapter notebook with its outputs, from the cache or executed now."""
    mode = "quick" if quick else "default"
    cache = Cache(BUILD / "cache" / mode)
    try:
        return _run_notebooks(cache, mode, quick, cell_timeout)
    finally:
        cache.close()


def _run_notebooks(
    cache: Cache, mode: str, quick: bool, cell_timeout: int
) -> dict[str, nbformat.NotebookNode]:
    executed: dict[str, nbformat.NotebookNode] = {}
    pending: list[Path] = []
    sources = {path.name: nbformat.read(path, as_version=4) for path in chapters()}
    for path in chapters():
        merged = cache.lookup(sources[path.name])
        if merged is None:
            pending.append(path)
        else:
            executed[path.name] = merged
    total = sum(estimate(p.name, mode, cache) for p in pending)
    print(
        f"{len(executed)} of {len(chapters())} notebooks cached ({mode} mode); "
        + (
            f"{len(pending)} to execute: about {fmt_seconds(total)} on 2 idle cores, more on a busy"
            " machine" + ("" if quick else "; the cache keeps each run for the next builds")
            if pending
            else "nothing to execute"
        ),
        flush=True,
    )
    failures = []
    left = total
    for i, path in enumerate(pending, 1):
        expected = estimate(path.name, mode, cache)
        print(
            f"[{i}/{len(pending)}] {path.name}: executing (about {fmt_seconds(expected)})",
            flush=True,
        )
        source = sources[path.name]
        try:
            try:
                nb, seconds = execute(path, quick, cell_timeout)
            except CellTimeout as e:
                # a stall that the 1-s polls of PollingNotebookClient do not end
                # (jupyter/nbclient#312) would not come back on a second run
                print(f"[{i}/{len(pending)}] {e}; running it once more", flush=True)
                nb, seconds = execute(path, quick, cell_timeout)
        except BuildError as e:
            failures.append(str(e))
            print(f"[{i}/{len(pending)}] {path.name}: FAILED", flush=True)
            continue
        executed[path.name] = cache.store(path.name, source, nb, seconds)
        left -= expected
        rest = f"; about {fmt_seconds(left)} left" if i < len(pending) else ""
        print(f"[{i}/{len(pending)}] {path.name}: done in {fmt_seconds(seconds)}{rest}", flush=True)
    if failures:
        raise BuildError("\n\n".join(failures))
    return executed


# ---------------------------------------------------------------------------- preparation


def _controls_and_outputs(model_id: str, state: dict, controls: list[str], outputs: list) -> bool:
    """Collect the controls' values and the captured outputs under a widget; False if unknown."""
    model = state.get(model_id)
    if model is None:
        return False
    values = model.get("state", {})
    if model.get("model_name") == "OutputModel":
        outputs.extend(values.get("outputs", []))
    description = values.get("description")
    if description and "value" in values:
        controls.append(f"{description} = {values['value']}")
    elif description and isinstance(values.get("index"), int) and values.get("_options_labels"):
        controls.append(f"{description} = {values['_options_labels'][values['index']]}")
    for child in values.get("children", []):
        if not _controls_and_outputs(child.removeprefix("IPY_MODEL_"), state, controls, outputs):
            return False
    return True


def widget_note(controls: list[str], binder: str) -> nbformat.NotebookNode:
    """The output that stands for a widget: its default values, and where it is live."""
    values = "；".join(controls)
    at = f"（{values}）" if values else ""
    html = (
        '<p class="d2l-widget-note">交互控件：这里是默认值'
        f'{at}时的输出；在 <a href="{binder}">Binder</a> 或 JupyterLab 中运行本章即可调节。'
        " Interactive widget, shown at its default values: it is live on Binder or in JupyterLab.</p>"
    )
    text = f"[interactive widget at its default values{': ' + values if values else ''}]"
    return nbformat.v4.new_output(
        "display_data", data={"text/html": html, "text/plain": text}, metadata={}
    )


def static_widgets(nb: nbformat.NotebookNode, binder: str) -> list[str]:
    """Replace each widget view by a note and the outputs it captured; returns problems."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                outputs.append(output)
                continue
            controls: list[str] = []
            captured: list = []
            if not _controls_and_outputs(view.get("model_id", ""), state, controls, captured):
                problems.append(
                    f"cell {index}: a widget whose state was not recorded cannot be shown "
                    f"statically ({output.get('data', {}).get('text/plain', '')[:80]!r})"
                )
            outputs.append(widget_note(controls, binder))
            outputs.extend(nbformat.from_dict(o) for o in captured)
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return problems


MARKDOWN_LINK = re.compile(r"(?<!!)(\[[^\]]*\]\()([^)\s]+)(\))")


def repository_links(source: str) -> str:
    """Links to repository files that are not in notebooks/ (solutions, README) go to GitHub."""

    def rewrite(match: re.Match) -> str:
        target = match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#", target, re.I):
            return match.group(0)  # a URL, mailto: or an anchor on the page
        path, _, anchor = target.partition("#")
        resolved = (NOTEBOOKS / path).resolve()
        if NOTEBOOKS.resolve() in resolved.parents and resolved.exists():
            return match.group(0)  # a chapter page or a file beside the notebooks
        try:
            in_repo = resolved.relative_to(ROOT).as_posix()
        except ValueError:
            return match.group(0)  # outside the repository: Sphinx will say it is broken
        url = f"https://github.com/{repo()}/blob/HEAD/{in_repo}" + (f"#{anchor}" if anchor else "")
        return f"{match.group(1)}{url}{match.group(3)}"

    return MARKDOWN_LINK.sub(rewrite, source)


def prepare_notebook(nb: nbformat.NotebookNode, name: str) -> tuple[nbformat.NotebookNode, list]:
    """The executed notebook as its page shows it; returns it and its problems."""
    problems = static_widgets(nb, binder_url(name))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = repository_links(cell.source)
    return nb, problems


def chapter_title(nb: nbformat.NotebookNode, name: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise BuildError(f"{name} has no `# ` title in a markdown cell")


def chapter_table(executed: dict[str, nbformat.NotebookNode]) -> str:
    rows = [
        "| # | 章节 Chapter | 运行 Run | notebook |",
        "|---|---|---|---|",
    ]
    for name, nb in executed.items():
        title = chapter_title(nb, name).replace("|", "\\|")
        rows.append(
            f"| {name[:2]} | [{title}](notebooks/{name}) "
            f"| [Binder]({binder_url(name)}) "
            f'| <a href="notebooks/{name}" download="{name}">{name}</a> |'
        )
    return "\n".join(rows) + "\n"


def write_if_changed(path: Path, text: str) -> None:
    """Sphinx rereads only sources whose time changed: leave unchanged ones alone."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def assemble(executed: dict[str, nbformat.NotebookNode], src: Path) -> None:
    """The Sphinx sources: index.md, the chapter table and the prepared notebooks."""
    problems = []
    keep = {src / "index.md", src / "_chapters.md"}
    for name, nb in executed.items():
        nb, found = prepare_notebook(nb, name)
        problems += [f"{name}: {p}" for p in found]
        target = src / "notebooks" / name
        write_if_changed(target, nbformat.writes(nb))
        keep.add(target)
    if problems:
        raise BuildError("\n".join(problems))
    # files beside the notebooks (images a markdown cell shows), never solutions or checkpoints
    for path in NOTEBOOKS.rglob("*"):
        rel = path.relative_to(NOTEBOOKS)
        if path.is_file() and path.suffix != ".ipynb" and ".ipynb_checkpoints" not in rel.parts:
            target = src / "notebooks" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists() or target.read_bytes() != path.read_bytes():
                shutil.copy2(path, target)
            keep.add(target)
    index = (HERE / "index.md").read_text(encoding="utf-8").replace("@REPO@", repo())
    index = index.replace("@REPO_NAME@", repo().split("/")[-1])
    write_if_changed(src / "index.md", index)
    write_if_changed(src / "_chapters.md", chapter_table(executed))
    for path in sorted(src.rglob("*"), reverse=True):  # notebooks renamed or removed
        if path.is_file() and path not in keep:
            path.unlink()


def sphinx(src: Path, out: Path, quick: bool) -> None:
    env = {**os.environ, "D2L_SITE_REPO": repo(), "D2L_SITE_MODE": "quick" if quick else "default"}
    mode = "quick" if quick else "default"
    # The output folder holds one mode at a time: after the other mode, write every page.
    marker = out / ".d2l-mode"
    write_all = ["-a"] if not marker.exists() or marker.read_text().strip() != mode else []
    command = [
        sys.executable, "-m", "sphinx", "-b", "html", "-c", str(HERE),
        "-d", str(BUILD / f"site-doctrees-{mode}"), "-W", "--keep-going", "-q", *write_all,
        str(src), str(out),
    ]  # fmt: skip
    result = subprocess.run(command, env=env, cwd=ROOT)
    if result.returncode != 0:
        raise BuildError("Sphinx reported the warnings or errors above (warnings fail the build)")
    marker.write_text(mode + "\n")


def folder_size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="execute in quick mode (D2L_QUICK=1)")
    parser.add_argument("--out", type=Path, default=BUILD / "site", help="output folder")
    parser.add_argument(
        "--cell-timeout",
        type=int,
        help="seconds one cell may run (default: 600 in quick mode, as make test-notebooks; 3600)",
    )
    args = parser.parse_args(argv)
    if args.cell_timeout is None:
        args.cell_timeout = 600 if args.quick else 3600
    start = time.monotonic()
    mode = "quick" if args.quick else "default"
    try:
        executed = run_notebooks(args.quick, args.cell_timeout)
        src = BUILD / f"site-src-{mode}"
        assemble(executed, src)
        print("Sphinx: writing the pages", flush=True)
        sphinx(src, args.out, args.quick)
        problems = check_site(args.out)
        if problems:
            raise BuildError(
                f"{len(problems)} problem(s) in the built pages:\n" + "\n".join(problems[:50])
            )
    except BuildError as e:
        print(f"\nmake site failed: {e}", file=sys.stderr)
        return 1
    size, count = folder_size(args.out)
    print(
        f"site built in {fmt_seconds(time.monotonic() - start)} ({mode} mode): "
        f"{args.out.relative_to(ROOT) if ROOT in args.out.resolve().parents else args.out}/index.html, "
        f"{count} files, {size / 2**20:.1f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
