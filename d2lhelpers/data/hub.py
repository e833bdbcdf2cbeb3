"""The data hub: named files, a per-user cache, safe downloads, a mirror.

`DATA_HUB` maps a data set's name to `(url, sha1)` as the book does. Files live
under one data root: the `cache_dir` argument, else `$D2L_DATA_DIR`, else a
per-user cache folder (never relative to the working directory). Setting
`$D2L_DATA_URL` to a folder URL (`https://...`, `file:///...`) makes every
download look up the same file name there instead: CI points it at an offline copy.

A download streams into a temporary file beside the target, checks the SHA-1 and
only then renames it into place, so the cache never holds a partial or corrupt
file. Introduced in 02_pandas.ipynb.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .archive import archive_stem, extract

__all__ = [
    "DATA_HUB",
    "DATA_URL",
    "DownloadError",
    "data_dir",
    "download",
    "download_extract",
    "download_all",
]

#: The book's data server (https; the book's own address is plain http).
DATA_URL = "https://d2l-data.s3-accelerate.amazonaws.com/"
# The book reads its photos from its repository's img/ folder; this commit of d2l-ai/d2l-zh
# holds both with exactly the SHA-1s below (a branch name would move under the checksum).
_IMG_URL = (
    "https://raw.githubusercontent.com/d2l-ai/d2l-zh/6ceb0aeef0a300780f001d629cdda76512edf14a/img/"
)

#: name -> (url, sha1), as in the book: every data set of the chapters this course covers.
DATA_HUB: dict[str, tuple[str, str]] = {
    "time_machine": (DATA_URL + "timemachine.txt", "090b5e7e70c295757f55df93cb0a180b9691891a"),
    "fra-eng": (DATA_URL + "fra-eng.zip", "94646ad1522d915e7b0f9296181140edcf86a4f5"),
    "kaggle_house_train": (
        DATA_URL + "kaggle_house_pred_train.csv",
        "585e9cc93e70b39160e7921475f9bcd7d31219ce",
    ),
    "kaggle_house_test": (
        DATA_URL + "kaggle_house_pred_test.csv",
        "fa19780a7b011d9b009e8bff8e99922a8ee2eb90",
    ),
    "airfoil": (DATA_URL + "airfoil_self_noise.dat", "76e5be1548fd8222e5074cf0faae75edff8cf93f"),
    "catdog": (_IMG_URL + "catdog.jpg", "60b7d540db03eef6b9834329bccc4417ef349bf6"),
    "cat1": (_IMG_URL + "cat1.jpg", "f9c5b905d908b97eeeb64ff34a46fa8b143f88f8"),
    # chapter 13: fine-tuning (hot dog or not) and the object-detection data set
    "hotdog": (DATA_URL + "hotdog.zip", "fba480ffa8aa7e0febbb511d181409f899b9baa5"),
    "banana-detection": (
        DATA_URL + "banana-detection.zip",
        "5de26c8fce5ccdea9f91267273464dc968d20d72",
    ),
}

_CHUNK = 1 << 20
_ALGORITHM_NAMES = {"sha1": "SHA-1", "md5": "MD5"}


class DownloadError(RuntimeError):
    """A data file could not be fetched or failed its checksum."""


def data_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The data root: `cache_dir`, else `$D2L_DATA_DIR`, else a per-user cache folder."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser().resolve()
    env = os.environ.get("D2L_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    elif sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return (base / "d2lhelpers").resolve()


def _digest(path: Path, algorithm: str = "sha1") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _file_name(url: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])


def _source_url(url: str) -> str:
    """The URL to fetch: under `$D2L_DATA_URL` when it is set, else `url` itself."""
    mirror = os.environ.get("D2L_DATA_URL", "").strip()
    if not mirror:
        return url
    return mirror.rstrip("/") + "/" + urllib.parse.quote(_file_name(url))


def _mirror_folder() -> Path | None:
    """The local folder behind a `file://` `$D2L_DATA_URL`, if any."""
    mirror = os.environ.get("D2L_DATA_URL", "").strip()
    if not mirror.startswith("file:"):
        return None
    return Path(urllib.request.url2pathname(urllib.parse.urlsplit(mirror).path))


def _offline_hint(name: str, target: Path) -> str:
    return (
        f"Offline: copy the file to {target} (SHA-1 checked), or set "
        f"D2L_DATA_URL to a folder or server that holds '{target.name}' "
        f"(for example D2L_DATA_URL=file:///path/to/data)."
    )


def _fetch(url: str, tmp: Path, desc: str, timeout: float) -> None:
    """Stream `url` into `tmp`; raise on HTTP errors and on short bodies."""
    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as f:
        total = r.headers.get("Content-Length")
        total = int(total) if total and total.isdigit() else None
        got = 0
        show = url.startswith(("http:", "https:"))
        of = "" if total is None else f" of {total}"
        with tqdm(total=total, unit="B", unit_scale=True, desc=desc, disable=not show) as bar:
            try:
                while chunk := r.read(_CHUNK):
                    f.write(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
            except http.client.IncompleteRead as e:  # not an OSError: a body cut short
                got += len(e.partial)
                raise DownloadError(
                    f"truncated download (IncompleteRead): the connection closed after {got}{of} bytes"
                ) from None
        if total is not None and got != total:
            raise DownloadError(f"truncated download: got {got}{of} bytes")


def download(
    name: str,
    cache_dir: str | os.PathLike | None = None,
    *,
    timeout: float | None = None,
    retries: int = 1,
) -> str:
    """Download the `DATA_HUB` file `name` into the data root and return its path.

    A cached file with the right SHA-1 is returned without touching the network;
    a cached file with a wrong SHA-1 is fetched again. `timeout` (seconds, default
    `$D2L_DOWNLOAD_TIMEOUT` or 30) bounds every network wait; a failed attempt is
    retried `retries` times. Raises `DownloadError` naming the data set, the URL,
    the expected path and how to get the file offline; nothing partial is left.
    """
    if name not in DATA_HUB:
        raise KeyError(f"unknown data set {name!r}; DATA_HUB has: {', '.join(sorted(DATA_HUB))}")
    url, sha1 = DATA_HUB[name]
    root = data_dir(cache_dir)
    root.mkdir(parents=True, exist_ok=True)
    target = root / _file_name(url)
    if target.is_file() and _digest(target) == sha1:
        return str(target)
    source = _source_url(url)
    fetch_verified(
        source,
        target,
        ("sha1", sha1),
        f"data set {name!r}",
        _offline_hint(name, target),
        timeout,
        retries,
    )
    return str(target)


def _one_line(error: BaseException) -> str:
    """`error` as one short line: its type and message, without urllib's wrapping."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException):
        error = error.reason  # '<urlopen error [Errno 111] ...>' -> the socket error itself
    text = " ".join(str(error).split()) or "no message"
    if isinstance(error, socket.gaierror):  # the commonest offline failure, named plainly
        return f"the server's name could not be looked up, no network? ({text})"
    return text if isinstance(error, DownloadError) else f"{type(error).__name__}: {text}"


