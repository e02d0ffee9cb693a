"""Evidence photos: checked (really an image, allowed type, size, dimensions read from the
header before anything is decoded), re-encoded without metadata, stored once by content hash
in the photo storage (a folder or an S3 bucket, see storage.py), with a small thumbnail
beside it."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from .models import Photo
from .storage import Storage

ALLOWED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_SIDE = 4000  # the phone downscales to 1600; anything far larger was not sent by our page
MAX_PIXELS = 12_000_000  # 4000 x 3000: a 12 MP camera's full frame
THUMB_SIDE = 320
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own bomb guard, as a second line
SAVE = {"JPEG": {"quality": 88, "optimize": True}, "PNG": {"optimize": True},
        "WEBP": {"quality": 85}}


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


def clean_image(data: bytes) -> tuple[bytes, Image.Image]:
    """The upload re-encoded from its pixels alone: no EXIF (GPS), no comments, nothing after
    the image data (a JPEG with HTML appended comes out a plain JPEG). The size is judged from
    the header, which `Image.open` reads without decoding: a 143 KB PNG declaring 7000x7000
    is refused before its 190 MB of pixels exist."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # header only
            if image.format not in ALLOWED:
                raise PhotoError("bad_type")
            width, height = image.size
            if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
                raise PhotoError("too_big_dimensions")
            image.load()
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError("too_big_dimensions") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise PhotoError("not_image") from None
    upright = ImageOps.exif_transpose(image)  # the orientation tag goes; the pixels turn
    if image.format == "JPEG" and upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    # Pillow's writers copy some of `info` (ICC profile, EXIF for WebP) into the new file
    upright.info = {k: v for k, v in upright.info.items() if k == "transparency"}
    out = io.BytesIO()
    upright.save(out, image.format, **SAVE[image.format])
    clean = Image.open(io.BytesIO(out.getvalue()))
    clean.load()
    return out.getvalue(), clean


def store_photo(session: Session, *, data: bytes, storage: Storage, max_bytes: int,
                uploaded_by: int | None) -> StoredPhoto:
    if len(data) > max_bytes:
        raise PhotoError("too_large")
    data, image = clean_image(data)
    digest = hashlib.sha256(data).hexdigest()
    if not storage.exists(photo_key(digest, thumb=True)):  # the thumbnail is written last
        storage.put(photo_key(digest), data, ALLOWED[image.format])
        thumb = image.convert("RGB")
        thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
        out = io.BytesIO()
        thumb.save(out, "JPEG", quality=80)
        storage.put(photo_key(digest, thumb=True), out.getvalue(), "image/jpeg")
    if session.get(Photo, digest) is None:
        try:
            with session.begin_nested():
                session.add(Photo(sha256=digest, mime=ALLOWED[image.format], size=len(data),
                                  width=image.size[0], height=image.size[1],
                                  uploaded_by=uploaded_by))
        except IntegrityError:  # the same photo sent twice at once: the other request stored it
            pass
    return StoredPhoto(digest, ALLOWED[image.format], image.size[0], image.size[1])


def read_photo(storage: Storage, sha256: str, thumb: bool = False) -> bytes | None:
    return storage.get(photo_key(sha256, thumb=thumb))
