"""Where evidence photos live: a folder on this machine (`STORAGE_DIR`, the default) or an
S3-compatible bucket (`STORAGE_URL=s3://bucket[/prefix]`: MinIO, Alibaba OSS, Tencent COS, AWS)
so that several app servers see the same files.

Objects are written once under a key derived from their content hash, so writing is idempotent
and never needs a lock; a reader sees either no object or the whole object.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from flask import Flask, current_app


class Storage(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is no such object."""

    def exists(self, key: str) -> bool: ...


class LocalStorage:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"key outside the storage folder: {key!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # its own temporary file: two threads writing the same object must not share one
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")
        tmp.write_bytes(data)
        tmp.replace(path)  # atomic: a half-written file is never served

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, key: str) -> bool:
        return self._path(key).exists()


class S3Storage:
    """Any S3-compatible service through boto3; credentials from the usual AWS_* variables."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str | None = None, addressing_style: str | None = None):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None,
            config=Config(retries={"max_attempts": 5, "mode": "standard"},
                          s3={"addressing_style": addressing_style or "auto"}),
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data,
                               ContentType=content_type)

    def get(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def from_config(config) -> Storage:
    url = config.get("STORAGE_URL") or ""
    if not url:
        return LocalStorage(config["STORAGE_DIR"])
    parsed = urlparse(url)
    if parsed.scheme == "s3" and parsed.netloc:
        return S3Storage(parsed.netloc, parsed.path, endpoint_url=config.get("S3_ENDPOINT_URL"),
                         region=os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION"),
                         addressing_style=os.environ.get("S3_ADDRESSING_STYLE"))
    if parsed.scheme == "file":
        return LocalStorage(parsed.path)
    raise ValueError(f"STORAGE_URL must be s3://bucket[/prefix] or file:///folder, not {url!r}")


def init_app(app: Flask) -> None:
    app.extensions["storage"] = from_config(app.config)


def storage() -> Storage:
    return current_app.extensions["storage"]
