"""Groundswell's backend: ingest, understand, detect, incidents, act, and the read side.

``create_app`` builds the web application; ``groundswell detector`` runs the pipeline.
"""

from __future__ import annotations

from typing import Any


def create_app(config: Any = None) -> Any:
    from server.app import create_app as _create_app

    return _create_app(config)


__all__ = ["create_app"]
