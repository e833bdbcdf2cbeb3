"""Is a file within reach? Quick checks before an online-only experiment.

An experiment that needs the network (the book's hotdog fine-tuning with ImageNet
weights) asks first and skips with a one-line reason instead of hanging or
failing: `reachable(url)` answers for one URL within `timeout` seconds (a slow
name lookup included), `data_available(name)` for a `DATA_HUB` entry (the cache,
the `$D2L_DATA_URL` mirror or the book's server), `weights_available(weights)` for
torchvision weights (torch hub's cache or their URL). Nothing is downloaded.
Introduced in 13_computer_vision.ipynb.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Protocol

from .archive import archive_stem
from .hub import DATA_HUB, _file_name, _mirror_folder, _source_url, data_dir

__all__ = ["reachable", "data_available", "weights_available"]


class _HasUrl(Protocol):
    url: str


def reachable(url: str, timeout: float = 3.0) -> tuple[bool, str]:
    """(True, "") when `url` can be fetched now, else (False, a one-line reason).

    A `file://` URL is reachable when its file or folder exists; an `http(s)://` URL
    when its server answers a HEAD request with a success status within `timeout`
    seconds. The request runs in a daemon thread, so a name lookup that hangs
    longer than `timeout` cannot hold the caller up.
    """
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        path = urllib.request.url2pathname(parsed.path)
        return (True, "") if os.path.exists(path) else (False, f"{path} does not exist")
    if parsed.scheme not in ("http", "https"):
        return False, f"{url} is not a file://, http:// or https:// URL"
    outcome: list[tuple[bool, str]] = []

    def probe() -> None:
        try:
            request = urllib.request.Request(url, method="HEAD")
            with urllib.request.urlopen(request, timeout=timeout):
                outcome.append((True, ""))
        except urllib.error.HTTPError as e:
            outcome.append((False, f"{url} answered HTTP {e.code} ({e.reason})"))
        except (urllib.error.URLError, OSError, ValueError) as e:
            outcome.append((False, f"{url} is not reachable ({getattr(e, 'reason', e)})"))

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else (False, f"{url} did not answer within {timeout:g} s")


def data_available(name: str, timeout: float = 3.0) -> tuple[bool, str]:
    """Whether `d2l.download(name)` / `download_extract(name)` can get `DATA_HUB[name]` now.

    True without any network when the file or its extracted folder is in the data
    root, or a `file://` `$D2L_DATA_URL` mirror holds the extracted folder;
    otherwise `reachable` decides for the URL a download would use (the mirror's
    when `$D2L_DATA_URL` is set, else the book's server). Returns (ok, reason).
    """
    if name not in DATA_HUB:
        raise KeyError(f"unknown data set {name!r}; DATA_HUB has: {', '.join(sorted(DATA_HUB))}")
    url = DATA_HUB[name][0]
    file_name, root, mirror = _file_name(url), data_dir(), _mirror_folder()
    if (root / file_name).is_file():
        return True, ""
    try:
        folder = archive_stem(file_name)  # where download_extract puts the archive's content
    except ValueError:  # not an archive (a photo, a text file)
        folder = None
    if folder is not None and (
        (root / folder).is_dir() or (mirror is not None and (mirror / folder).is_dir())
    ):
        return True, ""
    return reachable(_source_url(url), timeout)


def weights_available(weights: _HasUrl, timeout: float = 3.0) -> tuple[bool, str]:
    """Whether torchvision can load `weights` (e.g. `ResNet18_Weights.IMAGENET1K_V1`) now.

    True without any network when the checkpoint is in torch hub's cache
    (`torch.hub.get_dir()/checkpoints`, where torchvision keeps it); otherwise
    `reachable` decides for `weights.url`. Returns (ok, reason).
    """
    import torch.hub

    cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)
    return (True, "") if cached.is_file() else reachable(weights.url, timeout)
