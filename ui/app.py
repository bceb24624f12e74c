"""The app factory: ``create_app(workspace)`` for ``lockgate serve``, or with an open store (and
adapter instances) for tests and embedding."""

from __future__ import annotations

import atexit
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException

from lockgate.federation import lineage_out
from lockgate.federation.errors import ConfigError, LaunchError, LockgateError
from lockgate.ui import render
from lockgate.ui.api import api
from lockgate.ui.api.automation import WORKSPACE
from lockgate.ui.api.lineage_receiver import FastReceive
from lockgate.ui.auth import csrf_token, require_read, writes_disabled_reason
from lockgate.ui.auth import settings as current_settings
from lockgate.ui.cache import FastPath, ResponseCache
from lockgate.ui.data import AdapterFactory, PortalData
from lockgate.ui.pages import pages
from lockgate.ui.partitions import definitions_for
from lockgate.ui.problems import Problem, from_error, problem_response
from lockgate.ui.settings import PortalSettings

if TYPE_CHECKING:
    from lockgate.federation.adapter import Adapter
    from lockgate.federation.store import Store
    from lockgate.federation.workspace import Workspace

EXTENSION = "lockgate"
CACHE = "lockgate.cache"
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def create_app(
    workspace: Workspace | None = None,
    *,
    store: Store | None = None,
    settings: PortalSettings | None = None,
    adapters: Mapping[str, Adapter] | None = None,
    instance_path: str | Path | None = None,
) -> Flask:
    """Build the portal.

    ``store`` defaults to the workspace's store; ``settings`` to the workspace's ``portal:``
    section; ``adapters`` (name -> instance) to instances created from the workspace when a run is
    launched. ``instance_path`` defaults to ``<workspace folder>/.lockgate/instance`` (or the
    current folder's), always absolute, because the strict editable install breaks Flask's guess.
    """
    owns_store = store is None
    if store is None:
        if workspace is None:
            what = "create_app needs a workspace or an open store"
            raise ConfigError(
                what,
                where="lockgate.ui.create_app",
                fix="pass workspace=load_workspace(path) or store=Store.open(url)",
            )
        from lockgate.federation.store import Store as StoreClass

        store = StoreClass.open(workspace.store_url)
    if settings is None:
        portal = workspace.portal if workspace is not None else {}
        settings = PortalSettings.from_mapping(portal, where=str(workspace.path) if workspace else "portal")
    if workspace is not None:  # runs launched from the portal emit OpenLineage as configured
        lineage_out.attach(store, workspace.openlineage)
    base = workspace.base_dir if workspace is not None else Path.cwd()
    instance = Path(instance_path) if instance_path is not None else base / ".lockgate" / "instance"
    app = Flask(__name__, instance_path=str(instance.resolve()), static_url_path="/static")
    app.config.update(
        LOCKGATE_SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=1 << 20,
        JSON_SORT_KEYS=False,
    )
    data = PortalData(
        store,
        adapter_factory=_factory(workspace, adapters),
        refresh_seconds=settings.refresh_seconds,
        owns_store=owns_store,
        partitions=definitions_for(workspace, store),
    )
    app.extensions[EXTENSION] = data
    app.extensions[WORKSPACE] = workspace
    cache = app.extensions[CACHE] = ResponseCache(settings.response_cache)
    if settings.response_cache > 0 and not settings.read_requires_token:
        app.wsgi_app = FastPath(app.wsgi_app, cache, data.state_tag, SECURITY_HEADERS)  # type: ignore[method-assign]
    # one valid OpenLineage event with the write token is recorded before Flask (see the class)
    app.wsgi_app = FastReceive(app.wsgi_app, app, SECURITY_HEADERS)  # type: ignore[method-assign]
    atexit.register(data.close)
    render.install(app.jinja_env)
    app.register_blueprint(pages)
    app.register_blueprint(api)
    app.before_request(_before)
    app.context_processor(_globals)
    app.after_request(_headers)
    app.register_error_handler(Problem, _problem)
    app.register_error_handler(LockgateError, _lockgate_error)
    app.register_error_handler(HTTPException, _http_error)
    return app


def _factory(workspace: Workspace | None, given: Mapping[str, Adapter] | None) -> AdapterFactory | None:
    if given is not None:
        instances = dict(given)

        def pick(name: str) -> Adapter:
            if name not in instances:
                known = ", ".join(sorted(instances)) or "none"
                raise LaunchError(
                    f"no adapter instance named {name!r} was given to the portal",
                    where="portal",
                    fix=f"pass it in create_app(adapters=...); known: {known}",
                )
            return instances[name]

        return pick
    if workspace is not None:
        return lambda name: workspace.adapter(name).create()
    return None


def _before() -> None:
    if request.endpoint in ("static", "pages.login", "pages.logout"):
        return
    require_read()


def _globals() -> dict[str, object]:
    return {
        "csrf_token": csrf_token,
        "token_env": current_settings().token_env,
        "writes_disabled": writes_disabled_reason(),
    }


def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _problem(problem: Problem) -> Response | tuple[str, int]:
    if _wants_json():
        headers = {"WWW-Authenticate": 'Bearer realm="lockgate"'} if problem.status == 401 else None
        return problem_response(problem, headers)
    if problem.status == 401:
        return render_template("login.html", problem=problem, next=request.full_path), 401
    return render_template("error.html", problem=problem), problem.status


def _lockgate_error(error: LockgateError) -> Response | tuple[str, int]:
    return _problem(from_error(error))


def _http_error(error: HTTPException) -> Response | tuple[str, int]:
    status = error.code or 500
    return _problem(Problem(status, error.name, error.description or error.name))
