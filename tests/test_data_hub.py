"""The data hub against a real HTTP server on 127.0.0.1 started by the tests."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import threading
import zipfile
from pathlib import Path

import pytest

import d2lhelpers as d2l
from d2lhelpers.data import hub

BODY = b"real data, line 1\nline 2\n" * 100
SHA1 = hashlib.sha1(BODY).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}
    hits: list = []

    def do_GET(self):  # noqa: N802 - http.server API
        self.hits.append(self.path)
        kind, body = self.routes.get(self.path, ("404", b""))
        if kind == "404":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) + (100 if kind == "truncated" else 0)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.routes = {}
    _Handler.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _register(monkeypatch, name, url, sha1=SHA1):
    monkeypatch.setitem(hub.DATA_HUB, name, (url, sha1))


def _leftovers(root: Path) -> list[str]:
    """Files in the data root that are not complete, verified downloads."""
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".") or p.suffix == ".part")


def test_download_fetches_verifies_and_caches(server, monkeypatch, tmp_path):
    httpd, base = server
    _Handler.routes["/x.txt"] = ("ok", BODY)
    _register(monkeypatch, "x", base + "/x.txt")
    path = Path(d2l.download("x"))
    assert path == tmp_path / "data" / "x.txt" and path.read_bytes() == BODY
    assert _Handler.hits == ["/x.txt"]
    # cached hit: no request is made
    assert Path(d2l.download("x")) == path
    assert _Handler.hits == ["/x.txt"]


def test_corrupt_cache_is_downloaded_again(server, monkeypatch, tmp_path):
    _, base = server
    _Handler.routes["/x.txt"] = ("ok", BODY)
    _register(monkeypatch, "x", base + "/x.txt")
    root = tmp_path / "data"
    root.mkdir()
    (root / "x.txt").write_bytes(b"corrupt")
    assert Path(d2l.download("x")).read_bytes() == BODY
    assert _Handler.hits == ["/x.txt"]


@pytest.mark.parametrize(
    "route,match",
    [
        (("404", b""), "404"),
        (("truncated", BODY), "truncated|IncompleteRead"),
        (("ok", b"not the real file"), "SHA-1 mismatch"),
    ],
)
def test_failures_raise_a_clear_error_and_leave_nothing(
    server, monkeypatch, tmp_path, route, match
):
    _, base = server
    _Handler.routes["/x.txt"] = route
    _register(monkeypatch, "x", base + "/x.txt")
    with pytest.raises(d2l.DownloadError, match=match) as info:
        d2l.download("x", retries=1)
    message = str(info.value)
    root = tmp_path / "data"
    assert "'x'" in message and base + "/x.txt" in message and str(root / "x.txt") in message
    assert "D2L_DATA_URL" in message  # says how to get the file offline
    assert not (root / "x.txt").exists() and _leftovers(root) == []


def test_404_is_not_retried_but_other_failures_are(server, monkeypatch):
    _, base = server
    _register(monkeypatch, "x", base + "/missing.txt")
    with pytest.raises(d2l.DownloadError):
        d2l.download("x", retries=2)
    assert _Handler.hits == ["/missing.txt"]
    _Handler.routes["/bad.txt"] = ("ok", b"wrong")
    _register(monkeypatch, "y", base + "/bad.txt")
    with pytest.raises(d2l.DownloadError):
        d2l.download("y", retries=1)
    assert _Handler.hits.count("/bad.txt") == 2


def test_a_server_that_never_answers_times_out(monkeypatch, tmp_path):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts connections (the kernel does) but never replies
    try:
        _register(monkeypatch, "x", f"http://127.0.0.1:{silent.getsockname()[1]}/x.txt")
        with pytest.raises(d2l.DownloadError, match="timed out") as info:
            d2l.download("x", timeout=0.5, retries=0)
        assert "x.txt" in str(info.value)
        assert _leftovers(tmp_path / "data") == []
    finally:
        silent.close()


def test_no_server_at_all(monkeypatch, tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens on this port now
    _register(monkeypatch, "x", f"http://127.0.0.1:{port}/x.txt")
    with pytest.raises(d2l.DownloadError, match="refused|Errno"):
        d2l.download("x", timeout=2, retries=0)
    assert _leftovers(tmp_path / "data") == []


def test_file_mirror_replaces_the_origin(monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "x.txt").write_bytes(BODY)
    _register(monkeypatch, "x", "https://example.invalid/some/path/x.txt")
    monkeypatch.setenv("D2L_DATA_URL", mirror.as_uri())
    assert Path(d2l.download("x")).read_bytes() == BODY


def test_http_mirror_is_looked_up_by_file_name(server, monkeypatch):
    _, base = server
    _Handler.routes["/mirror/x.txt"] = ("ok", BODY)
    _register(monkeypatch, "x", "https://example.invalid/x.txt")
    monkeypatch.setenv("D2L_DATA_URL", base + "/mirror/")
    assert Path(d2l.download("x")).read_bytes() == BODY
    assert _Handler.hits == ["/mirror/x.txt"]


def test_unknown_name_lists_the_hub(monkeypatch):
    with pytest.raises(KeyError, match="kaggle_house_train"):
        d2l.download("kaggle")


def test_data_root_order(monkeypatch, tmp_path):
    assert d2l.data_dir(tmp_path / "a") == (tmp_path / "a").resolve()
    assert d2l.data_dir() == (tmp_path / "data").resolve()  # D2L_DATA_DIR from conftest
    monkeypatch.delenv("D2L_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    root = d2l.data_dir()
    assert root.is_absolute() and root.name == "d2lhelpers"


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_download_extract_extracts_once(server, monkeypatch, tmp_path):
    _, base = server
    archive = _zip_bytes({"pairs/fra.txt": b"go .\tva !\n"})
    _Handler.routes["/pairs.zip"] = ("ok", archive)
    _register(monkeypatch, "pairs", base + "/pairs.zip", hashlib.sha1(archive).hexdigest())
    folder = Path(d2l.download_extract("pairs"))
    assert folder == tmp_path / "data" / "pairs"
    assert (folder / "fra.txt").read_bytes() == b"go .\tva !\n"
    (tmp_path / "data" / "pairs.zip").unlink()  # the archive is not needed again
    assert Path(d2l.download_extract("pairs")) == folder
    assert _Handler.hits == ["/pairs.zip"]
    assert _leftovers(tmp_path / "data") == []


def test_download_extract_uses_an_extracted_folder_in_a_file_mirror(monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "fra-eng").mkdir(parents=True)
    (mirror / "fra-eng" / "fra.txt").write_text("hi .\tsalut !\n", encoding="utf-8")
    monkeypatch.setenv("D2L_DATA_URL", mirror.as_uri())
    folder = Path(d2l.download_extract("fra-eng"))
    assert folder == tmp_path / "data" / "fra-eng"
    assert (folder / "fra.txt").read_text(encoding="utf-8") == "hi .\tsalut !\n"


def test_real_mirror_files_pass_their_checksums(monkeypatch):
    """The offline copies in ../shared/data are the book's files (when present)."""
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not shared.is_dir():
        pytest.skip("no ../shared/data beside the project")
    monkeypatch.setenv("D2L_DATA_URL", shared.as_uri())
    for name in (
        "time_machine",
        "kaggle_house_train",
        "kaggle_house_test",
        "airfoil",
        "catdog",
        "cat1",
    ):
        assert Path(d2l.download(name)).is_file()
    # fra-eng.zip is not in the mirror (only a prefix of fra.txt): its download must fail
    with pytest.raises(d2l.DownloadError):
        d2l.download("fra-eng", retries=0)
    assert (Path(d2l.download_extract("fra-eng")) / "fra.txt").is_file()
