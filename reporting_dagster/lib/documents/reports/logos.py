"""Which store object a template's logo may be read from, and reading it as a data: URI.

`report_template.logo_path` is a key in the report store (relative to `REPORTS_S3_PREFIX`, like
`generated_report.file_path`), typed by the organization's own users. It is read only from:

- the organization's own branding folder, `branding/{organization_id}/…`, or
- the shared folder the operator names in `REPORTS_SHARED_BRANDING_PREFIX` (e.g.
  `branding/shared`; unset by default: no shared logos). A setting that would cover report
  files or an organization's own folder (`reports`, `archive`, `dagster-io`, `branding`,
  `branding/7/…`) is not used.

The key is checked as written, never decoded or repaired: a leading `/`, a backslash, a `:` (URL
schemes, drive letters), a `%` (percent-escapes), control characters, characters that Unicode
compatibility folding would change (full-width `．` or `／`), and empty, `.` or `..` segments are
refused; so `branding/1/../2/logo.png` is refused for organization 1, and `branding/10/…` is not
`branding/1/…`. A refused, missing, oversized or non-image logo is left out and the document
carries a WARN finding (`document.LOGO_CHECK`, `logo_from_own_branding`) that says what to fix; the
report still renders.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import re
import unicodedata
from dataclasses import dataclass

from reporting_dagster.lib.infra.store import Store

BRANDING_ROOT = "branding"
SHARED_PREFIX_ENV = "REPORTS_SHARED_BRANDING_PREFIX"
LOGO_TYPES = {"image/png", "image/jpeg", "image/gif", "image/svg+xml", "image/webp"}
MAX_LOGO_BYTES = 512 * 1024
_RESERVED_ROOTS = {"reports", "archive", "dagster-io"}  # report files, archive, Dagster's pickles
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class LogoRefused(ValueError):
    """The logo cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Logo:
    data_uri: str | None
    warning: str | None = None  # why there is no logo, and what to fix


def _segments(key: str, what: str) -> list[str]:
    """The key's '/' segments, or LogoRefused when the key is anything but a plain relative key."""
    if not isinstance(key, str) or not key.strip():
        raise LogoRefused(f"{what} is empty")
    problems = [
        (key.startswith("/"), "starts with '/'"),
        ("\\" in key, "contains a backslash"),
        (":" in key, "contains ':' (a URL or drive, not a store key)"),
        ("%" in key, "contains '%' (percent-escapes are not decoded)"),
        (bool(_CONTROL.search(key)), "contains control characters"),
        (unicodedata.normalize("NFKC", key) != key, "contains look-alike (full-width or compatibility) characters"),
    ]
    for bad, why in problems:
        if bad:
            raise LogoRefused(f"{what} {why}")
    parts = key.split("/")
    if any(p in ("", ".", "..") or p != p.strip() for p in parts):
        raise LogoRefused(f"{what} has an empty, '.', '..' or space-padded segment")
    return parts


def shared_prefix(value: str | None = None) -> list[str] | None:
    """The configured shared branding folder as segments; None when unset. Raises LogoRefused
    for a setting that is not a folder of its own."""
    value = os.environ.get(SHARED_PREFIX_ENV, "") if value is None else value
    value = value.strip().strip("/")
    if not value:
        return None
    parts = _segments(value, f"{SHARED_PREFIX_ENV}={value!r}")
    if parts[0] in _RESERVED_ROOTS or parts == [BRANDING_ROOT] or (
            parts[0] == BRANDING_ROOT and parts[1].isdigit()):
        raise LogoRefused(f"{SHARED_PREFIX_ENV}={value!r} would cover report files or an organization's own "
                          f"{BRANDING_ROOT}/{{organization_id}}/ folder; set it to a folder of its own, "
                          f"e.g. {BRANDING_ROOT}/shared")
    return parts


def allowed_key(key: str, organization_id: int) -> str:
    """`key` when organization `organization_id` may use it as its logo, else LogoRefused."""
    parts = _segments(key, f"logo_path {key[:200]!r}" if isinstance(key, str) else "logo_path")
    own = [BRANDING_ROOT, str(int(organization_id))]
    if len(parts) > len(own) and parts[:len(own)] == own:
        return key
    try:
        shared = shared_prefix()
    except LogoRefused:
        shared = None  # an unusable setting shares nothing
    if shared and len(parts) > len(shared) and parts[:len(shared)] == shared:
        return key
    where = f"{'/'.join(own)}/" + (f" or {'/'.join(shared)}/ ({SHARED_PREFIX_ENV})" if shared else "")
    raise LogoRefused(f"logo_path {key[:200]!r} is not under this organization's branding folder {where}")


def read_logo(store: Store | None, key: str | None, organization_id: int | None, template_id: int | None = None) -> Logo:
    """The template's logo as a data: URI, or none with a warning that names what to fix."""
    if not key:
        return Logo(None)
    where = f"report_template {template_id}" if template_id is not None else "the report template"
    try:
        if organization_id is None:
            raise LogoRefused("the template's organization is unknown")
        allowed_key(key, organization_id)
        mime = mimetypes.guess_type(key)[0]
        if mime not in LOGO_TYPES:
            raise LogoRefused(f"logo_path {key[:200]!r} does not name an image (.png, .jpg, .gif, .svg, .webp)")
        if store is None:
            raise LogoRefused("no report store to read the logo from")
        try:
            data = store.get(key)
        except Exception:  # noqa: BLE001 - a missing logo must not stop the report
            raise LogoRefused(f"logo_path {key[:200]!r} is not in the report store") from None
        if len(data) > MAX_LOGO_BYTES:
            raise LogoRefused(f"the logo is larger than {MAX_LOGO_BYTES // 1024} KB")
    except LogoRefused as exc:
        folder = f"{BRANDING_ROOT}/{organization_id if organization_id is not None else '{organization_id}'}/"
        return Logo(None, f"logo left out: {exc}; fix logo_path of {where} (a key under {folder} in the report store)")
    return Logo(f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}")
