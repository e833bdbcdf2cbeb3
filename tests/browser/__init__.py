"""The course in a real browser: JupyterLab and Notebook 7 driven by headless Chromium.

`checks` judges what a page showed (pure functions, unit-tested in `test_checks`);
`jupyter` starts JupyterLab and drives a notebook in Chromium; `test_in_browser`
runs the notebooks listed there (`make test-browser`, marker `browser`).
"""
