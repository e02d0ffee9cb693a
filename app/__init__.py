"""Touchpoint quality monitoring for car dealerships.

`create_app` is the only entry point; nothing happens at import time.
"""

from __future__ import annotations

from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    from . import assets, auth, cli, db, errors, i18n, jobs, static_files, storage
    from .blueprints import admin, assignments, cases, manager, public, qr, reviewer, shopper
    from .config import ROOT, from_environment
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

    db.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    assets.init_app(app)
    errors.init_app(app)
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
    app.register_blueprint(network.bp)
    app.register_blueprint(rounds.bp)
    app.register_blueprint(publishing.bp)
    return app
