"""The report store: where report files live. Local folder or S3, one interface.

Objects are written once: `put` refuses to overwrite an existing key, so a retried or
concurrent write can never replace a delivered file. Keys are built from ids only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ObjectExists(FileExistsError):
    """The key already holds an object; store keys are written once."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    uri: str
    size: int
    sha256: str


def report_key(organization_id: int, period_start: dt.date, report_type: str, generated_report_id: int, ext: str) -> str:
    """reports/{organization_id}/{YYYY}/{MM}/{report_type}-{generated_report_id}.{ext} (DESIGN.md)."""
    return (
        f"reports/{int(organization_id)}/{period_start:%Y}/{period_start:%m}/"
        f"{report_type}-{int(generated_report_id)}.{ext}"
    )


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid store key {key!r}")
    return key


class Store(ABC):
    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> StoredObject:
        """Write `data` under `key` once; raise ObjectExists if the key is taken."""

    @abstractmethod
    def get(self, key: str) -> bytes: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def url(self, key: str, expires_in: int = 300) -> str:
        """A link a person can download the object from."""

    @abstractmethod
    def uri(self, key: str) -> str:
        """The object's canonical address (s3://… or file://…), for lineage metadata."""


def _describe(store: Store, key: str, data: bytes) -> StoredObject:
    return StoredObject(key=key, uri=store.uri(key), size=len(data), sha256=hashlib.sha256(data).hexdigest())


class LocalStore(Store):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> StoredObject:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # write to a temporary file, then hard-link: the name appears complete or not at all,
        # and link() fails if the name exists, so nothing is ever overwritten
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise ObjectExists(f"{key} already exists in the report store") from None
        finally:
            os.unlink(tmp)
        return _describe(self, key, data)

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def url(self, key: str, expires_in: int = 300) -> str:
        return self.uri(key)

    def uri(self, key: str) -> str:
        return self.path(key).as_uri()


class S3Store(Store):
    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _full(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> StoredObject:
        from botocore.exceptions import ClientError

        try:
            # conditional write: S3 refuses it when the key exists (HTTP 412)
            self.client.put_object(
                Bucket=self.bucket, Key=self._full(key), Body=data, ContentType=content_type,
                IfNoneMatch="*",
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise ObjectExists(f"{key} already exists in s3://{self.bucket}") from None
            raise
        return _describe(self, key, data)

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._full(key))["Body"].read()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._full(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def url(self, key: str, expires_in: int = 300) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._full(key)}, ExpiresIn=int(expires_in)
        )

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"
