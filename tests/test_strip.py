import json

import nbformat

from d2lhelpers.tools.strip import is_stripped, main, strip_notebook


def _dirty():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("1 + 1")
    cell.execution_count = 3
    cell.outputs = [
        nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=3)
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    return json.loads(nbformat.writes(nb))


def test_is_stripped_names_every_problem():
    problems = is_stripped(_dirty())
    assert any("widget" in p for p in problems)
    assert "cell 1 has stored outputs" in problems and "cell 1 has an execution count" in problems


def test_strip_notebook_cleans_and_main_rewrites_files(tmp_path):
    assert is_stripped(strip_notebook(_dirty())) == []
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(_dirty()), encoding="utf-8")
    main([str(tmp_path)])
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert is_stripped(nb) == [] and "".join(nb["cells"][1]["source"]) == "1 + 1"
    nbformat.validate(nbformat.reads(path.read_text(encoding="utf-8"), as_version=4))
