"""The application factory."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask, g, request

from server import config as config_mod
from server import errors, logs
from server.chunked import BoundedChunkedBody
from server.db import from_config
from server.eventlog import SqlEventLog
from server.eventlog.group import GroupCommitter
from server.extensions import limiter


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app: configuration, database, extensions, blueprints, error handlers.

    Examples
    --------
    >>> app = create_app({"DATABASE_URL": "sqlite://", "LOG_FORMAT": "text"})
    >>> app.test_client().get("/healthz").get_json()
    {'status': 'ok'}
    """
    cfg = config_mod.load(config)
    proxies = config_mod.proxy_count(cfg["TRUSTED_PROXIES"])  # overrides arrive unparsed
    app = Flask(__name__, instance_path=cfg["INSTANCE_PATH"], instance_relative_config=False)
    app.config.update(cfg)
    app.config["MAX_CONTENT_LENGTH"] = int(cfg["MAX_BODY_BYTES"])
    app.config["RATELIMIT_STORAGE_URI"] = cfg["REDIS_URL"] or "locked-memory://"  # server/extensions.py
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    app.json.sort_keys = False  # type: ignore[attr-defined]

    logs.configure(cfg["LOG_LEVEL"], cfg["LOG_FORMAT"])

    db = from_config(cfg)
    app.extensions["groundswell.db"] = db
    app.extensions["groundswell.secret_key"] = config_mod.secret_key(cfg)  # read once, not per request
    app.extensions["groundswell.log"] = SqlEventLog()
    app.extensions["groundswell.appender"] = GroupCommitter(db, app.extensions["groundswell.log"])

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    # a body sent in chunks is held to MAX_BODY_BYTES as one that declares its length (server/chunked.py)
    app.wsgi_app = BoundedChunkedBody(app.wsgi_app, int(cfg["MAX_BODY_BYTES"]))  # type: ignore[method-assign]
    if proxies:  # the client's address and scheme, as the proxies in front saw them (not the last proxy's)
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    else:
        _warn_of_unread_proxies(app)
    limiter.init_app(app)
    logs.init_app(app)
    errors.register(app)

    from server import openapi, pages
    from server.accounts.views import bp as accounts_bp
    from server.api.views import bp as api_bp
    from server.incidents.views import bp as incidents_bp
    from server.ingest.views import bp as ingest_bp
    from server.notify.views import bp as notify_bp
    from server.ops.views import bp as ops_bp
    from server.topics.views import bp as topics_bp
    from server.zendesk.views import bp as zendesk_bp
    from server.widget.views import bp as widget_bp

    app.register_blueprint(ingest_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(topics_bp)
    app.register_blueprint(incidents_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(notify_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(zendesk_bp)
    app.register_blueprint(widget_bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(pages.bp)
    if str(cfg["DEMO_PAGES"]).strip().lower() in {"1", "true", "yes", "on"}:  # overrides arrive unparsed
        from server.demo.agent import bp as demo_agent_bp

        app.register_blueprint(demo_agent_bp)
    if str(cfg.get("DEMO_PAGES", "")).strip().lower() in {"1", "true", "yes", "on"}:  # the Acme Billing sample product
        from server.demo.acme import bp as demo_acme_bp

        app.register_blueprint(demo_acme_bp)
    return app


def _warn_of_unread_proxies(app: Flask) -> None:
    """Once per process, a warning when requests say they came through a proxy (X-Forwarded-For) while
    TRUSTED_PROXIES is 0: every caller then has the proxy's address, so the limits per address (failed
    credentials, a widget caller's share of its site's limit) count all of them as one."""
    warned = False

    @app.before_request
    def _check() -> None:
        nonlocal warned
        if not warned and "X-Forwarded-For" in request.headers:
            warned = True
            logging.getLogger(__name__).warning(
                "requests arrive with X-Forwarded-For but TRUSTED_PROXIES is 0: every caller counts as the proxy's "
                "address in the limits per address; set TRUSTED_PROXIES to the number of proxies in front")
