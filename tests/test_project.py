"""Repository-level checks: packaging, Binder, set-up, stripped notebooks, JupyterLab, import hygiene."""

from __future__ import annotations

import importlib.metadata
import inspect
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
import yaml
from browser.jupyter import MARKER, stop_server  # tests/browser: the browser test's server

import d2lhelpers

if sys.version_info >= (3, 11):
    import tomllib
else:  # the dev extra installs tomli on Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names of PyPI packages where they differ
CONDA_NAME = {"torch": "pytorch"}


def _name(spec: str) -> str:
    return re.split(r"[\[<>=!~ ;]", spec.strip(), maxsplit=1)[0].lower()


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def test_pyproject_declares_lower_bounds_only():
    project = _pyproject()["project"]
    assert project["requires-python"] == ">=3.10"
    specs = project["dependencies"] + [
        s for extra in project["optional-dependencies"].values() for s in extra
    ]
    for spec in specs:
        requirement = spec.split(";", 1)[0]  # an environment marker may compare versions
        assert "==" not in requirement and "<" not in requirement and "~=" not in requirement, (
            f"not a lower bound: {spec}"
        )
        assert ">=" in requirement, f"no lower bound: {spec}"


def _conda_specs() -> list[str]:
    return [d for d in _environment()["dependencies"] if isinstance(d, str)]


def test_environment_holds_the_runtime_set_of_pyproject():
    """Binder gets the library's dependencies and JupyterLab, no development tools."""
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    runtime = {_name(s) for s in project["dependencies"] + extras["lab"]}
    conda = {_name(d) for d in _conda_specs()} - {"python", "pip"}
    assert conda == {CONDA_NAME.get(n, n) for n in runtime}
    dev_only = {_name(s) for s in extras["dev"]} - runtime - {"ipykernel"}  # jupyterlab needs it
    assert dev_only, "the dev extra should hold the development tools"
    assert not conda & {CONDA_NAME.get(n, n) for n in dev_only}


def test_environment_is_conda_forge_python_lower_bound_and_installs_the_package():
    env = _environment()
    assert env["channels"] == ["conda-forge"]
    pythons = [d for d in _conda_specs() if _name(d) == "python"]
    # the same lower bound as pyproject, never an exact pin such as python=3.11
    assert pythons == ["python" + _pyproject()["project"]["requires-python"]]
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert pip_sections == [["-e ."]]


def test_binder_pulls_no_cuda_package():
    deps = _conda_specs()
    for dep in deps:
        assert not re.search(r"cuda|cudnn|nvidia|nccl", dep, re.I), dep
    torch_specs = [d for d in deps if _name(d) in ("pytorch", "torchvision")]
    assert len(torch_specs) == 2 and all("build='cpu*'" in d for d in torch_specs)


REPO2DOCKER = shutil.which(
    "jupyter-repo2docker",
    path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
)


def _dockerfile_instructions(text: str) -> list[str]:
    """The instructions of a Dockerfile found in `text`, continuation lines joined."""
    lines = text[text.index("\nFROM ") + 1 :].splitlines()
    instructions: list[str] = []
    continued = False
    for line in lines:
        if continued:
            instructions[-1] += " " + line.strip()
        elif re.match(r"[A-Z]+ ", line):
            instructions.append(line.strip())
        continued = bool(instructions) and line.rstrip().endswith("\\")
    return instructions


