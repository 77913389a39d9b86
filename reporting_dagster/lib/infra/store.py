"""The report store: where report files live. Local folder or S3, one interface.

Objects are written once: `put` refuses to overwrite an existing key, so a retried or
concurrent write can never replace a delivered file. Keys are built from ids only; the name a
person sees (`download_name`, lib/delivery/filenames.py) travels beside the key: as the S3
object's Content-Disposition and its presigned links' response-content-disposition, and in the
local store's manifest (`manifest.jsonl` at its root: one JSON line per file written).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import tempfile
import unicodedata
import urllib.parse
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reporting_dagster.lib.infra.limits import AwsLimits, s3_limits


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


class ObjectExists(FileExistsError):
    """The key already holds an object; store keys are written once."""


class StoreUnreachable(ConnectionError):
    """The store did not answer in time (or at all), every attempt; the message says what to check."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    uri: str
    size: int
    sha256: str


KEY_TOKEN_CHARS = 10
_KEY_PART = re.compile(r"^[a-z][a-z0-9_]*$")


def key_token(installation_token: str, generated_report_id: int, created_at: dt.datetime | None = None) -> str:
    """The key's token: the first 10 hex characters of sha256 of "{installation token}:{id}" and,
    when the row has one, ":{created_at in microseconds since the epoch}".

    Built from ids and the row's own creation time only. Stable for one generated_report row (a
    retried request computes the same key and finds its earlier object); different across
    databases: their installation tokens differ (lib/infra/installation.py), and a database restored
    from another's dump (same token, same ids) creates its new rows at other microseconds.
    """
    if not installation_token:
        raise ValueError("an installation token is required to build a store key")
    seed = f"{installation_token}:{int(generated_report_id)}"
    if created_at is not None:
        if created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
        seed += f":{(created_at - _EPOCH) // dt.timedelta(microseconds=1)}"
    return hashlib.sha256(seed.encode("ascii")).hexdigest()[:KEY_TOKEN_CHARS]


def report_key(organization_id: int, period_start: dt.date, report_type: str, generated_report_id: int, ext: str,
               *, installation_token: str, created_at: dt.datetime | None = None) -> str:
    """reports/{organization_id}/{YYYY}/{MM}/{report_type}-{generated_report_id}-{token}.{ext} (DESIGN.md).

    Keys written before the token existed (`{report_type}-{generated_report_id}.{ext}`) stay
    valid wherever keys are read (retention, delivery); only new keys carry the token.
    """
    for part in (report_type, ext):
        if not _KEY_PART.match(part):
            raise ValueError(f"{part!r} cannot be part of a store key")
    token = key_token(installation_token, generated_report_id, created_at)
    return (
        f"reports/{int(organization_id)}/{period_start:%Y}/{period_start:%m}/"
        f"{report_type}-{int(generated_report_id)}-{token}.{ext}"
    )


# --- the readable name a download carries (built by lib/delivery/filenames.py) ---------------------

def ascii_fallback(name: str) -> str:
    """The name in plain ASCII for old clients (`filename="…"`): accents dropped, dashes kept."""
    text = name.replace("–", "-").replace("—", "-")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r'["\\%;\x00-\x1f\x7f]', "", text)  # no quote, escape or control can end the value
    stem, _, ext = text.rpartition(".")
    stem = " ".join(stem.split()).strip(" .-") or "report"
    return f"{stem}.{ext or 'bin'}"


def content_disposition(name: str, disposition: str = "attachment") -> str:
    """An ASCII-only Content-Disposition (RFC 6266): `filename="<ASCII>"` for old clients and
    `filename*=UTF-8''<percent-encoded>` (RFC 5987) with the real name. HTTP header values
    carry ASCII only, so the non-ASCII name travels percent-encoded; a control character in
    `name` is dropped from the ASCII form and percent-encoded in the other (never a raw CR/LF)."""
    encoded = urllib.parse.quote(name, safe="")
    return f"{disposition}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{encoded}"


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"invalid store key {key!r}")
    return key


