"""Sending finished reports: e-mail (SES, SMTP, outbox) and S3 copies, each recipient once."""