def fetch_verified(
    url: str,
    target: Path,
    checksum: tuple[str, str],
    desc: str,
    hint: str,
    timeout: float | None = None,
    retries: int = 1,
) -> None:
    """Fetch `url` into `target` atomically, checking `checksum` = (algorithm, hex digest).

    Streams into a temporary file beside `target` and renames it into place only
    after the digest matches. A failed attempt (a connection error, a timeout, a
    body cut short, a wrong checksum, a 5xx answer) is retried `retries` times;
    a 4xx answer is not. Raises `DownloadError` naming `desc` (what the file is),
    the URL, `target` and the last failure in one line, followed by `hint` (how to
    get the file offline); the urllib traceback is not chained to it.
    Shared by `download` and the Fashion-MNIST reader.
    """
    algorithm, expected = checksum
    if timeout is None:
        timeout = float(os.environ.get("D2L_DOWNLOAD_TIMEOUT", "30"))
    target.parent.mkdir(parents=True, exist_ok=True)
    last: Exception | None = None
    attempts = 0
    for attempt in range(retries + 1):
        attempts += 1
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".part", dir=target.parent
        )
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            _fetch(url, tmp, target.name, timeout)
            got = _digest(tmp, algorithm)
            if got != expected:
                raise DownloadError(
                    f"{_ALGORITHM_NAMES.get(algorithm, algorithm)} mismatch: expected {expected}, got {got}"
                )
            os.replace(tmp, target)
            return
        except urllib.error.HTTPError as e:
            last = e
            if 400 <= e.code < 500:  # 404 and friends will not get better
                break
        # OSError: refused, reset, timed out, TLS; HTTPException: a body cut short
        # (IncompleteRead), a malformed answer; ValueError: a URL urllib cannot open
        except (OSError, http.client.HTTPException, DownloadError, ValueError) as e:
            last = e
        finally:
            tmp.unlink(missing_ok=True)
        if attempt < retries:
            time.sleep(0.5)
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    cause = _one_line(last) if last is not None else "no attempt was made"
    # `from None`: the cause is in the message, so a learner sees one short error,
    # not pages of urllib traceback above it
    raise DownloadError(
        f"could not download {desc}: {cause} ({tries}).\n"
        f"  URL: {url}\n  expected at: {target}\n{hint}"
    ) from None


def download_extract(name: str, folder: str | None = None) -> str:
    """Download and extract the archive `name` once; return the extracted folder.

    The folder is the archive's name without its archive suffix, next to it in the
    data root: `glove.6B.50d.zip` -> `glove.6B.50d`, `x.tar.gz` -> `x` (the book's
    code strips only the last suffix and returns `x.tar` there, a folder the archive
    does not hold); `folder` names it instead. A later call finds the folder and does
    nothing. An already extracted folder is used even when the archive is absent, in
    the data root or in a `file://` `$D2L_DATA_URL` mirror (copied into the data root
    once). Extraction goes through a temporary folder, so a failure leaves nothing
    half-written; a tar member that would land outside it raises `ValueError`.
    """
    if name not in DATA_HUB:
        raise KeyError(f"unknown data set {name!r}; DATA_HUB has: {', '.join(sorted(DATA_HUB))}")
    root = data_dir()
    file_name = _file_name(DATA_HUB[name][0])
    base = archive_stem(file_name)
    target = root / (folder or base)
    if target.is_dir():
        return str(target)
    root.mkdir(parents=True, exist_ok=True)
    mirror = _mirror_folder()
    staging = Path(tempfile.mkdtemp(prefix=f".{base}.", suffix=".extract", dir=root))
    try:
        if mirror is not None and (mirror / target.name).is_dir():
            shutil.copytree(mirror / target.name, staging / target.name)
        else:
            extract(Path(download(name)), staging)
        for entry in staging.iterdir():
            dest = root / entry.name
            if not dest.exists():
                os.replace(entry, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not target.is_dir():
        raise DownloadError(f"archive {file_name} did not contain the folder {target.name!r}")
    return str(target)


def download_all() -> None:
    """Download every file in `DATA_HUB`."""
    for name in DATA_HUB:
        download(name)
