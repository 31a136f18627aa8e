"""Sentinel: the service (pipeline, store, privacy, findings, reports, CLI)."""

__version__ = "0.1.0"
