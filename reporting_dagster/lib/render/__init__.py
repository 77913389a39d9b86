"""The shared rendering layer: one `ReportDocument` in, the bytes of one file format out."""
