"""
HTML pages from the Jinja2 templates in ``engine/web/templates``.

Autoescaping is on for every template, so customer data and operator input
never become markup.
"""

from typing import Any

import jinja2
from aiohttp import web

from engine.web.context import ctx, current_session


def template_environment() -> jinja2.Environment:
    """The templates, loaded from the package and escaped by default."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("engine.web", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(
    request: web.Request, name: str, *, status: int = 200, **values: Any
) -> web.Response:
    """Render a template with the session and its CSRF token at hand."""
    session = current_session(request)
    context = ctx(request)
    values.setdefault("session", session)
    values.setdefault("csrf_token", session.csrf_token if session else "")
    values.setdefault("institution", context.settings.institution_name)
    values.setdefault("error", None)
    text = context.templates.get_template(name).render(**values)

    return web.Response(text=text, status=status, content_type="text/html")
