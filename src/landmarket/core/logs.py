"""Logging set-up, and keeping secrets out of log lines.

Nothing here logs headers, so an ``Authorization`` header never reaches a log. What can carry
a secret is a URL: the access log writes the path with its query string, and a client may put
a key where it does not belong (``?api_key=lm_…``). The access log's lines are redacted.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

_API_KEY = re.compile(r"\b(lm_[0-9a-f]{8})_[A-Za-z0-9_-]{43}")
# Values of query parameters whose name says they hold a credential.
_SECRET_PARAM = re.compile(
    r"(?i)([?&;](?:[a-z0-9]+[_.-])*(?:api)?(?:key|token|secret|passw(?:or)?d|pwd|signature|sig"
    r"|auth|authorization|credentials?)=)[^&;#\s\"]*"
)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/:@\s\"]*):[^@/\s\"]*@")
# asyncpg quotes the value it could not encode; SQLAlchemy's hide_parameters cannot hide that.
_DRIVER_ARGUMENT = re.compile(r"(invalid input for query argument \$\d+: ).*")
REDACTED = "[redacted]"
# Libraries that would log each request with its full URL (httpx, for webhook deliveries)
# or each migration check (alembic) at INFO.
_QUIET = ("alembic", "httpx", "httpcore")


def redact(text: str) -> str:
    """``text`` without API keys (their public prefix stays), credential-named query values
    and URL passwords."""
    text = _API_KEY.sub(rf"\1_{REDACTED}", text)
    text = _SECRET_PARAM.sub(rf"\1{REDACTED}", text)
    text = _DRIVER_ARGUMENT.sub(rf"\1{REDACTED}", text)
    return _USERINFO.sub(rf"\1:{REDACTED}@", text)


def url_origin(url: str) -> str:
    """Scheme, host and port only: webhook receivers often put their token in the path or
    query (e.g. ``/hooks/T0/B0/<secret>``), so logs name the receiver by its origin."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    return f"{parts.scheme}://{parts.hostname or ''}{port}"


class RedactSecrets(logging.Filter):
    """Rewrites a record's message, its arguments and its traceback through ``redact``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if record.exc_info and not record.exc_text:
            # Handlers' formatters use exc_text when it is set instead of formatting again.
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        return True


_TRACEBACKS = logging.Formatter()
# Filters act on the records of the logger they are added to, not its children: these are
# the loggers that write URLs or tracebacks.
REDACTED_LOGGERS = (
    "uvicorn.access",
    "uvicorn.error",
    "landmarket.core.errors",
    "landmarket.webhooks.worker",
)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    # Uvicorn configures its loggers before it builds the app, so this comes after it.
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
