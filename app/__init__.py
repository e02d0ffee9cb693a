"""Touchpoint quality monitoring for car dealerships.

`create_app` is the only entry point; nothing happens at import time.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    from . import assets, auth, cli, db, errors, i18n, jobs, security, static_files, storage
    from .blueprints import (
        actions,
        admin,
        appeals,
        assignments,
        cases,
        manager,
        public,
        qr,
        reports,
        reviewer,
        shopper,
    )
    from .calibration import views as calibration
    from .config import ROOT, check_production, dev_secret_key, from_environment
    from .extensions import csrf, htmx, limiter, login_manager
    from .network import views as network
    from .publishing import views as publishing
    from .rounds import views as rounds

    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    if app.config.get("PRODUCTION"):
        check_production(app.config)  # ConfigError naming SECRET_KEY: refuse to start
    elif not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = dev_secret_key(Path(app.instance_path))
    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_COUNT"]  # only as many X-Forwarded-* hops as there are proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    db.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    assets.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    cli.init_app(app)
    jobs.init_app(app)
    storage.init_app(app)
    static_files.init_app(app)

    app.register_blueprint(auth.bp)
    app.register_blueprint(shopper.bp)
    app.register_blueprint(reviewer.bp)
    app.register_blueprint(manager.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(assignments.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(qr.bp)
    app.register_blueprint(actions.bp)
    app.register_blueprint(appeals.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(network.bp)
    app.register_blueprint(rounds.bp)
    app.register_blueprint(publishing.bp)
    app.register_blueprint(calibration.bp)
    return app
