"""One error hierarchy, rendered once as RFC 9457 ``application/problem+json``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, SerializeAsAny
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"

log = logging.getLogger(__name__)


class FieldError(BaseModel):
    pointer: str = Field(description="JSON pointer (RFC 6901) into the request, e.g. /body/area_m2")
    detail: str = Field(description="Why the value was rejected")


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="URI reference identifying the problem type")
    title: str
    status: int
    detail: str
    instance: str | None = None
    # SerializeAsAny: subclasses (e.g. a bulk import's per-feature entries with index and
    # external_id) keep their extra members in the response.
    errors: list[SerializeAsAny[FieldError]] | None = Field(
        default=None, description="For validation problems: every rejected field"
    )


class AppError(Exception):
    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal server error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = dict(headers or {})


class BadRequest(AppError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(AppError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str, *, error: str = "invalid_token") -> None:
        # RFC 6750 §3: a challenge on every 401 so clients know to send a bearer key.
        super().__init__(
            detail, headers={"WWW-Authenticate": f'Bearer realm="landmarket", error="{error}"'}
        )


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(AppError):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(AppError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PreconditionRequired(AppError):
    """RFC 6585: the write must be conditional (If-Match) so lost updates cannot happen."""

    status, slug, title = 428, "precondition-required", "Precondition required"


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class ValidationFailed(AppError):
    status, slug, title = 422, "validation-failed", "Request validation failed"


class TooManyRequests(AppError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class ServiceUnavailable(AppError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


# One type URI and title per status, whichever layer (framework, middleware, service) raised it.
_BY_STATUS: dict[int, type[AppError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PreconditionFailed,
        PreconditionRequired,
        PayloadTooLarge,
        ValidationFailed,
        TooManyRequests,
        ServiceUnavailable,
        AppError,
    )
}


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: Sequence[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
    instance: str | None = None,
) -> JSONResponse:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    known = _BY_STATUS.get(status)
    if known is not None:
        slug, title = slug or known.slug, title or known.title
    body = Problem(
        type=PROBLEM_BASE + (slug or phrase.lower().replace(" ", "-").replace("'", "")),
        title=title or phrase,
        status=status,
        detail=detail,
        instance=instance,
        errors=list(errors) if errors else None,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def _pointer(loc: Sequence[int | str]) -> str:
    def escape(part: int | str) -> str:
        return str(part).replace("~", "~0").replace("/", "~1")

    return "/" + "/".join(escape(p) for p in loc)


def validation_errors(raw: Sequence[Any]) -> list[FieldError]:
    """Pydantic error dicts → field errors with JSON pointers (never echoing the input)."""
    out: list[FieldError] = []
    for err in raw:
        loc = [p for p in err.get("loc", ()) if p not in ("function-after", "function-before")]
        out.append(FieldError(pointer=_pointer(loc), detail=str(err.get("msg", "invalid value"))))
    return out


def app_error_response(exc: AppError, *, instance: str | None) -> JSONResponse:
    """The problem+json response for ``exc``; also for code that must keep the response
    (e.g. an idempotent request storing its outcome) instead of letting the error propagate."""
    return problem_response(
        exc.status,
        exc.detail,
        slug=exc.slug,
        title=exc.title,
        errors=exc.errors,
        headers=exc.headers,
        instance=instance,
    )


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return app_error_response(exc, instance=request.url.path)


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc.errors())
    fields = ", ".join(e.pointer for e in errors[:5])
    return problem_response(
        422,
        f"{len(errors)} invalid field(s): {fields}",
        slug=ValidationFailed.slug,
        title=ValidationFailed.title,
        errors=errors,
        instance=request.url.path,
    )


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No resource at {request.url.path}"
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
        headers["Allow"] = _allowed_methods(request)
    return problem_response(exc.status_code, detail, headers=headers, instance=request.url.path)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method served at this path (RFC 9110 §15.5.6). Starlette's own 405 names only the
    methods of the first route whose path matched, e.g. `POST` where GET and POST are served;
    asking the router per method also sees through included routers."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]
    return ", ".join(allowed)


# Exceptions of a lower layer that are no bug of ours, e.g. the database being away: each
# translator returns the AppError to answer with, or None. Installed per app (core knows no
# database); every exception that would be a 500 is offered to them first.
ErrorTranslator = Callable[[BaseException], AppError | None]


def _translated(request: Request, exc: BaseException) -> AppError | None:
    translators: Sequence[ErrorTranslator] = getattr(request.app.state, "error_translators", ())
    for translate in translators:
        found = translate(exc)
        if found is not None:
            return found
    return None


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Every exception no handler took, from FastAPI's routes and the OGC dispatch alike:
    offered to the app's translators first (database trouble, data the database refuses)."""
    known = _translated(request, exc)
    if known is not None:
        # The error's class and SQLSTATE only: a driver's message may quote request values.
        cause = getattr(exc, "orig", None) or exc
        state = getattr(cause, "sqlstate", None) or ""
        log.warning(
            "%s %s: %s (%s %s)",
            request.method,
            request.url.path,
            known.detail,
            type(cause).__name__,
            state,
        )
        return app_error_response(known, instance=request.url.path)
    # Log the traceback for operators; the client gets no internals.
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        500, "An unexpected error occurred; it has been logged.", instance=request.url.path
    )


# Retry-After of a request cut off by the end of a drain.
DRAIN_RETRY_AFTER_S = 1


class UnhandledAsProblem:
    """Renders an unhandled exception as the 500 problem inside the middleware stack, and a
    request cancelled by the end of a drain as a 503.

    Starlette runs the ``Exception`` handler in its outermost middleware, outside every
    middleware the app adds, so without this a 500 would miss the security and CORS headers.
    The handler stays installed for exceptions raised by the middlewares themselves.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise  # mid-body: nothing to render, the server aborts the response
            response = await _unexpected(Request(scope), exc)
            await response(scope, receive, send)
        except asyncio.CancelledError:
            # On SIGTERM `serve` lets requests run for shutdown_timeout_seconds, then cancels
            # the rest, and uvicorn would answer one whose response has not started with a
            # bare 500: a 503 with Retry-After lets the client (or the proxy) retry elsewhere.
            if not started:
                with contextlib.suppress(Exception):
                    await problem_response(
                        503,
                        "The server is shutting down; retry the request",
                        headers={"Retry-After": str(DRAIN_RETRY_AFTER_S), "Connection": "close"},
                        instance=scope["path"],
                    )(scope, receive, send)
            raise


def install_error_handlers(app: FastAPI, *translators: ErrorTranslator) -> None:
    app.state.error_translators = translators
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(Exception, _unexpected)


_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing, unknown, expired or revoked API key",
    403: "The key's organisation may not do this",
    404: "Not found (or not visible to this key)",
    409: "Conflict with the current state",
    412: "If-Match does not match the current version",
    428: "If-Match is required for this write",
    413: "Request body too large",
    422: "Invalid input; `errors` lists every rejected field",
    429: "Rate limit exceeded; wait `Retry-After` seconds",
    500: "Unexpected server error",
    503: "Database unavailable, a query over the statement timeout, or schema not migrated; "
    "`Retry-After` says when to try again",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for problem+json errors."""
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
