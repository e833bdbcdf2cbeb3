"""Reachability checks (`d2lhelpers.data.online`) against a real HTTP server on 127.0.0.1,
a socket that never answers, a closed port and files the tests create."""

from __future__ import annotations

import http.server
import socket
import threading
from types import SimpleNamespace

import pytest

from d2lhelpers.data import hub
from d2lhelpers.data.online import data_available, reachable, weights_available


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers HEAD for the paths in `present` with 200, everything else with 404."""

    present: set[str] = set()
    methods: list[str] = []

    def do_HEAD(self):  # noqa: N802 - http.server API
        self.methods.append("HEAD")
        self.send_response(200 if self.path in self.present else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):  # noqa: N802 - a check must not download the file
        self.methods.append("GET")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.present = {"/hotdog.zip", "/resnet.pth"}
    _Handler.methods = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here now
    return port


# ---------------------------------------------------------------- reachable


def test_an_answering_server_is_reachable_by_a_head_request(server):
    assert reachable(f"{server}/hotdog.zip") == (True, "")
    assert _Handler.methods == ["HEAD"]  # nothing was downloaded


def test_a_missing_file_names_the_status(server):
    ok, why = reachable(f"{server}/nothing.zip")
    assert not ok
    assert "404" in why and "/nothing.zip" in why


def test_a_closed_port_is_not_reachable(closed_port):
    ok, why = reachable(f"http://127.0.0.1:{closed_port}/x.zip")
    assert not ok
    assert f"127.0.0.1:{closed_port}/x.zip is not reachable" in why


def test_a_server_that_never_answers_gives_up_after_the_timeout():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # the kernel accepts the connection, nobody replies
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/x.zip"
        ok, why = reachable(url, timeout=0.3)
        assert not ok
        assert url in why and ("0.3 s" in why or "timed out" in why)
    finally:
        silent.close()


def test_a_hanging_name_lookup_cannot_hold_the_caller_up(monkeypatch):
    # urlopen's timeout does not bound a name lookup; the probe's thread does
    release = threading.Event()

    def hang(*args, **kwargs):
        release.wait(10)
        raise OSError("lookup failed late")

    monkeypatch.setattr("urllib.request.urlopen", hang)
    try:
        ok, why = reachable("https://slow.example/x.zip", timeout=0.2)
        assert not ok and "did not answer within 0.2 s" in why
    finally:
        release.set()


def test_file_urls_and_other_schemes(tmp_path):
    present = tmp_path / "a b.zip"  # a space, quoted in the URL
    present.write_bytes(b"x")
    assert reachable(present.as_uri()) == (True, "")
    ok, why = reachable((tmp_path / "absent.zip").as_uri())
    assert not ok and str(tmp_path / "absent.zip") in why
    ok, why = reachable("ftp://example.invalid/x.zip")
    assert not ok and "ftp://example.invalid/x.zip" in why
    with pytest.raises(ValueError, match="timeout"):
        reachable(present.as_uri(), timeout=0)


# ---------------------------------------------------------------- data_available


def _register(monkeypatch, url):
    monkeypatch.setitem(hub.DATA_HUB, "hotdog", (url, "0" * 40))


def test_data_in_the_cache_needs_no_network(monkeypatch, tmp_path, closed_port):
    _register(monkeypatch, f"http://127.0.0.1:{closed_port}/hotdog.zip")
    root = tmp_path / "data"  # the data root the conftest sets
    assert not data_available("hotdog")[0]
    (root / "hotdog").mkdir(parents=True)  # extracted before
    assert data_available("hotdog") == (True, "")
    (root / "hotdog").rmdir()
    (root / "hotdog.zip").write_bytes(b"x")  # downloaded before
    assert data_available("hotdog") == (True, "")


def test_data_from_the_mirror_or_the_server(monkeypatch, tmp_path, server):
    _register(monkeypatch, f"{server}/hotdog.zip")
    assert data_available("hotdog") == (True, "")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    monkeypatch.setenv("D2L_DATA_URL", mirror.as_uri())
    ok, why = data_available("hotdog")  # the mirror replaces the server, as for download()
    assert not ok and str(mirror / "hotdog.zip") in why
    (mirror / "hotdog").mkdir()  # an extracted folder in a file mirror is enough
    assert data_available("hotdog") == (True, "")


def test_an_entry_that_is_not_an_archive(monkeypatch, tmp_path, server):
    monkeypatch.setitem(hub.DATA_HUB, "photo", (f"{server}/photo.jpg", "0" * 40))
    ok, why = data_available("photo")
    assert not ok and "404" in why
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "photo.jpg").write_bytes(b"x")
    assert data_available("photo") == (True, "")


def test_an_unknown_name_lists_the_hub():
    with pytest.raises(KeyError, match="hotdog"):
        data_available("hotdgo")


# ---------------------------------------------------------------- weights_available


def test_weights_in_torch_hubs_cache_need_no_network(monkeypatch, tmp_path, closed_port):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    weights = SimpleNamespace(url=f"http://127.0.0.1:{closed_port}/models/resnet.pth")
    ok, why = weights_available(weights)
    assert not ok and "resnet.pth" in why
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "resnet.pth").write_bytes(b"x")
    assert weights_available(weights) == (True, "")


def test_weights_on_a_server(monkeypatch, tmp_path, server):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert weights_available(SimpleNamespace(url=f"{server}/resnet.pth")) == (True, "")
    assert not weights_available(SimpleNamespace(url=f"{server}/other.pth"))[0]
