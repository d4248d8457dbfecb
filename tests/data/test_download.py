"""End to end against a loopback HTTP server serving archives built here."""

import dataclasses
import functools
import hashlib
import http.server
import shutil
import stat
import threading
import time
import zipfile

import pytest

from pointea.data import DatasetError, ModelNet40H5, ShapeNetPartH5, download
from pointea.data.download import fetch, main
from pointea.data.release_spec import ReleaseSpec

FOLDER = "modelnet40_ply_hdf5_2048"


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/www on 127.0.0.1; yields the base URL."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def zip_release(folder, archive, extra=None):
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, f"{FOLDER}/{path.name}")
        for name, info_or_data in (extra or {}).items():
            zf.writestr(name, info_or_data)
    return archive


def spec_for(folder, url):
    """A ModelNet40 reader whose download facts are those of the fixture release."""
    md5 = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in folder.glob("*.h5")}

    class Fixture(ModelNet40H5):
        download = ReleaseSpec(
            archive="m40.zip", urls=(url,), counts={"train": 9, "test": 3}, points=64, md5=md5
        )

    return Fixture


def test_good_archive_installs_and_reads(server, modelnet_release, tmp_path):
    www, base = server
    folder, _ = modelnet_release
    spec = spec_for(folder, f"{base}/m40.zip")
    zip_release(folder, www / "m40.zip")
    root = tmp_path / "data"
    installed = fetch(spec, root)
    assert installed == root / FOLDER
    assert len(ModelNet40H5(root, "train", 64)) == 9
    assert sorted(p.name for p in root.iterdir()) == [FOLDER]  # no staging or download left
    assert fetch(spec, root) == installed  # present: verified, not fetched again


def test_falls_back_to_the_next_mirror(server, modelnet_release, tmp_path):
    www, base = server
    folder, _ = modelnet_release
    zip_release(folder, www / "m40.zip")
    spec = spec_for(folder, f"{base}/gone.zip")
    fetch(spec, tmp_path / "data", urls=[f"{base}/gone.zip", f"{base}/m40.zip"])
    assert (tmp_path / "data" / FOLDER / "ply_data_train0.h5").is_file()


def _truncated(folder, www, tmp_path):
    full = zip_release(folder, tmp_path / "full.zip").read_bytes()
    (www / "m40.zip").write_bytes(full[: len(full) // 2])


def _wrong_shard(folder, www, tmp_path):
    tampered = tmp_path / "tampered"
    shutil.copytree(folder, tampered)
    data = bytearray((tampered / "ply_data_test0.h5").read_bytes())
    data[-100] ^= 0xFF
    (tampered / "ply_data_test0.h5").write_bytes(bytes(data))
    zip_release(tampered, www / "m40.zip")


def _traversal(folder, www, tmp_path):
    zip_release(folder, www / "m40.zip", extra={"../../escaped.txt": "pwned"})


def _absolute(folder, www, tmp_path):
    zip_release(folder, www / "m40.zip", extra={"/tmp/pointea_absolute.txt": "pwned"})


def _link(folder, www, tmp_path):
    info = zipfile.ZipInfo(f"{FOLDER}/link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    zip_release(folder, www / "m40.zip", extra={info: "/etc/passwd"})


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_truncated, "not a complete zip archive"),
        (_wrong_shard, r"ply_data_test0.h5: md5 \w+ does not match the published"),
        (_traversal, r"member '../../escaped.txt' would be written outside"),
        (_absolute, r"member '/tmp/pointea_absolute.txt' would be written outside"),
        (_link, "is a link; refusing the archive"),
    ],
)
def test_bad_archives_are_refused_and_leave_nothing(
    server, modelnet_release, tmp_path, make, message
):
    www, base = server
    folder, _ = modelnet_release
    spec = spec_for(folder, f"{base}/m40.zip")
    make(folder, www, tmp_path)
    root = tmp_path / "data"
    root.mkdir()
    (root / "other.txt").write_text("mine")
    with pytest.raises(DatasetError, match=message) as refused:
        fetch(spec, root)
    # The archive is named by its URL; the local copies named otherwise are deleted by now.
    assert f"{base}/m40.zip" in str(refused.value)
    assert "-download-" not in str(refused.value) and "-staging-" not in str(refused.value)
    assert sorted(p.name for p in root.iterdir()) == ["other.txt"]
    assert not (tmp_path / "escaped.txt").exists()


def test_unreachable_mirrors_say_how_to_proceed(tmp_path, modelnet_release):
    folder, _ = modelnet_release
    spec = spec_for(folder, "http://127.0.0.1:9/none.zip")
    with pytest.raises(DatasetError, match=r"(?s)127.0.0.1:9/none.zip.*--archive PATH"):
        fetch(spec, tmp_path / "data")
    assert list((tmp_path / "data").iterdir()) == []


