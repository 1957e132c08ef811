"""
The web app: operator desktop, directors' live board, and the pages built on them.

Seams (what other parts use)::

    from engine.web.app import create_app, ROUTE_MODULES
    app = create_app(settings, pool, clock=None, operators=None)
        # operators: an engine.operators.service.OperatorService; the default
        # one has no softphone manager and works through Postgres + NOTIFY.
    outdial web --host 127.0.0.1 --port 8080
    outdial script set CAMPAIGN script.json / outdial script show CAMPAIGN

    # a new page: engine/web/<page>.py with ``routes = web.RouteTableDef()``,
    # then one line in app.ROUTE_MODULES. Inside a handler:
    from engine.web.auth import login_required, operator_of, account_of
    @routes.get("/page") @login_required("director", "admin")  # roles optional
    operator_of(request) -> str;  await account_of(request) -> Account
    from engine.web.context import ctx          # ctx(request).pool / .settings /
                                                # .operators / .clock / .sessions
    from engine.web.render import render        # render(request, "x.html", **v)
    from engine.web.exceptions import ApiError  # raise ApiError(403, code, msg)

Templates extend ``base.html`` (its ``main`` and ``head`` blocks); scripts go
in ``static/`` and load with ``<script src=... defer>``: the CSP allows no
inline script or style. POSTs need the session's CSRF token, as the
``X-CSRF-Token`` header (``static/common.js`` ``outdial.api``) or a
``csrf_token`` form field (``{{ csrf_token }}`` in templates). Errors under
``/api/`` are ``{"error": {"code", "message"}}``; elsewhere an HTML page.
Every response is ``Cache-Control: no-store`` except ``/static/``.
"""
