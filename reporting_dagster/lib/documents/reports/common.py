"""What every report builder shares: the organization, period and template around the data."""

from __future__ import annotations

import base64
import datetime as dt
import mimetypes
import re
from dataclasses import dataclass

from reporting_dagster.lib.infra.periods import BillingPeriod
from reporting_dagster.lib.operations.records import Template
from reporting_dagster.lib.render.document import Branding, Sections
from reporting_dagster.lib.infra.store import Store

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
LOGO_TYPES = {"image/png", "image/jpeg", "image/gif", "image/svg+xml", "image/webp"}
MAX_LOGO_BYTES = 512 * 1024


@dataclass(frozen=True)
class ReportContext:
    """Everything around one organization's report for one period."""

    organization_id: int
    organization_name: str
    period: BillingPeriod
    generated_at: dt.datetime
    branding: Branding
    sections: Sections
    template_id: int | None = None


def branding_from(template: Template | None, store: Store | None) -> Branding:
    """The template's branding; the logo is read from the store and embedded as a data: URI."""
    if template is None:
        return Branding()
    color = template.brand_color if template.brand_color and _COLOR.match(template.brand_color) else Branding.brand_color
    return Branding(
        brand_color=color,
        header_text=template.header_text,
        footer_text=template.footer_text,
        logo_data_uri=logo_data_uri(store, template.logo_path) if store and template.logo_path else None,
    )


def logo_data_uri(store: Store, key: str) -> str | None:
    """A data: URI of the logo, or None when it is missing, too large or not an image."""
    mime = mimetypes.guess_type(key)[0]
    if mime not in LOGO_TYPES:
        return None
    try:
        data = store.get(key)
    except Exception:  # noqa: BLE001 - a missing logo must not stop the report
        return None
    if len(data) > MAX_LOGO_BYTES:
        return None
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def sections_from(template: Template | None) -> Sections:
    if template is None:
        return Sections()
    return Sections(summary=template.include_summary, line_items=template.include_line_items,
                    charts=template.include_charts)