class Store(ABC):
    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream", *,
            download_name: str | None = None) -> StoredObject:
        """Write `data` under `key` once; raise ObjectExists if the key is taken. `download_name`
        (already sanitised, lib/delivery/filenames.py) is the name a download of it carries."""

    @abstractmethod
    def get(self, key: str) -> bytes: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def url(self, key: str, expires_in: int = 300, *, download_name: str | None = None) -> str:
        """A link a person can download the object from (saved as `download_name` where the
        link can say so: S3's presigned links)."""

    @abstractmethod
    def uri(self, key: str) -> str:
        """The object's canonical address (s3://… or file://…), for lineage metadata."""

    # Retention (lib/operations/retention.py). Concrete defaults so stores written elsewhere keep working.
    def archive(self, key: str, archive_key: str) -> StoredObject:
        """Move `key` to `archive_key` (cold storage where the store has it), write-once.

        Safe to re-run after a crash between copy and delete: an archive copy already there
        means only the original is left to delete; original gone and archive present is done.
        Raises FileNotFoundError when neither exists.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot archive")

    def delete(self, key: str) -> bool:
        """Remove `key`; True if something was deleted, False if it was already gone."""
        raise NotImplementedError(f"{type(self).__name__} cannot delete")

    def list_keys(self, prefix: str) -> Iterator[tuple[str, dt.datetime]]:
        """(key, last modified in UTC) of every object whose key starts with `prefix`."""
        raise NotImplementedError(f"{type(self).__name__} cannot list")

    def read_back(self, key: str) -> bytes | None:
        """The bytes under `key`, None when there are none: put_verified's look after a failed put."""
        return self.get(key) if self.exists(key) else None


def put_verified(store: Store, key: str, data: bytes, content_type: str, *,
                 download_name: str | None = None) -> StoredObject:
    """Write once; when the write's answer is lost (the connection dropped after the object landed,
    or a retried PUT finds it), read the object back: the same bytes mean the write succeeded, so
    no row fails and no object is left that no row points to. Other bytes under the key fail."""
    try:
        return store.put(key, data, content_type, download_name=download_name)
    except Exception:
        try:
            there = store.read_back(key)
        except Exception:  # noqa: BLE001 - the store is unreachable: the original error says why
            there = None
        if there is not None and hashlib.sha256(there).digest() == hashlib.sha256(data).digest():
            return describe(store, key, there)
        raise


def describe(store: Store, key: str, data: bytes) -> StoredObject:
    """The StoredObject of bytes under a key: uri, size and sha256."""
    return StoredObject(key=key, uri=store.uri(key), size=len(data), sha256=hashlib.sha256(data).hexdigest())


MANIFEST = "manifest.jsonl"