def test_cli_installs_from_a_local_archive(modelnet_release, tmp_path, monkeypatch, capsys):
    folder, _ = modelnet_release
    archive = zip_release(folder, tmp_path / "by_hand.zip")
    spec = spec_for(folder, "http://unused")
    monkeypatch.setattr(download, "download_options", lambda: {"modelnet40": spec})
    assert main(["modelnet40", "--root", str(tmp_path / "d"), "--archive", str(archive)]) == 0
    assert "ready" in capsys.readouterr().out
    # A second install into the same root leaves the first copy alone and says so.
    shard = tmp_path / "d" / FOLDER / "ply_data_train0.h5"
    before = shard.read_bytes()
    assert (
        main(
            [
                "modelnet40",
                "--root",
                str(tmp_path / "d"),
                "--archive",
                str(tmp_path / "missing.zip"),
            ]
        )
        == 0
    )
    assert shard.read_bytes() == before


def test_official_checksums_are_the_published_ones():
    md5 = ModelNet40H5.download.md5
    assert md5["ply_data_train0.h5"] == "3176385ffc31a7b6b5af22191fd920d1"
    assert md5["ply_data_test1.h5"] == "aba4b12a67c34391cc3c015a6f08ed4b"
    assert len(md5) == 7 and ModelNet40H5.download.counts == {"train": 9840, "test": 2468}


def test_shapenetpart_checks_file_set_and_counts(parts_release, tmp_path):
    folder, _ = parts_release

    class Fixture(ShapeNetPartH5):
        download = ReleaseSpec(archive="p.zip", counts={"train": 6, "val": 3, "test": 4}, points=64)

    spec = Fixture

    def archive(exclude=()):
        path = tmp_path / "p.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for p in sorted(folder.iterdir()):
                if p.name not in exclude:
                    zf.write(p, f"hdf5_data/{p.name}")
        return path

    assert (fetch(spec, tmp_path / "ok", archive=archive()) / "ply_data_val0.h5").is_file()
    with pytest.raises(DatasetError, match="list file .*val_hdf5_file_list.txt is missing"):
        fetch(spec, tmp_path / "bad", archive=archive(exclude=("val_hdf5_file_list.txt",)))

    class WrongCount(ShapeNetPartH5):
        download = dataclasses.replace(Fixture.download, counts={"train": 12137})

    wrong_count = WrongCount
    with pytest.raises(DatasetError, match="split 'train' holds 6 shapes, expected 12137"):
        fetch(wrong_count, tmp_path / "bad", archive=archive())
    assert list((tmp_path / "bad").iterdir()) == []


class Trickle(http.server.BaseHTTPRequestHandler):
    """Promises a megabyte and sends one byte every 0.1 s: never idle long enough for a
    per-read timeout."""

    def do_GET(self):  # noqa: N802 - the http.server API
        self.send_response(200)
        self.send_header("Content-Length", str(1 << 20))
        self.end_headers()
        try:
            for _ in range(600):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:  # the client gave up
            pass

    def log_message(self, *args):
        pass


def test_a_trickling_mirror_is_given_up_naming_it(tmp_path, modelnet_release, monkeypatch, capsys):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/m40.zip"
    try:
        spec = spec_for(modelnet_release[0], url)
        monkeypatch.setattr(download, "download_options", lambda: {"modelnet40": spec})
        start = time.monotonic()
        code = main(["modelnet40", "--root", str(tmp_path / "d"), "--stall-timeout", "0.5"])
        elapsed = time.monotonic() - start
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert code == 2 and elapsed < 5
    err = capsys.readouterr().err
    stalled = [line for line in err.splitlines() if "stalled" in line]
    assert len(stalled) == 1 and stalled[0].strip().startswith(f"{url}: the transfer stalled")
    assert list((tmp_path / "d").iterdir()) == []


def test_a_release_without_urls_asks_for_the_archive(tmp_path, modelnet_release):
    class ByRequest(ModelNet40H5):
        download = ReleaseSpec(archive="by_request.zip", counts={"train": 9, "test": 3}, points=64)

    with pytest.raises(DatasetError, match=r"no public URL: .*--archive by_request.zip"):
        fetch(ByRequest, tmp_path / "d")
    archive = zip_release(modelnet_release[0], tmp_path / "by_request.zip")
    assert (fetch(ByRequest, tmp_path / "d", archive=archive) / "shape_names.txt").is_file()


def test_the_cli_offers_the_data_options_that_have_a_download(capsys):
    assert set(download.download_options()) >= {"modelnet40", "shapenetpart"}
    assert not {"synthetic_cls", "synthetic_parts"} & set(download.download_options())
    with pytest.raises(SystemExit):
        main(["synthetic_cls", "--root", "x"])
    assert "invalid choice: 'synthetic_cls'" in capsys.readouterr().err
