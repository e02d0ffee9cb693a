"""Photos: size judged from the header before decoding, metadata and trailing bytes gone, and
a manager reaches a photo only through a response in scope that references it."""

from __future__ import annotations

import io
import json
import struct
import threading
import uuid
import zlib

import pytest
from PIL import Image, ImageFile
from sqlmodel import select

from app.db import new_session
from app.models import Answer, Photo, Response
from app.photos import PhotoError, clean_image, read_photo
from tests.conftest import Auth, csrf_token
from tests.test_shopper import COMPLETE, post


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (the decompression-bomb shape)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 3 * width) * 16, 9)  # a few rows are enough to refuse
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def _jpeg_with_gps(size=(640, 480)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (31.0, 14.0, 2.0)  # GPSLatitudeRef, GPSLatitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_huge_declared_size_is_refused_before_decoding(monkeypatch):
    bomb = _png_declaring(7000, 7000)
    assert len(bomb) < 200_000
    decoded = []
    for cls in (Image.Image, ImageFile.ImageFile):
        monkeypatch.setattr(cls, "load", lambda self: decoded.append(self.size))
    with pytest.raises(PhotoError) as refused:
        clean_image(bomb)
    assert refused.value.code == "too_big_dimensions"
    assert decoded == []  # not one pixel was decoded


@pytest.mark.parametrize("size", [(4001, 10), (3999, 3999)])
def test_sides_and_pixel_count_are_both_limited(size):
    with pytest.raises(PhotoError, match="too_big_dimensions"):
        clean_image(_png_declaring(*size))


def test_exif_and_gps_are_removed():
    original = _jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif()  # the test photo does carry them
    data, image = clean_image(original)
    assert not Image.open(io.BytesIO(data)).getexif()
    assert b"PhoneMaker" not in data and b"Exif" not in data
    assert image.size == (640, 480)


def test_the_exif_orientation_is_applied_not_lost():
    image = Image.new("RGB", (600, 200), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° when shown
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    _data, clean = clean_image(out.getvalue())
    assert clean.size == (200, 600)


def test_html_appended_to_a_jpeg_is_not_kept():
    polyglot = _jpeg_with_gps() + b"<html><script>alert(document.cookie)</script></html>"
    data, _image = clean_image(polyglot)
    assert b"<script>" not in data and data.endswith(b"\xff\xd9")


@pytest.fixture
def shopper(client, auth, app):
    from tests.factories import assign_test_checklist

    with app.app_context(), new_session() as session:
        assignment_id = assign_test_checklist(session)
    auth.as_role("shopper")
    page = client.get(f"/shopper/a/{assignment_id}").get_data(as_text=True)
    return {"token": csrf_token(page), "uuid": str(uuid.uuid4()), "id": assignment_id}


def _upload(client, shopper, data: bytes):
    return client.post("/shopper/photos", data={"photo": (io.BytesIO(data), "p.jpg")},
                       headers={"X-CSRFToken": shopper["token"]})


def test_the_stored_original_has_no_gps_and_no_appended_html(app, client, shopper):
    reply = _upload(client, shopper, _jpeg_with_gps() + b"<html><script>x()</script>")
    assert reply.status_code == 201
    sha = reply.get_json()["sha256"]
    stored = read_photo(app.extensions["storage"], sha)
    assert b"<script>" not in stored and not Image.open(io.BytesIO(stored)).getexif()
    served = client.get(f"/review/photos/{sha}")
    assert served.status_code == 200 and served.data == stored


def test_the_bomb_is_refused_over_http(app, client, shopper):
    reply = _upload(client, shopper, _png_declaring(7000, 7000))
    assert reply.status_code == 413
    with app.app_context(), new_session() as session:
        assert session.exec(select(Photo)).all() == []


def _approved_report_with(app, client, auth, shopper, data: dict) -> int:
    assert post(client, shopper, "", {**COMPLETE, **data}).status_code == 200
    with app.app_context(), new_session() as session:
        response = session.exec(select(Response)).one()
        response.status = "approved"
        session.add(response)
        session.commit()
        return response.id


def test_a_text_answer_equal_to_a_photo_hash_is_no_key(app, client, auth, shopper):
    """Finding 5: a manager could open any photo whose hash appeared as a text answer."""
    sha = _upload(client, shopper, _jpeg_with_gps()).get_json()["sha256"]
    _approved_report_with(app, client, auth, shopper, {})
    with app.app_context(), new_session() as session:
        response = session.exec(select(Response)).one()
        # a text answer in the manager's region that happens to equal the hash
        session.add(Answer(response_id=response.id, item_id="notes", value=json.dumps(sha)))
        session.commit()
    manager = Auth(client)
    manager.as_role("manager")  # region east: store E1 holds that response
    assert client.get(f"/review/photos/{sha}").status_code == 404


def test_a_manager_sees_a_photo_through_the_response_that_attaches_it(app, client, auth, shopper):
    sha = _upload(client, shopper, _jpeg_with_gps()).get_json()["sha256"]
    _approved_report_with(app, client, auth, shopper,
                          {"item_showroom_photo": sha, "evidence_drinks": sha})
    Auth(client).as_role("manager")
    assert client.get(f"/review/photos/{sha}").status_code == 200
    Auth(client).as_role("manager_west")  # not their region
    assert client.get(f"/review/photos/{sha}").status_code == 404


def test_a_photo_item_answered_with_someone_elses_photo_is_refused(app, client, auth, shopper):
    sha = _upload(client, shopper, _jpeg_with_gps()).get_json()["sha256"]
    Auth(client).as_role("shopper2")
    from tests.factories import assign_test_checklist

    with app.app_context(), new_session() as session:
        other = assign_test_checklist(session, shopper="shopper2")
    page = client.get(f"/shopper/a/{other}").get_data(as_text=True)
    theirs = {"token": csrf_token(page), "uuid": str(uuid.uuid4()), "id": other}
    reply = post(client, theirs, "/save", {"item_showroom_photo": sha})
    assert reply.status_code == 400


def test_one_photo_sent_by_ten_phones_at_once_is_stored_once(app, shopper):
    """An outbox and a page (or two tabs) may send the same photo at the same moment: every
    sender gets its hash back, and the photo is stored once."""
    data = _jpeg_with_gps()
    clients = []
    for _ in range(10):
        client = app.test_client()
        Auth(client).as_role("shopper")
        page = client.get(f"/shopper/a/{shopper['id']}").get_data(as_text=True)
        clients.append((client, csrf_token(page)))
    start = threading.Barrier(10)
    replies = []

    def send(client, token):
        start.wait()
        reply = client.post("/shopper/photos", data={"photo": (io.BytesIO(data), "p.jpg")},
                            headers={"X-CSRFToken": token})
        replies.append((reply.status_code, (reply.get_json() or {}).get("sha256")))

    threads = [threading.Thread(target=send, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in replies} == {201} and len({sha for _, sha in replies}) == 1
    sha = replies[0][1]
    with app.app_context(), new_session() as session:
        assert [p.sha256 for p in session.exec(select(Photo)).all()] == [sha]
    stored = read_photo(app.extensions["storage"], sha)
    assert Image.open(io.BytesIO(stored)).size == (640, 480)
