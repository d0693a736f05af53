"""A real Groundswell backend on loopback for the browser tests.

Usage: ``python e2e/serve.py --seed NAME [--detector] [--set KEY=VALUE ...]``

It migrates a fresh SQLite database in a temporary directory, creates one tenant (the server's own
origin allowed, on 127.0.0.1 and localhost), runs ``e2e/seeds/NAME.py``'s
``seed(ctx)`` and serves the app on a free port. Its first stdout line is one JSON object:
``url`` (the backend, which is also the allowed origin), ``slug``, ``api_token``, ``site_key``, ``webhook_secret``, ``database_url``, plus
whatever the seed returned. With ``--detector`` the detector runs in a thread, polling the log.
It stops when stdin closes (the test runner exits) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import signal
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server import migrate  # noqa: E402
from server.app import create_app  # noqa: E402
from server.tenants import create_tenant  # noqa: E402

SECRET_KEY = "e2e-secret-key-0123456789abcdef"


@dataclass
class SeedContext:
    """What a seed gets: the app, its database, the tenant and its credentials in clear."""

    app: Any
    db: Any
    url: str
    tenant_id: int
    slug: str
    creds: Any
    options: dict[str, str] = field(default_factory=dict)


def _load_seed(name: str) -> Any:
    path = ROOT / "e2e" / "seeds" / f"{name}.py"
    if not path.is_file():
        raise SystemExit(f"no seed named {name!r} (looked for {path})")
    spec = importlib.util.spec_from_file_location(f"e2e_seed_{name}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _start_detector(db: Any, stop: threading.Event) -> None:
    from server.eventlog import SqlEventLog
    from server.pipeline import Runner
    from server.pipeline.registry import stage_factory

    runner = Runner(db, SqlEventLog(), stage_factory(db, secret_key=SECRET_KEY), partition=(0, 1), batch_size=500, checkpoint_seconds=0.0)

    def loop() -> None:
        while not stop.is_set():
            if runner.run_until_idle() == 0:
                stop.wait(0.1)

    threading.Thread(target=loop, name="detector", daemon=True).start()
    from server.incidents.backtest_runs import BacktestWorker, start_worker
    from server.understand.embed import Embedder
    from server.widget.runtime import WidgetTenantData

    start_worker(BacktestWorker(db, SqlEventLog(), Embedder().embed, widget=WidgetTenantData(db, SECRET_KEY)),
                 interval=0.5, stop=stop)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", default="empty")
    parser.add_argument("--detector", action="store_true")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="App configuration override (repeatable).")
    parser.add_argument("--opt", dest="options", action="append", default=[], metavar="KEY=VALUE",
                        help="Option passed to the seed (repeatable).")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="gs-e2e-")
    url = "sqlite:///" + str(Path(tmp.name) / "e2e.db")
    config: dict[str, Any] = {"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "LOG_FORMAT": "text",
                              "LOG_LEVEL": "WARNING", "INSTANCE_PATH": tmp.name}
    for item in args.settings:
        key, _, value = item.partition("=")
        config[key] = value
    app = create_app(config)
    db = app.extensions["groundswell.db"]
    migrate.upgrade(db)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    with db.session() as session:
        tenant, creds = create_tenant(session, "Acme", secret_key=SECRET_KEY, zendesk_subdomain="acme", slug="acme",
                                      origins=[base_url, f"http://localhost:{server.server_port}"])
        session.commit()
        tenant_id = tenant.id
    ctx = SeedContext(app=app, db=db, url=base_url, tenant_id=tenant_id, slug="acme", creds=creds,
                      options=dict(o.partition("=")[::2] for o in args.options))
    extra = _load_seed(args.seed).seed(ctx) or {}

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    stop = threading.Event()
    if args.detector:
        _start_detector(db, stop)
    info = {"url": base_url, "slug": "acme", "api_token": creds.api_token,
            "site_key": creds.site_key, "webhook_secret": creds.webhook_secret, "database_url": url, **extra}
    print(json.dumps(info), flush=True)

    def shutdown(*_: Any) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    threading.Thread(target=lambda: (sys.stdin.read(), shutdown()), daemon=True).start()
    server.serve_forever()
    tmp.cleanup()


if __name__ == "__main__":
    main()
