"""Evidence photos: checked (really an image, allowed type, size), stored once by content
hash in the storage folder, with a small thumbnail beside it."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlmodel import Session

from .models import Photo

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


def _folder(storage: str) -> Path:
    folder = Path(storage) / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def store_photo(session: Session, *, data: bytes, storage: str, max_bytes: int,
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
    folder = _folder(storage)
    target = folder / digest
    if not target.exists():
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)  # atomic: a half-written file is never served
        thumb = image.convert("RGB")
        thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
        thumb.save(folder / f"{digest}_t.jpg", "JPEG", quality=80)
    if session.get(Photo, digest) is None:
        session.add(Photo(sha256=digest, mime=ALLOWED[image.format], size=len(data),
                          width=image.size[0], height=image.size[1], uploaded_by=uploaded_by))
    return StoredPhoto(digest, ALLOWED[image.format], image.size[0], image.size[1])


def photo_path(storage: str, sha256: str, thumb: bool = False) -> Path:
    return _folder(storage) / (f"{sha256}_t.jpg" if thumb else sha256)
