"""Alerts: matching, email templates, digests, the outbox and delivery (issue 4)."""
