# JupyterLab settings used by `make lab` (passed with --config): serve notebooks/.
import os

c = get_config()  # noqa: F821 - provided by Jupyter when it loads this file
c.ServerApp.root_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notebooks")
