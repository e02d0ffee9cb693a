"""Photo storage: a folder by default, an S3-compatible bucket with STORAGE_URL=s3://... The S3
path runs against moto's standalone server (a real HTTP S3 endpoint in its own process) through
the same boto3 client code production uses."""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image

from app import storage as storage_module
from app.storage import LocalStorage, S3Storage, from_config
from tests import test_shopper
from tests.services import BIN, Process, free_port, wait_for
from tests.test_shopper import COMPLETE, post

BUCKET = "touchpoint-photos"
assignment_id = test_shopper.assignment_id  # the shopper's fixtures, shared
shopper = test_shopper.shopper


@pytest.fixture
def s3_endpoint(tmp_path, monkeypatch):
    """moto_server on a port of its own, with a bucket; credentials as production reads them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-access")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = Process([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], {
        "PATH": str(BIN), "HOME": str(tmp_path)}, tmp_path / "moto.log")
    endpoint = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if not server.alive():
            raise RuntimeError("moto_server exited:\n" + server.output())
        try:
            return requests.get(f"{endpoint}/moto-api/", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_for(answers, timeout=60, what="moto_server")
        S3Storage(BUCKET, endpoint_url=endpoint).client.create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


@pytest.fixture(params=["folder", "s3"])
def photo_storage(request, app, tmp_path):
    """The app's photo storage, configured as an operator would, and a way to list what it holds."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        app.config.update(STORAGE_URL=f"s3://{BUCKET}/evidence", S3_ENDPOINT_URL=endpoint)
    storage_module.init_app(app)
    store = app.extensions["storage"]
    assert isinstance(store, S3Storage if request.param == "s3" else LocalStorage)

    def listing() -> list[str]:
        if request.param == "s3":
            found = store.client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
            return sorted(o["Key"] for o in found)
        root = tmp_path / "storage"
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    return request.param, listing


def _jpeg(size) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def test_an_uploaded_photo_is_stored_once_and_served_back(photo_storage, client, shopper, tmp_path):
    kind, listing = photo_storage
    data = _jpeg((1200, 800))
    sent = [client.post("/shopper/photos", data={"photo": (io.BytesIO(data), "a.jpg")},
                        headers={"X-CSRFToken": shopper["token"]}) for _ in range(2)]
    assert [r.status_code for r in sent] == [201, 201]
    sha = sent[0].get_json()["sha256"]
    assert sent[1].get_json()["sha256"] == sha

    prefix = "evidence/" if kind == "s3" else ""
    assert listing() == [f"{prefix}photos/{sha}", f"{prefix}photos/{sha}_t.jpg"]
    if kind == "s3":  # nothing left on this machine's disk: another server can read it
        assert not (tmp_path / "storage").exists()

    original = client.get(f"/review/photos/{sha}")
    assert original.status_code == 200 and original.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(original.data)).size == (1200, 800)
    thumb = client.get(f"/review/photos/{sha}?thumb=1")
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 320
    assert post(client, shopper, "", {**COMPLETE, "item_showroom_photo": sha}).status_code == 200


def test_a_photo_missing_from_storage_is_a_404_not_an_error(photo_storage, client, shopper, app):
    upload = client.post("/shopper/photos", data={"photo": (io.BytesIO(_jpeg((640, 480))), "a.jpg")},
                         headers={"X-CSRFToken": shopper["token"]})
    sha = upload.get_json()["sha256"]
    store = app.extensions["storage"]
    if isinstance(store, S3Storage):
        store.client.delete_object(Bucket=BUCKET, Key=f"evidence/photos/{sha}")
    else:
        (store.root / "photos" / sha).unlink()
    assert client.get(f"/review/photos/{sha}").status_code == 404


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_the_storage_contract(kind, tmp_path, request):
    if kind == "s3":
        store = S3Storage(BUCKET, "p", endpoint_url=request.getfixturevalue("s3_endpoint"))
    else:
        store = LocalStorage(tmp_path)
    assert store.get("photos/none") is None and not store.exists("photos/none")
    store.put("photos/a", b"first", "image/jpeg")
    store.put("photos/a", b"first", "image/jpeg")  # idempotent
    assert store.exists("photos/a") and store.get("photos/a") == b"first"


def test_a_folder_key_cannot_escape_the_folder(tmp_path):
    with pytest.raises(ValueError):
        LocalStorage(tmp_path / "s").put("../outside", b"x", "text/plain")


@pytest.mark.parametrize(("url", "kind"), [
    ("", LocalStorage), ("s3://bucket", S3Storage), ("s3://bucket/some/prefix", S3Storage),
    ("file:///srv/photos", LocalStorage),
])
def test_storage_url_selects_the_backend(url, kind, tmp_path):
    store = from_config({"STORAGE_URL": url, "STORAGE_DIR": str(tmp_path), "S3_ENDPOINT_URL": ""})
    assert isinstance(store, kind)


@pytest.mark.parametrize("url", ["s3://", "ftp://host/x", "bucket"])
def test_a_malformed_storage_url_is_refused_by_name(url):
    with pytest.raises(ValueError, match="STORAGE_URL"):
        from_config({"STORAGE_URL": url, "STORAGE_DIR": "/tmp", "S3_ENDPOINT_URL": ""})
