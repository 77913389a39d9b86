"""S3 delivery without S3: the calls deliver.py makes (`put_object`, `get_object`) on a folder.

The demo and a laptop store reports in a local folder; a schedule that delivers "an S3 copy"
then writes it under `<folder>/<bucket>/<key>`, with the same write-once rule (`IfNoneMatch`)
and the readable name kept in `<folder>/manifest.jsonl`, so a data engineer sees what S3
delivery would do without an S3 server. Only the parameters deliver.py passes are understood.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from reporting_dagster.lib.infra.store import LocalStore, ObjectExists


class LocalBucketsError(ClientError):
    """botocore's ClientError, so deliver.py reads `response["Error"]["Code"]` as from S3."""

    def __init__(self, code: str, message: str, operation: str = "PutObject") -> None:
        super().__init__({"Error": {"Code": code, "Message": message}}, operation)


class LocalBuckets:
    """A tiny S3 client over a folder: one sub-folder per bucket."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def _store(self, bucket: str) -> LocalStore:
        if not bucket or "/" in bucket or bucket in (".", ".."):
            raise LocalBucketsError("InvalidBucketName", f"invalid bucket {bucket!r}")
        return LocalStore(self.root / bucket, manifest=self.root / "manifest.jsonl")

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str = "application/octet-stream",
                   IfNoneMatch: str | None = None, ContentDisposition: str | None = None) -> dict[str, Any]:
        """Write once (a second write to the key is refused as S3 refuses an `If-None-Match: *` PUT).
        The manifest line holds the Content-Disposition's readable name."""
        name = _filename(ContentDisposition)
        try:
            self._store(Bucket).put(Key, bytes(Body), ContentType, download_name=name)
        except ObjectExists:
            raise LocalBucketsError("PreconditionFailed", f"{Key} already exists in {Bucket}") from None
        return {"ETag": f'"{hashlib.md5(bytes(Body), usedforsecurity=False).hexdigest()}"'}

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        store = self._store(Bucket)
        try:
            data = store.get(Key)
        except FileNotFoundError:
            raise LocalBucketsError("NoSuchKey", f"{Key} is not in {Bucket}", "GetObject") from None
        modified = dt.datetime.fromtimestamp(store.path(Key).stat().st_mtime, dt.timezone.utc)
        return {"Body": _Body(data), "ETag": f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"',
                "LastModified": modified, "ContentLength": len(data)}


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self) -> bytes:
        return self._data


def _filename(disposition: str | None) -> str | None:
    """The UTF-8 name of `filename*=UTF-8''…` (lib/delivery/filenames.content_disposition)."""
    import urllib.parse

    if not disposition or "filename*=UTF-8''" not in disposition:
        return None
    return urllib.parse.unquote(disposition.split("filename*=UTF-8''", 1)[1].split(";", 1)[0].strip())
