"""Repository-level checks: packaging, Binder, stripped notebooks, JupyterLab, import hygiene."""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

import d2lhelpers
from d2lhelpers.tools.strip import is_stripped

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

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
        assert "==" not in spec and "<" not in spec and "~=" not in spec, (
            f"not a lower bound: {spec}"
        )
        assert ">=" in spec, f"no lower bound: {spec}"


def test_environment_names_the_same_packages_as_pyproject():
    project = _pyproject()["project"]
    pypi = {_name(s) for s in project["dependencies"] + project["optional-dependencies"]["dev"]}
    env = _environment()
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    assert {CONDA_NAME.get(n, n) for n in pypi} == conda


def test_environment_is_conda_forge_python_311_and_installs_the_package():
    env = _environment()
    assert env["channels"] == ["conda-forge"]
    assert "python=3.11" in env["dependencies"]
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert pip_sections == [["-e ."]]


def test_binder_pulls_no_cuda_package():
    deps = [d for d in _environment()["dependencies"] if isinstance(d, str)]
    for dep in deps:
        assert not re.search(r"cuda|cudnn|nvidia|nccl", dep, re.I), dep
    torch_specs = [d for d in deps if _name(d) in ("pytorch", "torchvision")]
    assert len(torch_specs) == 2 and all("build='cpu*'" in d for d in torch_specs)


REPO2DOCKER = shutil.which(
    "jupyter-repo2docker",
    path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
)


@pytest.mark.skipif(REPO2DOCKER is None, reason="jupyter-repo2docker not installed")
def test_repo2docker_picks_the_conda_buildpack_and_installs_the_package(tmp_path):
    out = subprocess.run(
        [REPO2DOCKER, "--no-build", "--no-run", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-2000:]
    assert "Building conda environment for python=3.11" in log
    # the whole repository is copied before environment.yml is applied, so `-e .` finds it
    copy = log.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    update = log.index('env update -p ${NB_PYTHON_PREFIX} --file "environment.yml"')
    assert copy < update


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_notebooks_exist_and_are_named_by_chapter():
    assert (ROOT / "notebooks" / "01_tensors.ipynb") in NOTEBOOKS
    for path in NOTEBOOKS:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_stripped(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert is_stripped(nb) == [], f"{path.name}: run `make strip`"
    source = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "import d2lhelpers as d2l" in source
    assert "sys.path" not in source


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
    env = dict(
        os.environ,
        JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
    )
    proc = subprocess.Popen(
        [str(jupyter), "lab", "--config=jupyter_server_config.py", "--no-browser", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
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
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


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
