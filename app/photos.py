"""Evidence photos: checked (really an image, allowed type, size), stored once by content
hash in the photo storage (a folder or an S3 bucket, see storage.py), with a small thumbnail
beside it."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError
from sqlmodel import Session

from .models import Photo
from .storage import Storage

ALLOWED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_SIDE = 4000  # the phone downscales to 1600; anything far larger was not sent by our page
THUMB_SIDE = 320
Image.MAX_IMAGE_PIXELS = 40_000_000  # refuse decompression bombs early


class PhotoError(ValueError):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code  # too_large | not_image | bad_type | too_big_dimensions


@dataclass(frozen=True)
class StoredPhoto:
    sha256: str
    mime: str
    width: int
    height: int


def photo_key(sha256: str, thumb: bool = False) -> str:
    return f"photos/{sha256}_t.jpg" if thumb else f"photos/{sha256}"


def store_photo(session: Session, *, data: bytes, storage: Storage, max_bytes: int,
                uploaded_by: int | None) -> StoredPhoto:
    if len(data) > max_bytes:
        raise PhotoError("too_large")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise PhotoError("not_image") from None
    if image.format not in ALLOWED:
        raise PhotoError("bad_type")
    if max(image.size) > MAX_SIDE:
        raise PhotoError("too_big_dimensions")
    digest = hashlib.sha256(data).hexdigest()
    if not storage.exists(photo_key(digest, thumb=True)):  # the thumbnail is written last
        storage.put(photo_key(digest), data, ALLOWED[image.format])
        thumb = image.convert("RGB")
        thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
        out = io.BytesIO()
        thumb.save(out, "JPEG", quality=80)
        storage.put(photo_key(digest, thumb=True), out.getvalue(), "image/jpeg")
    if session.get(Photo, digest) is None:
        session.add(Photo(sha256=digest, mime=ALLOWED[image.format], size=len(data),
                          width=image.size[0], height=image.size[1], uploaded_by=uploaded_by))
    return StoredPhoto(digest, ALLOWED[image.format], image.size[0], image.size[1])


def read_photo(storage: Storage, sha256: str, thumb: bool = False) -> bytes | None:
    return storage.get(photo_key(sha256, thumb=thumb))
