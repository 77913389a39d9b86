"""The file name a person sees when downloading or opening a report: organization, report, period.

Store keys are ids only (lib/infra/store.py); this name travels beside the key, in
`Content-Disposition` (S3 objects, presigned links), as the e-mail attachment's filename and in
the local store's manifest. It is built from untrusted text (organization names), so it is
sanitised to be a valid, harmless file name on Windows, macOS and Linux: never a path (no `/` or
`\\`), no control characters, none of Windows' reserved characters or device names (CON, NUL,
COM1, …), no leading or trailing dots and spaces, and bounded in length (the extension kept).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from reporting_dagster.lib.infra.store import ascii_fallback, content_disposition  # noqa: F401 - re-exported

SEPARATOR = " – "  # an en dash between spaces: never a character any file system refuses
MAX_NAME_CHARS = 120  # the whole name, extension included; file systems allow 255 bytes
MAX_NAME_BYTES = 240  # UTF-8 bytes: CJK names take three bytes a character
FALLBACK_STEM = "report"

# Windows refuses these in names (and / is the POSIX separator): a double quote becomes a single
# one, the others a hyphen
_FORBIDDEN = re.compile(r'[<>:/\\|?*]')
# controls (C0, C1, DEL), format characters (bidirectional overrides and marks, zero-width
# spaces and joiners, the BOM: they can make a name display as something else, "…fdp.exe", or two
# names look alike), line and paragraph separators, private-use and unassigned code points
_BREAKING = frozenset({"Cc", "Zl", "Zp"})  # become a space
_INVISIBLE = frozenset({"Cf", "Cs", "Co", "Cn"})  # are dropped


def _visible(text: str) -> str:
    return "".join(" " if (kind := unicodedata.category(ch)) in _BREAKING else "" if kind in _INVISIBLE else ch
                   for ch in text)
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$", re.IGNORECASE)
_EXTENSION = re.compile(r"^[a-z0-9]{1,8}$")


def report_label(report_type: str) -> str:
    """The catalogue's report name without its trailing "Report": "Invoice Aging"."""
    from reporting_dagster.lib.documents import catalog

    try:
        name = catalog.get(report_type).name
    except (KeyError, ValueError):
        name = str(report_type).replace("_", " ").title()
    return re.sub(r"\s+Report$", "", name)


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def period_text(start: Any, end: Any = None) -> str:
    """The period as a name sorts: `2026-11` for a month, `2026-Q3` for a calendar quarter,
    `2026` for a calendar year, `2026-01 to 2026-05` for other whole months, else the dates."""
    first, last = _as_date(start), _as_date(end)
    if first is None:
        return ""
    if last is None:
        return f"{first:%Y-%m}"
    if first.day == 1 and (last + dt.timedelta(days=1)).day == 1 and last >= first:
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        if months == 1:
            return f"{first:%Y-%m}"
        if months == 3 and first.month % 3 == 1:
            return f"{first.year}-Q{(first.month + 2) // 3}"
        if months == 12 and first.month == 1:
            return f"{first.year}"
        return f"{first:%Y-%m} to {last:%Y-%m}"
    return f"{first.isoformat()} to {last.isoformat()}"


def safe_filename(stem: str, extension: str) -> str:
    """`stem.extension`, sanitised for every OS and bounded; never empty, never a path."""
    ext = extension.lower().lstrip(".")
    if not _EXTENSION.match(ext):
        ext = "bin"
    text = unicodedata.normalize("NFC", str(stem))
    text = _visible(text)
    text = _FORBIDDEN.sub("-", text.replace('"', "'"))
    text = " ".join(text.split())  # tabs, no-break and other spaces: one plain space
    room = MAX_NAME_CHARS - len(ext) - 1
    text = text[:room]
    while len(f"{text}.{ext}".encode("utf-8")) > MAX_NAME_BYTES:
        text = text[:-1]
    text = text.strip(" .")  # Windows drops trailing dots and spaces; a leading dot hides the file
    if not text:
        text = FALLBACK_STEM
    if _RESERVED.match(text.split(".")[0].strip()):
        text = f"{text} file"  # "CON.pdf" is a device on Windows; "CON file.pdf" is not
    return f"{text}.{ext}"


def download_name(organization_name: str, report_type: str, period: str, extension: str) -> str:
    """`Karoo Solar – Invoice Aging – 2026-11.pdf`, sanitised (`safe_filename`)."""
    parts = [" ".join(str(organization_name or "").split()), report_label(report_type), period]
    return safe_filename(SEPARATOR.join(p for p in parts if p), extension)


def document_filename(doc: Any, extension: str) -> str:
    """The readable name of a rendered ReportDocument's file (its organization, report and period)."""
    return download_name(doc.organization_name, doc.report_type, period_text(doc.period_start, doc.period_end),
                         extension)