@pytest.mark.skipif(REPO2DOCKER is None, reason="jupyter-repo2docker (dev extra) not installed")
def test_repo2docker_uses_environment_yml_after_copying_the_repository(tmp_path):
    """`--no-build --debug` prints the Dockerfile Binder would build (repo2docker's docs)."""
    out = subprocess.run(
        [REPO2DOCKER, "--no-build", "--no-run", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-2000:]
    steps = _dockerfile_instructions(log)
    env_update = [i for i, s in enumerate(steps) if s.startswith("RUN") and "environment.yml" in s]
    assert env_update, "the conda buildpack did not pick environment.yml"
    # `pip: [-e .]` needs the repository in the image before environment.yml is applied
    copy_repo = [i for i, s in enumerate(steps) if s.startswith("COPY") and "${REPO_DIR}" in s]
    assert copy_repo and copy_repo[0] < env_update[0]


def _make(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    if shutil.which("make") is None:
        pytest.fail("`make` is needed for the project's set-up (apt-get install make)")
    # run as a fresh `make`, even under `make test`: no flags or variables from the outer one
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_make_lab_leaves_the_allocator_to_the_learner(tmp_path):
    # MALLOC_MMAP_THRESHOLD_=1048576 made training 2-2.5x slower (benchmarks/bench_malloc.py);
    # a learner short of memory sets it in their shell, and make passes it on
    out = _make("-n", "lab", f"VENV={tmp_path / 'venv'}")
    assert out.returncode == 0, out.stderr
    (command,) = [ln for ln in out.stdout.splitlines() if "jupyter lab" in ln]
    assert "MALLOC_" not in command


def test_make_explains_a_missing_python3_venv_before_creating_anything(tmp_path):
    """A Python as on Debian/Ubuntu without python3-venv: no `ensurepip`, and `-m venv`
    leaves a venv without pip behind and fails."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "ensurepip.py").write_text('raise ImportError("no ensurepip here")\n')
    fake = tmp_path / "python3"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then\n'
        "  shift 2\n"
        f'  "{sys.executable}" -m venv --without-pip "$@"\n'
        '  echo "ensurepip is not available" >&2\n'
        "  exit 1\n"
        "fi\n"
        f'PYTHONPATH="{shadow}" exec "{sys.executable}" "$@"\n'
    )
    fake.chmod(0o755)
    venv = tmp_path / "venv"
    out = _make("install", f"PYTHON={fake}", f"VENV={venv}")
    assert out.returncode != 0
    ours = [ln for ln in (out.stdout + out.stderr).splitlines() if not ln.startswith("make")]
    assert ours == [
        f"{fake} -m venv is not available: sudo apt-get install python3-venv (Debian/Ubuntu), "
        "then run make again"
    ]
    assert not venv.exists()


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_notebooks_exist_and_are_named_by_chapter():
    assert (ROOT / "notebooks" / "01_tensors.ipynb") in NOTEBOOKS
    for path in NOTEBOOKS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), path.name


def _strip_args() -> list[str]:
    """The nbstripout options `make strip` uses (the Makefile's STRIP_ARGS)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^STRIP_ARGS\s*:?=(.*)$", makefile, re.M)
    assert match, "the Makefile defines no STRIP_ARGS"
    return match.group(1).split()


def _unstripped(path: Path) -> str:
    """'' when `path` is stripped as `make strip` would leave it, else nbstripout's report."""
    out = subprocess.run(
        [sys.executable, "-m", "nbstripout", *_strip_args(), "--verify", str(path)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert "No module named nbstripout" not in out.stderr, "pip install -e '.[dev]' (nbstripout)"
    return "" if out.returncode == 0 else (out.stdout + out.stderr).strip() or "not stripped"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_stripped(path):
    problem = _unstripped(path)
    assert not problem, f"{path.name}: run `make strip` ({problem})"
    nb = json.loads(path.read_text(encoding="utf-8"))
    source = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "import d2lhelpers as d2l" in source
    assert "sys.path" not in source


def test_the_stripped_check_refuses_outputs_and_make_strip_removes_them(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1 + 1")
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    assert _unstripped(path) == ""  # a clean notebook passes
    cell.execution_count = 3
    cell.outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=3)
    ]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nbformat.write(nb, path)
    assert _unstripped(path)
    nb.metadata.pop("widgets")
    cell.outputs = []
    nbformat.write(nb, path)
    assert _unstripped(path), "an execution count alone must fail the check"
    # what `make strip` runs, on the copy
    subprocess.run(
        [sys.executable, "-m", "nbstripout", *_strip_args(), str(path)], check=True, timeout=60
    )
    assert _unstripped(path) == ""
    stripped = nbformat.read(path, as_version=4)
    assert [c.id for c in stripped.cells] == [c.id for c in nb.cells]  # ids kept
    assert stripped.cells[1].source == "1 + 1" and stripped.cells[1].execution_count is None


def test_import_has_no_side_effects():
    code = (
        "import random, matplotlib, torch\n"
        "rc = dict(matplotlib.rcParams); state = random.getstate(); seed = torch.initial_seed()\n"
        "import d2lhelpers\n"
        "assert dict(matplotlib.rcParams) == rc, 'rcParams changed'\n"
        "assert random.getstate() == state, 'random seeded'\n"
        "assert torch.initial_seed() == seed, 'torch seeded'\n"
        "assert not torch.cuda.is_initialized(), 'CUDA probed'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_no_module_changes_the_allocator_or_calls_into_the_c_library():
    # glibc's mallopt (or malloc_trim) through ctypes changes the whole process: the
    # library must leave that to the environment JupyterLab starts with (MALLOC_MMAP_THRESHOLD_)
    for path in (ROOT / "d2lhelpers").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for word in ("ctypes", "mallopt", "malloc_trim", "os.environ["):
            assert word not in text, f"{path.relative_to(ROOT)} uses {word}"


def test_public_api_is_explicit_typed_and_documented():
    for name in d2lhelpers.__all__:
        obj = getattr(d2lhelpers, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert obj.__doc__, f"{name} has no docstring"
        if inspect.isfunction(obj):
            sig = inspect.signature(obj)
            assert sig.return_annotation is not inspect.Signature.empty, (
                f"{name} has no return type"
            )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_jupyter_lab_starts_with_the_project_settings_and_lists_the_notebooks(tmp_path):
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists():
        pytest.skip("jupyter is not installed beside this Python")
    port, token = _free_port(), "d2ltest"
    marker = secrets.token_hex(8)
    env = dict(
        os.environ,
        JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        **{MARKER: marker},
    )
    proc = subprocess.Popen(
        [str(jupyter), "lab", "--config=jupyter_server_config.py", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        listing = None
        deadline = time.time() + 90
        while time.time() < deadline and proc.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/api/contents?token={token}"
                with urllib.request.urlopen(url, timeout=5) as r:
                    listing = json.load(r)
                break
            except OSError:
                time.sleep(0.5)
        assert listing is not None, (
            proc.stderr.read().decode()[-2000:] if proc.poll() is not None else "timeout"
        )
        names = {item["name"] for item in listing["content"]}
        assert {p.name for p in NOTEBOOKS} <= names and "01_tensors.ipynb" in names
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10) as r:
            assert r.status == 200
    finally:
        survivors = stop_server(proc, marker)
    assert survivors == [], f"still running after JupyterLab was stopped: {survivors}"


def _anchor(heading: str) -> str:
    """The anchor JupyterLab gives a markdown heading: its rendered text, spaces as '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # [text](url) -> text
    text = text.replace("`", "").replace("**", "").strip()
    return text.replace(" ", "-")


def test_links_between_notebooks_point_at_existing_headings():
    headings = {}
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        headings[path.name] = {
            _anchor(m.group(1))
            for cell in nb["cells"]
            if cell["cell_type"] == "markdown"
            for m in re.finditer(r"^#+ (.+)$", "".join(cell["source"]), re.M)
        }
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))
        text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
        for target, anchor in re.findall(r"\]\((\d\d_[a-z0-9_]+\.ipynb)(?:#([^)]*))?\)", text):
            assert target in headings, f"{path.name} links to a missing notebook {target}"
            if anchor:
                assert anchor in headings[target], f"{path.name}: no heading {anchor!r} in {target}"


def test_readme_links_every_notebook_with_binder():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "mybinder.org/badge_logo.svg" in readme
    for path in NOTEBOOKS:
        assert f"(notebooks/{path.name})" in readme, f"README's chapter table lacks {path.name}"
        assert f"?urlpath=lab/tree/notebooks/{path.name})" in readme, (
            f"no Binder link for {path.name}"
        )


def test_ci_runs_the_readmes_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in ci and ci.rstrip().endswith("make test")
    assert "make test" in (ROOT / "README.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------- README and the pages it links

DOCS = [
    "README.md",
    "CONTRIBUTING.md",
    "CHANGELOG.md",
    "benchmarks/README.md",
    "docs/differences.md",
]
DATE = re.compile(r"\b20\d\d-\d\d-\d\d\b")


def _github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _markdown_links(text: str) -> list[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # not inside code blocks
    return re.findall(r"\]\(([^)\s]+)\)", text)


def test_readme_is_a_short_bilingual_page_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    size = len(readme.encode("utf-8"))
    assert size < 10_000, f"README.md is {size:,} bytes: move material to the pages it links"
    assert len(re.findall(r"[\u4e00-\u9fff]", readme)) > 200, "the README has too little Chinese"
    assert len(re.findall(r"\b(?:the|and|of|to|a|in)\b", readme, re.I)) > 40, (
        "the README has too little English"
    )
    commands = "".join(re.findall(r"```bash\n(.*?)```", readme, re.S))
    assert re.search(r"^make lab\b", commands, re.M) and re.search(r"^make test\b", commands, re.M)
    # dated measurements live in benchmarks/README.md, not in what a learner reads first
    assert not DATE.search(readme), f"a dated measurement in the README: {DATE.search(readme)[0]}"
    for page in DOCS[1:] + ["LICENSE"]:
        assert f"]({page})" in readme, f"the README does not link {page}"


@pytest.mark.parametrize("doc", DOCS)
def test_links_of_the_docs_resolve(doc):
    path = ROOT / doc
    text = path.read_text(encoding="utf-8")
    for link in _markdown_links(text):
        if re.match(r"[a-z]+:", link):  # https:, mailto:
            continue
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        assert file.exists(), f"{doc} links to a missing {target}"
        if anchor and file.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", file.read_text(encoding="utf-8"), re.M)
            assert anchor in {_github_anchor(h) for h in headings}, f"{doc}: no heading #{anchor}"


def test_benchmarks_readme_dates_every_measurement_and_names_the_machine():
    text = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    assert "2 x86_64 cores" in text and "no GPU" in text
    sections = re.split(r"^#{2,3} ", text, flags=re.M)[1:]
    assert len(sections) >= 4
    for section in sections:
        title = section.splitlines()[0]
        if re.search(r"\d+(?:\.\d+)? ?(?:s|ms|min|MB)\b|\d\.\d+x", section):  # holds a measurement
            assert DATE.search(section), f"benchmarks/README.md: section {title!r} has no date"
    for script in (ROOT / "benchmarks").glob("*.py"):
        if not script.name.startswith("_"):
            assert f"`{script.name}`" in text, (
                f"benchmarks/README.md does not describe {script.name}"
            )


def test_contributing_covers_tests_notebooks_hooks_ci_and_the_lower_bounds():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for needle in ("make test-fast", "make test-unit", "make test-notebooks", "make test-browser",
                   "make strip", "nbstripout --install", "make hooks", ".pre-commit-config.yaml",
                   "bash .ci/run", "make lint", "mypy"):  # fmt: skip
        assert needle in text, f"CONTRIBUTING.md does not mention {needle}"
    # the lower-bound run is recorded with the very versions pyproject declares
    project = _pyproject()["project"]
    python_min = project["requires-python"].removeprefix(">=")
    torch_min = next(s for s in project["dependencies"] if _name(s) == "torch").split(">=")[1]
    record = text[text.index("## ") :]
    assert f"Python {python_min}" in record and f"torch {torch_min}" in record


def test_differences_page_covers_what_the_library_does_otherwise():
    text = (ROOT / "docs" / "differences.md").read_text(encoding="utf-8")
    for needle in ("DownloadError", "D2L_DATA_URL", "channels-last", "gradient_accumulation_steps",
                   "checkpoint_activations", "scheduler", "eval_mode", "layer_summary", "History",
                   "D2L_QUICK"):  # fmt: skip
        assert needle in text, f"docs/differences.md does not mention {needle}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_links_the_differences_page_in_its_first_cell(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    first = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "](../docs/differences.md)" in "".join(first["source"]), (
        f"{path.name}: the first markdown cell should link ../docs/differences.md"
    )
    assert (path.parent / "../docs/differences.md").resolve().is_file()


# ---------------------------------------------------------------- packaging habits


def test_license_file_matches_pyproject():
    project = _pyproject()["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert re.search(r"^Copyright \(c\) 20\d\d The d2l-course authors$", text, re.M)
    assert {"name": "The d2l-course authors"} in project["authors"]


def test_the_version_is_written_once():
    pyproject = _pyproject()
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "d2lhelpers.__version__"
    }
    version = d2lhelpers.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    for name in ("pyproject.toml", "environment.yml", "Makefile"):
        assert version not in (ROOT / name).read_text(encoding="utf-8"), (
            f"{name} repeats the version"
        )
    assert f"## [{version}]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    try:
        installed = importlib.metadata.version("d2lhelpers")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("d2lhelpers is not installed (pip install -e .)")
    assert installed == version, "reinstall: pip install -e . (make install)"


def test_the_package_ships_its_type_information():
    assert (ROOT / "d2lhelpers" / "py.typed").is_file()
    assert "py.typed" in _pyproject()["tool"]["setuptools"]["package-data"]["d2lhelpers"]


def test_makefile_environment_and_pyproject_agree_on_the_oldest_python():
    python_min = _pyproject()["project"]["requires-python"].removeprefix(">=")
    major, minor = python_min.split(".")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"sys.version_info < ({major}, {minor})" in makefile
    assert f"Python >= {python_min} is needed" in makefile
    assert f"python>={python_min}" in _conda_specs()


def test_make_help_lists_every_target():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = " ".join(re.findall(r"^\.PHONY:(.*)$", makefile, re.M)).split()
    out = _make("help")
    assert out.returncode == 0, out.stderr
    listed = re.findall(r"^  make (\S+)", out.stdout, re.M)
    assert sorted(listed) == sorted(targets)


def test_make_test_fast_lints_and_runs_the_unit_tests_only(tmp_path):
    out = _make("-n", "test-fast", f"VENV={tmp_path / 'venv'}")
    assert out.returncode == 0, out.stderr
    commands = out.stdout
    for tool in ("ruff check", "ruff format --check", "mypy", "pytest tests"):
        assert tool in commands, f"make test-fast does not run {tool}"
    assert "nbval" not in commands and "-m browser" not in commands
    full = _make("-n", "test", f"VENV={tmp_path / 'venv'}").stdout
    assert "test-fast" in full and "nbval" in full and "-m browser" in full


# ---------------------------------------------------------------- contributors' tools


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def test_pre_commit_hooks_strip_notebooks_and_check_code_with_the_makefiles_options(tmp_path):
    """The hooks of .pre-commit-config.yaml, run by pre-commit in a scratch repository."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = {h["id"]: h for repo in config["repos"] for h in repo["hooks"]}
    assert set(hooks) == {"ruff", "ruff-format", "nbstripout"}
    assert hooks["nbstripout"]["entry"].split()[1:] == _strip_args()  # as `make strip`
    repo = tmp_path / "repo"
    repo.mkdir()
    _git("init", "-q", cwd=repo)
    for name in (".pre-commit-config.yaml", "pyproject.toml"):
        shutil.copy(ROOT / name, repo / name)
    (repo / ".venv").symlink_to(Path(sys.executable).parents[1])  # the hooks run .venv's tools
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1 + 1")]
    nb.cells[0].execution_count = 1
    nb.cells[0].outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)
    ]
    nbformat.write(nb, repo / "x.ipynb")
    (repo / "ugly.py").write_text("x=1\n")
    (repo / "unused.py").write_text("import os\n")
    _git(
        "add",
        ".pre-commit-config.yaml",
        "pyproject.toml",
        "x.ipynb",
        "ugly.py",
        "unused.py",
        cwd=repo,
    )
    out = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=repo, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache")},
    )  # fmt: skip
    log = out.stdout + out.stderr
    assert "No module named pre_commit" not in log, "pip install -e '.[dev]' (pre-commit)"
    assert out.returncode != 0, log
    assert _unstripped(repo / "x.ipynb") == "", log  # stripped by the hook, ids kept
    assert nbformat.read(repo / "x.ipynb", as_version=4).cells[0].id == nb.cells[0].id
    assert (repo / "ugly.py").read_text() == "x = 1\n", log  # reformatted
    assert "F401" in log and "unused.py" in log  # the unused import is reported
