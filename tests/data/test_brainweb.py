"""BrainWeb raw reader and the downloader against a local stand-in server."""

from __future__ import annotations

import gzip
import http.server
import threading
import urllib.parse

import numpy as np
import pytest

from dnsp.data.brainweb import (
    MODEL_SUBJECTS,
    brainweb_items,
    download_brainweb,
    raw_geometry,
    read_brainweb_raw,
    write_brainweb_raw,
)
from dnsp.data.io import load_volume
from dnsp.data.spec import SRDataSpec, discover_subjects
from dnsp.errors import InputError


def test_raw_byte_order_and_geometry(tmp_path):
    data = np.zeros((181, 217, 181), np.uint8)
    data[10, 20, 30] = 200
    p = write_brainweb_raw(data, tmp_path / "x.rawb")
    raw = p.read_bytes()
    assert raw[30 * 217 * 181 + 20 * 181 + 10] == 200  # x fastest, then y, then z
    vol = read_brainweb_raw(p)
    assert vol.data[10, 20, 30] == 200 and vol.data.sum() == 200
    np.testing.assert_allclose(vol.affine[:3, 3], [-90, -126, -72])


def test_raw_short_is_big_endian_and_gz(tmp_path):
    shape, aff = raw_geometry(256 * 256 * 181)
    assert shape == (256, 256, 181)
    np.testing.assert_allclose(aff @ [127.5, 127.5, 90, 1], [0, 0, 0, 1])  # centred grid
    data = (np.arange(np.prod(shape)) % 4096).reshape(shape).astype(np.uint16)
    p = write_brainweb_raw(data, tmp_path / "s.raws.gz")
    head = gzip.decompress(p.read_bytes())[:4]
    assert head == int(data[0, 0, 0]).to_bytes(2, "big") + int(data[1, 0, 0]).to_bytes(2, "big")
    vol = load_volume(p)  # dispatches to the raw reader
    np.testing.assert_array_equal(vol.data, data)


def test_raw_errors(tmp_path):
    bad = tmp_path / "a.rawb"
    bad.write_bytes(b"\0" * 1000)
    with pytest.raises(InputError, match="BrainWeb grid"):
        read_brainweb_raw(bad)
    (tmp_path / "e.raws").write_bytes(b"\0" * 3)
    with pytest.raises(InputError):
        read_brainweb_raw(tmp_path / "e.raws")


@pytest.mark.data
def test_raw_reading_matches_the_nifti_conversion(tmp_path, shared_data):
    nii = load_volume(shared_data / "brainweb" / "t1_icbm_normal_1mm_pn3_rf20.nii.gz")
    raw = write_brainweb_raw(nii.data.astype(np.uint8), tmp_path / "t1.rawb.gz")
    vol = read_brainweb_raw(raw)
    np.testing.assert_array_equal(vol.data, nii.data)
    np.testing.assert_allclose(vol.affine, nii.affine)
    spec = SRDataSpec(source="brainweb", root=str(tmp_path))
    assert [s.id for s in discover_subjects(spec)] == ["t1"]


class _Handler(http.server.BaseHTTPRequestHandler):
    requests: list[dict[str, list[str]]] = []  # noqa: RUF012 - test-local record

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        form = urllib.parse.parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        type(self).requests.append(form)
        alias = form["do_download_alias"][0]
        if "broken" in alias:
            body = b"<html>error</html>"
        elif form["format_value"][0] == "raw_byte":
            body = gzip.compress(np.full(181 * 217 * 181, 7, np.uint8).tobytes())
        else:
            body = gzip.compress(np.full(256 * 256 * 181, 9, ">u2").tobytes())
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    _Handler.requests = []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_phantom_and_model_from_local_server(tmp_path, server):
    out = download_brainweb(tmp_path, ["phantom", "subject04_t1w_p4"], base_url=server)
    assert [p.name for p in out] == ["t1_icbm_normal_1mm_pn3_rf20.rawb.gz",
                                     "subject04_t1w_p4.raws.gz"]
    req = _Handler.requests
    assert req[0]["do_download_alias"] == ["T1+ICBM+normal+1mm+pn3+rf20"]
    assert req[0]["format_value"] == ["raw_byte"] and req[0]["zip_value"] == ["gnuzip"]
    assert req[1]["format_value"] == ["raw_short"]
    assert load_volume(out[0]).data.max() == 7
    assert load_volume(out[1]).shape == (256, 256, 181)
    # present files are skipped
    download_brainweb(tmp_path, "phantom", base_url=server)
    assert len(_Handler.requests) == 2


def test_download_rejects_error_pages_and_leaves_nothing(tmp_path, server):
    with pytest.raises(InputError, match="gzip"):
        download_brainweb(tmp_path, "subjectbroken", base_url=server)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError):
        download_brainweb(tmp_path, "phantom", base_url="file:///etc")
    with pytest.raises(InputError):
        download_brainweb(tmp_path, "phantom", base_url="http://127.0.0.1:9", timeout=2)


def test_items_cover_the_20_models():
    items = brainweb_items("models")
    assert len(items) == 20 == len(MODEL_SUBJECTS)
    assert items[0].alias == "subject04_t1w_p4" and items[-1].alias == "subject54_t1w_p4"
    assert len(brainweb_items("all")) == 21
    with pytest.raises(ValueError):
        brainweb_items("nonsense")
