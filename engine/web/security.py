"""
What every response and every state-changing request goes through.

- Security headers on every response, error pages included: a CSP that allows
  scripts only from ``/static`` (no inline script anywhere), no framing, no
  sniffing, no referrer, and ``no-store`` on everything but static files,
  because pages and API answers carry customer data.
- Errors: ``ApiError`` and aiohttp's own HTTP errors become a JSON body
  ``{"error": {"code", "message"}}`` under ``/api/`` and an HTML page
  elsewhere, always with the 4xx/5xx status.
- CSRF: a POST must carry the session's token, in the ``X-CSRF-Token`` header
  (the desktop's fetch calls) or a ``csrf_token`` form field (HTML forms), and
  an ``Origin`` header, when the browser sends one, must be this host.
"""

import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import structlog
from aiohttp import web

from engine.operators.exceptions import (
    DispositionError,
    OperatorError,
    OperatorNotFoundError,
    PasswordPolicyError,
    PermissionDeniedError,
    SessionStateError,
)
from engine.web.context import ctx, current_session
from engine.web.exceptions import ApiError

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CODES = {
    400: "bad_request",
    401: "login_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    423: "locked",
    429: "too_many_requests",
}


def wants_json(request: web.Request) -> bool:
    """True for API paths, whose errors are JSON rather than a page."""
    return request.path.startswith("/api/")


def error_response(
    request: web.Request, status: int, code: str, message: str
) -> web.Response:
    """A 4xx/5xx answer in the form the caller reads: JSON or an HTML page."""
    if wants_json(request):
        body = {"error": {"code": code, "message": message}}
        return web.json_response(body, status=status)
    from engine.web.render import render

    return render(request, "error.html", status=status, code=code, message=message)


@web.middleware
async def error_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Turn refusals and aiohttp HTTP errors into clear error answers."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(request, exc.status, exc.code, exc.message)
    except OperatorError as exc:
        status, code = _operator_error(exc)
        return error_response(request, status, code, str(exc))
    except web.HTTPRequestEntityTooLarge:
        limit = ctx(request).settings.web_max_body_bytes
        message = f"request body larger than {limit} bytes"
        return error_response(request, 413, "body_too_large", message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _CODES.get(exc.status, "http_error")
        return error_response(request, exc.status, code, exc.reason.lower())
    except Exception:
        # The HTTP boundary: a bug must not leak a traceback to the browser,
        # and the page's script still gets the JSON error shape it reads.
        log.exception("web_request_failed", path=request.path)
        return error_response(request, 500, "internal_error", "internal error")


def _operator_error(exc: OperatorError) -> tuple[int, str]:
    """The HTTP status and code of a refusal from the operators service."""
    if isinstance(exc, PermissionDeniedError):
        return 403, "not_permitted"
    if isinstance(exc, OperatorNotFoundError):
        return 404, "not_found"
    if isinstance(exc, SessionStateError):
        return 409, "bad_state"
    if isinstance(exc, DispositionError | PasswordPolicyError):
        return 422, "invalid_input"

    return 409, "refused"


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse a state-changing request without the session's CSRF token."""
    if request.method not in _UNSAFE:
        return await handler(request)
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise ApiError(403, "bad_origin", "request from another site refused")
    session = current_session(request)
    if session is None:
        raise ApiError(
            403, "csrf_failed", "session missing or expired; reload the page"
        )
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        field = (await request.post()).get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if not sent or not secrets.compare_digest(sent, session.csrf_token):
        log.warning("csrf_check_failed", path=request.path)
        raise ApiError(
            403, "csrf_failed", "missing or wrong csrf token; reload the page"
        )

    return await handler(request)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Set the security headers on a response about to be sent."""
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    # Not "no-referrer": with it a browser sends "Origin: null" on form posts,
    # and the origin check above needs the real one. Other sites get nothing.
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.path.startswith("/static/"):
        headers["Cache-Control"] = "no-cache"
    else:
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    if ctx(request).settings.web_behind_tls:
        headers["Strict-Transport-Security"] = "max-age=31536000"
