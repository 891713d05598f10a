"""Authentication and role dependencies.

Use the ``Annotated`` aliases in route signatures::

    async def handler(principal: MunicipalityEditor, session: SessionDep) -> ...

``Principal`` accepts any valid key (401 otherwise); the role aliases additionally answer 403
for a valid key of another organisation kind; ``OptionalPrincipal`` is None without a header
but still 401 for a bad key (a client that sends a key wants to know it is wrong).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from landmarket.auth import service
from landmarket.auth.models import OrgKind
from landmarket.auth.principal import AuthPrincipal
from landmarket.core.errors import Forbidden, Unauthorized
from landmarket.core.ratelimit import mark_verified
from landmarket.db.session import SessionDep

# auto_error=False: we raise our own problem+json 401; the scheme still appears in OpenAPI.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An organisation's API key: `Authorization: Bearer lm_…`",
)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _missing(request: Request) -> Unauthorized:
    if request.headers.get("authorization"):
        return Unauthorized(
            "The Authorization header must be `Bearer <api key>`", error="invalid_request"
        )
    exc = Unauthorized("An API key is required: send `Authorization: Bearer <api key>`")
    # RFC 6750 §3.1: a request without credentials gets a bare challenge, no error code.
    exc.headers = {"WWW-Authenticate": 'Bearer realm="landmarket"'}
    return exc


async def get_optional_principal(
    request: Request, credentials: BearerCredentials, session: SessionDep
) -> AuthPrincipal | None:
    if credentials is None:
        if request.headers.get("authorization"):
            raise _missing(request)
        return None
    principal = await service.authenticate(session, credentials.credentials.strip())
    # From now on this key's requests draw from its own rate-limit bucket.
    mark_verified(request, principal.key_id)
    return principal


async def get_principal(
    request: Request, principal: Annotated[AuthPrincipal | None, Depends(get_optional_principal)]
) -> AuthPrincipal:
    if principal is None:
        raise _missing(request)
    return principal


def require_kinds(*kinds: OrgKind) -> Callable[[AuthPrincipal], Awaitable[AuthPrincipal]]:
    """A dependency that admits only keys of the given organisation kinds (403 otherwise)."""
    allowed = frozenset(kinds)
    names = " or ".join(k.value for k in kinds)

    async def guard(principal: Annotated[AuthPrincipal, Depends(get_principal)]) -> AuthPrincipal:
        if principal.kind not in allowed:
            raise Forbidden(f"Only {names} organisations may do this")
        return principal

    return guard


# `openapi_extra` of routes that take an OptionalPrincipal. FastAPI documents the bearer scheme
# as required wherever it is used and appends this to the operation's `security`: the empty
# requirement says an anonymous call is served too (OpenAPI 3.1, Security Requirement Object).
OPTIONAL_AUTH: dict[str, Any] = {"security": [{}]}

Principal = Annotated[AuthPrincipal, Depends(get_principal)]
OptionalPrincipal = Annotated[AuthPrincipal | None, Depends(get_optional_principal)]
AdminPrincipal = Annotated[AuthPrincipal, Depends(require_kinds(OrgKind.admin))]
MunicipalityEditor = Annotated[AuthPrincipal, Depends(require_kinds(OrgKind.municipality))]
CompanyPrincipal = Annotated[AuthPrincipal, Depends(require_kinds(OrgKind.company))]
AgencyPrincipal = Annotated[AuthPrincipal, Depends(require_kinds(OrgKind.agency))]
