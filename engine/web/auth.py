"""
Login, logout, the forced password change, and who may open what.

Sessions live in Postgres (``engine.web.sessions``); the cookie is HttpOnly,
SameSite=Strict, and Secure when the app is behind TLS. The login page gets an
anonymous session first so that its form carries a CSRF token; a successful
login replaces that session with a new one. Passwords are checked by the
operators package (argon2, lockout, expiry, audit); a right but expired
password opens a session that can do nothing but change it.
"""

import functools
from collections.abc import Callable

import structlog
from aiohttp import web

from engine.db.audit import audit
from engine.operators.accounts import Account, Role
from engine.operators.exceptions import (
    AccountLockedError,
    AuthenticationError,
    PasswordExpiredError,
    PasswordPolicyError,
    SessionStateError,
)
from engine.web.context import SESSION_KEY, ctx, current_session
from engine.web.exceptions import ApiError
from engine.web.render import render
from engine.web.security import Handler, wants_json
from engine.web.sessions import Session

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()

COOKIE = "outdial_session"
MAX_ID_LENGTH = 64
MAX_PASSWORD_LENGTH = 256
SUPERVISORS = (Role.DIRECTOR.value, Role.ADMIN.value)


@web.middleware
async def session_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Find the request's session from its cookie, if it has a live one."""
    token = request.cookies.get(COOKIE)
    # Static files need no session: spare the database a lookup per asset.
    if token and len(token) <= 100 and not request.path.startswith("/static/"):
        session = await ctx(request).sessions.find(token)
        if session is not None:
            request[SESSION_KEY] = session

    return await handler(request)


def login_required(
    *roles: str, allow_expired: bool = False
) -> Callable[[Handler], Handler]:
    """Let a handler run only for a logged-in session with one of ``roles``."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            session = current_session(request)
            if session is None or not session.authenticated:
                if wants_json(request):
                    raise ApiError(401, "login_required", "log in first")
                raise web.HTTPSeeOther("/login")
            if session.must_change_password and not allow_expired:
                if wants_json(request):
                    raise ApiError(
                        403, "password_expired", "change your password first"
                    )
                raise web.HTTPSeeOther("/password")
            if roles and session.role not in roles:
                raise ApiError(
                    403, "forbidden", f"this needs the role {' or '.join(roles)}"
                )

            return await handler(request)

        return guarded

    return decorate


def authenticated_session(request: web.Request) -> Session:
    """The session of a request that ``login_required`` let through."""
    session = current_session(request)
    if session is None or session.operator_id is None:
        raise ApiError(401, "login_required", "log in first")

    return session


def operator_of(request: web.Request) -> str:
    """The operator id of a request that ``login_required`` let through."""
    operator_id = authenticated_session(request).operator_id
    assert operator_id is not None

    return operator_id


async def account_of(request: web.Request) -> Account:
    """The logged-in account, read fresh: a lock ends the session at once."""
    account = await ctx(request).operators.account(operator_of(request))
    if account.locked:
        await ctx(request).sessions.end(authenticated_session(request).id)
        log.warning("web_session_ended_locked", operator_id=account.id)
        raise ApiError(
            401, "account_locked", f"account {account.id} is locked; ask an admin"
        )

    return account


def set_session_cookie(
    request: web.Request, response: web.StreamResponse, token: str
) -> None:
    """Hand the browser its session token, out of reach of page scripts."""
    response.set_cookie(
        COOKIE,
        token,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=ctx(request).settings.web_behind_tls,
    )


async def _start_session(
    request: web.Request, account: Account | None, *, must_change: bool = False
) -> str:
    old = current_session(request)
    if old is not None:
        await ctx(request).sessions.end(old.id)
    token, session = await ctx(request).sessions.create(
        operator_id=account.id if account else None,
        role=account.role.value if account else None,
        must_change_password=must_change,
        remote=request.remote,
        user_agent=request.headers.get("User-Agent"),
    )
    request[SESSION_KEY] = session

    return token


def redirect(location: str) -> web.Response:
    """A 303 to ``location``, as a response that can still take cookies."""
    return web.Response(status=303, headers={"Location": location})


def _home(role: str | None) -> str:
    return "/board" if role in SUPERVISORS else "/"


@routes.get("/login")
async def login_page(request: web.Request) -> web.StreamResponse:
    """The login form; starts an anonymous session to carry its CSRF token."""
    session = current_session(request)
    if session is not None and session.authenticated:
        raise web.HTTPSeeOther(_home(session.role))
    if session is not None:
        return render(request, "login.html", operator_id="")
    token = await _start_session(request, None)
    response = render(request, "login.html", operator_id="")
    set_session_cookie(request, response, token)

    return response


async def _form_fields(request: web.Request, *names: str) -> dict[str, str]:
    form = await request.post()
    values: dict[str, str] = {}
    for name in names:
        value = form.get(name)
        if not isinstance(value, str) or not value:
            raise ApiError(
                400, "missing_field", f"{name.replace('_', ' ')} is required"
            )
        limit = MAX_ID_LENGTH if name == "operator_id" else MAX_PASSWORD_LENGTH
        if len(value) > limit:
            raise ApiError(
                400, "field_too_long", f"{name.replace('_', ' ')} is too long"
            )
        values[name] = value

    return values


@routes.post("/login")
async def login(request: web.Request) -> web.StreamResponse:
    """Check the operator id and password and start the operator's session."""
    try:
        fields = await _form_fields(request, "operator_id", "password")
    except ApiError as exc:
        return render(
            request, "login.html", status=exc.status, error=exc.message, operator_id=""
        )
    operator_id = fields["operator_id"]
    accounts = ctx(request).operators
    must_change = False
    try:
        account = await accounts.authenticate(operator_id, fields["password"])
    except PasswordExpiredError:
        account, must_change = await accounts.account(operator_id), True
    except AccountLockedError as exc:
        return render(
            request, "login.html", status=423, error=str(exc), operator_id=operator_id
        )
    except AuthenticationError as exc:
        return render(
            request, "login.html", status=401, error=str(exc), operator_id=operator_id
        )
    token = await _start_session(request, account, must_change=must_change)
    location = "/password" if must_change else _home(account.role.value)
    response = redirect(location)
    set_session_cookie(request, response, token)
    log.info("web_login_completed", operator_id=operator_id, must_change=must_change)

    return response