class LocalStore(Store):
    """A folder. With `manifest` (the environment's store has `<folder>/manifest.jsonl`), every
    file written is listed there with the readable name a person looks for (a local file has no
    Content-Disposition): one JSON line per file, appended in one write, so concurrent writers
    never interleave. Without it (a bare LocalStore, as tests make), only the files are written."""

    def __init__(self, root: str | os.PathLike[str], *, manifest: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).resolve()
        self.manifest = Path(manifest).resolve() if manifest is not None else None

    def path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def _record(self, stored: StoredObject, content_type: str, download_name: str | None) -> None:
        if self.manifest is None:
            return
        line = json.dumps({"key": stored.key, "download_name": download_name, "content_type": content_type,
                           "size": stored.size, "sha256": stored.sha256,
                           "stored_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")},
                          ensure_ascii=False) + "\n"
        self.manifest.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.manifest, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)

    def download_name(self, key: str) -> str | None:
        """The readable name the manifest holds for `key` (the last one written), else None."""
        if self.manifest is None:
            return None
        try:
            text = self.manifest.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        name = None
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash is skipped, never fatal
            if isinstance(entry, dict) and entry.get("key") == key:
                name = entry.get("download_name")
        return name

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream", *,
            download_name: str | None = None) -> StoredObject:
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
        stored = describe(self, key, data)
        self._record(stored, content_type, download_name)
        return stored

    def get(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def url(self, key: str, expires_in: int = 300, *, download_name: str | None = None) -> str:
        return self.uri(key)  # a file has no header: its readable name is in the manifest

    def uri(self, key: str) -> str:
        return self.path(key).as_uri()

    def archive(self, key: str, archive_key: str) -> StoredObject:
        source, target = self.path(key), self.path(archive_key)
        if not target.is_file():
            if not source.is_file():
                raise FileNotFoundError(f"{key} is not in the report store")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)  # atomic, and refuses an existing name
            except FileExistsError:
                pass  # a concurrent archiver got there first; checked below
            # the archive date is the object's date, as for an S3 copy (the 7-year sweep reads it)
            os.utime(target)
        if source.is_file():
            if not os.path.samefile(source, target) and source.stat().st_size != target.stat().st_size:
                raise ObjectExists(f"{archive_key} already holds a different object")
            source.unlink()
        return describe(self, archive_key, target.read_bytes())

    def delete(self, key: str) -> bool:
        try:
            self.path(key).unlink()
            return True
        except FileNotFoundError:
            return False

    def list_keys(self, prefix: str) -> Iterator[tuple[str, dt.datetime]]:
        # walk only the folder the prefix names (up to its last "/"), not the whole store
        folder = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.name.startswith(".incoming-") or path == self.manifest:
                continue
            key = path.relative_to(self.root).as_posix()
            if key.startswith(prefix):
                yield key, dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc)


def s3_client(*, endpoint_url: str | None = None, region_name: str | None = None, limits: AwsLimits | None = None,
              max_attempts: int | None = None, profile_name: str | None = None, use_ssl: bool = True,
              verify: bool | str | None = None, aws_access_key_id: str | None = None,
              aws_secret_access_key: str | None = None, aws_session_token: str | None = None,
              unsigned: bool = False) -> Any:
    """An S3 client with explicit connect/read timeouts and attempts (`limits`, else REPORTS_S3_*)."""
    import boto3
    import botocore

    limits = limits or s3_limits()
    extra = {"signature_version": botocore.UNSIGNED} if unsigned else {}
    session = boto3.session.Session(profile_name=profile_name)
    return session.client(
        "s3", region_name=region_name, endpoint_url=endpoint_url, use_ssl=use_ssl, verify=verify,
        aws_access_key_id=aws_access_key_id, aws_secret_access_key=aws_secret_access_key,
        aws_session_token=aws_session_token, config=limits.botocore_config(max_attempts, **extra))


