"""The data hub against a real HTTP server on 127.0.0.1 started by the tests."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import tarfile
import threading
import traceback
import zipfile
from pathlib import Path

import pytest
from data_fixtures import real_data_or_skip

import d2lhelpers as d2l
from d2lhelpers.data import hub

BODY = b"real data, line 1\nline 2\n" * 100
SHA1 = hashlib.sha1(BODY).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves `routes[path] = (kind, body)`: 'ok', '404', 'truncated' (Content-Length
    100 bytes too large), 'chunked-cut' (a chunked body that stops in its second chunk,
    connection closed), 'cut-once' (chunked-cut at the first request, whole afterwards)."""

    protocol_version = "HTTP/1.1"  # chunked transfer encoding is HTTP/1.1
    routes: dict = {}
    hits: list = []

    def do_GET(self):  # noqa: N802 - http.server API
        self.hits.append(self.path)
        kind, body = self.routes.get(self.path, ("404", b""))
        if kind == "cut-once":
            kind = "chunked-cut" if self.hits.count(self.path) == 1 else "ok"
        if kind == "404":
            self.send_error(404)
            return
        if kind == "chunked-cut":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = len(body) // 2
            self.wfile.write(b"%x\r\n%s\r\n" % (half, body[:half]))
            self.wfile.write(b"%x\r\n%s" % (len(body) - half, body[half : half + 10]))
            self.wfile.flush()
            self.close_connection = True  # the body ends here, mid-chunk, without 0\r\n\r\n
            return
        self.close_connection = True
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


def test_a_chunked_body_cut_short_is_retried_once_then_a_download_error(
    server, monkeypatch, tmp_path
):
    _, base = server
    _Handler.routes["/x.txt"] = ("chunked-cut", BODY)
    _register(monkeypatch, "x", base + "/x.txt")
    with pytest.raises(d2l.DownloadError, match="IncompleteRead") as info:
        d2l.download("x")  # default: one retry
    assert _Handler.hits == ["/x.txt", "/x.txt"]
    assert "2 attempts" in str(info.value)
    assert _leftovers(tmp_path / "data") == [] and not (tmp_path / "data" / "x.txt").exists()


def test_a_body_cut_short_once_is_fetched_again(server, monkeypatch, tmp_path):
    _, base = server
    _Handler.routes["/x.txt"] = ("cut-once", BODY)
    _register(monkeypatch, "x", base + "/x.txt")
    assert Path(d2l.download("x")).read_bytes() == BODY
    assert _Handler.hits == ["/x.txt", "/x.txt"]
    assert _leftovers(tmp_path / "data") == []


def test_the_error_a_learner_sees_is_short_and_has_no_chained_traceback(
    server, monkeypatch, tmp_path
):
    _, base = server
    _Handler.routes["/x.txt"] = ("chunked-cut", BODY)
    _register(monkeypatch, "x", base + "/x.txt")
    with pytest.raises(d2l.DownloadError) as info:
        d2l.download("x", retries=0)
    error = info.value
    assert error.__cause__ is None and error.__suppress_context__  # raise ... from None
    shown = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    assert "During handling" not in shown and "direct cause" not in shown
    assert shown.count("Traceback (most recent call last)") == 1
    first, *rest = str(error).splitlines()
    # the first line names the data set and the cause; then the URL, the path, the way offline
    assert first.startswith("could not download data set 'x': truncated download (IncompleteRead)")
    assert first.endswith("(1 attempt).")
    assert rest[0] == f"  URL: {base}/x.txt"
    assert rest[1] == f"  expected at: {tmp_path / 'data' / 'x.txt'}"
    assert "D2L_DATA_URL" in rest[2] and len(rest) == 3


def test_a_missing_mirror_file_is_named_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("D2L_DATA_URL", (tmp_path / "empty-mirror").as_uri())
    with pytest.raises(d2l.DownloadError) as info:
        d2l.download("time_machine", retries=0)
    first = str(info.value).splitlines()[0]
    assert first.startswith("could not download data set 'time_machine': FileNotFoundError:")
    assert "timemachine.txt" in first and info.value.__cause__ is None


def test_a_refused_connection_is_named_without_urllib_wrapping(monkeypatch):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    _register(monkeypatch, "x", f"http://127.0.0.1:{port}/x.txt")
    with pytest.raises(d2l.DownloadError) as info:
        d2l.download("x", timeout=2, retries=0)
    first = str(info.value).splitlines()[0]
    assert "ConnectionRefusedError" in first and "urlopen error" not in first


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
    real_data_or_skip([shared / "timemachine.txt"], "the offline copy in ../shared/data")
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