@routes.get("/password")
@login_required(allow_expired=True)
async def password_page(request: web.Request) -> web.StreamResponse:
    """The password change form (the only page an expired password opens)."""
    return render(request, "password.html")


@routes.post("/password")
@login_required(allow_expired=True)
async def change_password(request: web.Request) -> web.StreamResponse:
    """Change the logged-in operator's password, then start a fresh session."""
    session = authenticated_session(request)
    operator_id = operator_of(request)
    try:
        fields = await _form_fields(request, "old_password", "new_password", "confirm")
        if fields["new_password"] != fields["confirm"]:
            raise ApiError(422, "password_mismatch", "the two new passwords differ")
        await ctx(request).operators.change_password(
            operator_id, fields["old_password"], fields["new_password"]
        )
    except ApiError as exc:
        return render(request, "password.html", status=exc.status, error=exc.message)
    except PasswordPolicyError as exc:
        return render(request, "password.html", status=422, error=str(exc))
    except AccountLockedError as exc:
        await ctx(request).sessions.end(session.id)
        return render(request, "password.html", status=423, error=str(exc))
    except AuthenticationError:
        return render(
            request, "password.html", status=401, error="current password is wrong"
        )
    account = await ctx(request).operators.account(operator_id)
    token = await _start_session(request, account)
    response = redirect(_home(account.role.value))
    set_session_cookie(request, response, token)

    return response


@routes.post("/logout")
@login_required(allow_expired=True)
async def logout(request: web.Request) -> web.StreamResponse:
    """End the web session, and the softphone session unless a call is on."""
    session = authenticated_session(request)
    operator_id = operator_of(request)
    await _end_softphone(request)
    await ctx(request).sessions.end(session.id)
    await audit(ctx(request).pool, operator_id, "web_logout", "operator", operator_id)
    log.info("web_logout_completed", operator_id=operator_id)
    response = redirect("/login")
    response.del_cookie(COOKIE, path="/")

    return response


async def _end_softphone(request: web.Request) -> None:
    operators = ctx(request).operators
    account = await account_of(request)
    if await operators.session(account) is None:
        return
    try:
        await operators.end_session(account)
    except SessionStateError as exc:
        # Mid-call: the engine logs the operator out when the phone hangs up.
        log.info("softphone_logout_deferred", operator_id=account.id, reason=str(exc))