class S3Store(Store):
    """`read_back_client` makes the client (one attempt, say) of put_verified's look after a failed
    put, so a hung store holds a file for one put's retries plus one attempt, not two calls' retries."""

    def __init__(self, client: Any, bucket: str, prefix: str = "", *,
                 read_back_client: Callable[[], Any] | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.read_back_client = read_back_client

    def _full(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextlib.contextmanager
    def _answering(self, operation: str, key: str) -> Iterator[None]:
        """botocore's timeout and connection errors, after its last attempt, as one clear message."""
        from botocore import exceptions as bex

        try:
            yield
        except (bex.ConnectionError, bex.HTTPClientError) as exc:
            if isinstance(exc, bex.ReadTimeoutError):
                what = "no answer within the read timeout"
            elif isinstance(exc, bex.ConnectTimeoutError):
                what = "no connection within the connect timeout"
            elif isinstance(exc, bex.EndpointConnectionError):
                what = "could not connect"
            else:
                what = "the connection was lost"
            config = self.client.meta.config
            attempts = (config.retries or {}).get("total_max_attempts", "?")
            raise StoreUnreachable(
                f"the report store did not answer ({what}): {operation} {key} in s3://{self.bucket} failed after "
                f"up to {attempts} attempts of {config.connect_timeout:g} s connect + {config.read_timeout:g} s "
                "read; check that S3 is reachable (REPORTS_S3_ENDPOINT_URL, network), then retry the run"
            ) from exc

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream", *,
            download_name: str | None = None) -> StoredObject:
        from botocore.exceptions import ClientError

        named = {"ContentDisposition": content_disposition(download_name)} if download_name else {}
        try:
            # conditional write: S3 refuses it when the key exists (HTTP 412)
            with self._answering("writing", key):
                self.client.put_object(
                    Bucket=self.bucket, Key=self._full(key), Body=data, ContentType=content_type,
                    IfNoneMatch="*", **named,
                )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                raise ObjectExists(f"{key} already exists in s3://{self.bucket}") from None
            raise
        return describe(self, key, data)

    def get(self, key: str) -> bytes:
        with self._answering("reading", key):
            return self.client.get_object(Bucket=self.bucket, Key=self._full(key))["Body"].read()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            with self._answering("looking up", key):
                self.client.head_object(Bucket=self.bucket, Key=self._full(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def read_back(self, key: str) -> bytes | None:
        if self.read_back_client is None:
            return super().read_back(key)
        return Store.read_back(S3Store(self.read_back_client(), self.bucket, self.prefix), key)

    def url(self, key: str, expires_in: int = 300, *, download_name: str | None = None) -> str:
        """A presigned GET; with `download_name` the response carries it as Content-Disposition
        (also for objects written before they had one)."""
        params = {"Bucket": self.bucket, "Key": self._full(key)}
        if download_name:
            params["ResponseContentDisposition"] = content_disposition(download_name)
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=int(expires_in))

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"

    def _head(self, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._full(key), ChecksumMode="ENABLED")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def archive(self, key: str, archive_key: str) -> StoredObject:
        """Server-side copy to GLACIER, then delete the original.

        The copy asks S3 for a SHA-256 checksum, so the archived object's hash is known without
        reading it back (a GLACIER object cannot be read until restored).
        """
        from botocore.exceptions import ClientError

        source, archived = self._head(key), self._head(archive_key)
        if archived is None:
            if source is None:
                raise FileNotFoundError(f"{key} is not in the report store")
            try:
                self.client.copy_object(
                    Bucket=self.bucket, Key=self._full(archive_key),
                    CopySource={"Bucket": self.bucket, "Key": self._full(key)},
                    StorageClass="GLACIER", ChecksumAlgorithm="SHA256", MetadataDirective="COPY",
                    IfNoneMatch="*",  # honoured by S3; servers that ignore it are covered by the head above
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code", "") not in (
                        "PreconditionFailed", "412", "ConditionalRequestConflict"):
                    raise
            archived = self._head(archive_key)
            if archived is None:
                raise FileNotFoundError(f"{archive_key} did not appear after the copy")
        if source is not None:
            if source.get("ContentLength") != archived.get("ContentLength"):
                raise ObjectExists(f"{archive_key} already holds a different object")
            self.client.delete_object(Bucket=self.bucket, Key=self._full(key))
        checksum = archived.get("ChecksumSHA256") or ""
        sha256 = base64.b64decode(checksum).hex() if checksum and "-" not in checksum else ""
        return StoredObject(key=archive_key, uri=self.uri(archive_key),
                            size=int(archived.get("ContentLength") or 0), sha256=sha256)

    def delete(self, key: str) -> bool:
        existed = self._head(key) is not None
        self.client.delete_object(Bucket=self.bucket, Key=self._full(key))
        return existed

    def list_keys(self, prefix: str) -> Iterator[tuple[str, dt.datetime]]:
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=full):
            for item in page.get("Contents", []):
                yield item["Key"][strip:], item["LastModified"].astimezone(dt.timezone.utc)