def _tar_bytes(members: list[tuple[tarfile.TarInfo, bytes]], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as t:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            t.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buf.getvalue()


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, b""


def _serve(monkeypatch, tmp_path: Path, file_name: str, archive: bytes) -> None:
    """Register `file_name` in DATA_HUB, served from a `file://` mirror in tmp_path."""
    mirror = tmp_path / "mirror"
    mirror.mkdir(exist_ok=True)
    (mirror / file_name).write_bytes(archive)
    monkeypatch.setenv("D2L_DATA_URL", mirror.as_uri())
    _register(
        monkeypatch,
        "arch",
        "https://example.invalid/" + file_name,
        hashlib.sha1(archive).hexdigest(),
    )


@pytest.mark.parametrize(
    "file_name,folder",
    [
        ("glove.6B.50d.zip", "glove.6B.50d"),
        ("snli_1.0.zip", "snli_1.0"),
        ("x.tar.gz", "x"),
        ("wiki.v2.tgz", "wiki.v2"),
        ("plain.tar", "plain"),
    ],
)
def test_download_extract_strips_only_the_archive_suffix(monkeypatch, tmp_path, file_name, folder):
    if file_name.endswith(".zip"):
        archive = _zip_bytes({f"{folder}/a.txt": b"hello"})
    else:
        archive = _tar_bytes(
            [_file(f"{folder}/a.txt", b"hello")], "w" if file_name.endswith(".tar") else "w:gz"
        )
    _serve(monkeypatch, tmp_path, file_name, archive)
    got = Path(d2l.download_extract("arch"))
    assert got == tmp_path / "data" / folder
    assert (got / "a.txt").read_bytes() == b"hello"
    assert _leftovers(tmp_path / "data") == []


def test_download_extract_refuses_what_it_cannot_extract_before_downloading(monkeypatch, tmp_path):
    _register(monkeypatch, "arch", "https://example.invalid/notes.txt")
    with pytest.raises(ValueError, match="only zip and tar archives.*notes.txt"):
        d2l.download_extract("arch")
    assert not (tmp_path / "data" / "notes.txt").exists()


@pytest.fixture
def python_310_tarfile(monkeypatch):
    """tarfile as on Python 3.10.0-3.10.11: no `data_filter`, no `filter` argument."""
    original = tarfile.TarFile.extractall

    def extractall(self, path=".", members=None, *, numeric_owner=False, **kwargs):
        if "filter" in kwargs:
            raise TypeError("extractall() got an unexpected keyword argument 'filter'")
        return original(self, path, members, numeric_owner=numeric_owner)

    monkeypatch.delattr(tarfile, "data_filter")
    monkeypatch.setattr(tarfile.TarFile, "extractall", extractall)


def test_tar_extraction_works_without_the_data_filter(monkeypatch, tmp_path, python_310_tarfile):
    archive = _tar_bytes([_file("x/sub/a.txt", b"hello"), _link("x/b.txt", "sub/a.txt")])
    _serve(monkeypatch, tmp_path, "x.tar.gz", archive)
    got = Path(d2l.download_extract("arch"))
    assert (got / "sub" / "a.txt").read_bytes() == b"hello"
    assert (got / "b.txt").read_bytes() == b"hello"  # a link inside the folder is fine


def _device(name: str) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
    return info, b""


MALICIOUS = {
    "dotdot": ([_file("x/ok.txt"), _file("../evil.txt")], "../evil.txt"),
    "absolute": ([_file("/tmp/d2l-evil.txt")], "/tmp/d2l-evil.txt"),
    "symlink out": ([_link("x/out", "../../outside")], "x/out"),
    "absolute symlink": ([_link("x/etc", "/etc")], "x/etc"),
    "hard link out": ([_link("x/h", "../outside.txt", tarfile.LNKTYPE)], "x/h"),
    # each link stays inside on its own; together they point above the data root
    "two-step symlink": ([_link("x/up", ".."), _link("x/up/esc", "..")], "x/up/esc"),
    "device": ([_device("x/null")], "x/null"),
}


@pytest.mark.parametrize("members,bad", MALICIOUS.values(), ids=MALICIOUS.keys())
def test_a_malicious_tar_is_refused_without_the_data_filter(
    monkeypatch, tmp_path, python_310_tarfile, members, bad
):
    _serve(monkeypatch, tmp_path, "x.tar.gz", _tar_bytes(members))
    with pytest.raises(ValueError, match=f"refusing to extract x.tar.gz: member {bad!r}"):
        d2l.download_extract("arch")
    root = tmp_path / "data"
    assert sorted(p.name for p in root.iterdir()) == ["x.tar.gz"]  # no folder, no staging
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/d2l-evil.txt").exists()


@pytest.mark.parametrize("case", ["dotdot", "symlink out", "absolute symlink", "hard link out"])
def test_a_malicious_tar_is_refused_with_the_data_filter(monkeypatch, tmp_path, case):
    if not hasattr(tarfile, "data_filter"):
        pytest.skip("this Python's tarfile has no data filter (the fallback is tested above)")
    members, _ = MALICIOUS[case]
    _serve(monkeypatch, tmp_path, "x.tar.gz", _tar_bytes(members))
    with pytest.raises(ValueError, match="refusing to extract x.tar.gz"):
        d2l.download_extract("arch")
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["x.tar.gz"]


# The book's DATA_HUB entries for the chapters this course covers (d2l-zh, PyTorch edition:
# 4 kaggle house, 8 time machine, 9 fra-eng, 11 airfoil, 13 photos, hotdog, bananas).
BOOK_SHA1 = {
    "kaggle_house_train": "585e9cc93e70b39160e7921475f9bcd7d31219ce",
    "kaggle_house_test": "fa19780a7b011d9b009e8bff8e99922a8ee2eb90",
    "time_machine": "090b5e7e70c295757f55df93cb0a180b9691891a",
    "fra-eng": "94646ad1522d915e7b0f9296181140edcf86a4f5",
    "airfoil": "76e5be1548fd8222e5074cf0faae75edff8cf93f",
    "catdog": "60b7d540db03eef6b9834329bccc4417ef349bf6",
    "cat1": "f9c5b905d908b97eeeb64ff34a46fa8b143f88f8",
    "hotdog": "fba480ffa8aa7e0febbb511d181409f899b9baa5",
    "banana-detection": "5de26c8fce5ccdea9f91267273464dc968d20d72",
}


def test_the_hub_holds_every_data_set_of_the_books_chapters_with_its_sha1():
    assert {name: sha1 for name, (_, sha1) in hub.DATA_HUB.items()} == BOOK_SHA1
    assert hub.DATA_HUB["hotdog"][0] == hub.DATA_URL + "hotdog.zip"
    assert hub.DATA_HUB["banana-detection"][0] == hub.DATA_URL + "banana-detection.zip"


def test_the_photos_are_pinned_to_a_commit_not_a_branch():
    commit = "6ceb0aeef0a300780f001d629cdda76512edf14a"  # holds both with the SHA-1s above
    for name in ("catdog", "cat1"):
        url = hub.DATA_HUB[name][0]
        assert url == f"https://raw.githubusercontent.com/d2l-ai/d2l-zh/{commit}/img/{name}.jpg"


def test_the_books_fine_tuning_code_finds_hotdog(monkeypatch, tmp_path):
    """The book's `d2l.download_extract('hotdog')` needs the entry (a KeyError before)."""
    folder = "hotdog"
    archive = _zip_bytes({f"{folder}/train/hotdog/0.png": b"png", f"{folder}/test/x": b""})
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "hotdog.zip").write_bytes(archive)
    monkeypatch.setenv("D2L_DATA_URL", mirror.as_uri())
    monkeypatch.setitem(
        hub.DATA_HUB, "hotdog", (hub.DATA_HUB["hotdog"][0], hashlib.sha1(archive).hexdigest())
    )
    got = Path(d2l.download_extract("hotdog"))
    assert got == tmp_path / "data" / "hotdog" and (got / "train" / "hotdog" / "0.png").is_file()


def test_no_network_is_named_plainly(monkeypatch, tmp_path):
    import urllib.error
    import urllib.request

    def offline(*args, **kwargs):  # what urlopen raises when no name server answers
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(d2l.DownloadError) as info:
        d2l.download("time_machine", retries=0)
    first = str(info.value).splitlines()[0]
    assert "no network?" in first and "Temporary failure in name resolution" in first
    assert info.value.__cause__ is None
