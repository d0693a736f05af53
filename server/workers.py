"""Background passes the detector process runs beside its main loop: the notifier, the Zendesk worker,
topic summaries and the weekly accounts digest each call ``run`` every ``interval`` seconds."""

from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)


def start_periodic(name: str, run: Callable[[], object], *, interval: float,
                   stop: threading.Event | None = None) -> threading.Thread:
    """Call ``run`` every ``interval`` seconds in a daemon thread named ``name`` until ``stop`` is set; a
    pass that raises is logged and the next one runs as usual."""
    stop = stop or threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            try:
                run()
            except Exception:
                log.exception("%s pass failed", name)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread
