"""Settings, read from the environment with the prefix ``LANDMARKET_``."""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def default_data_dir() -> Path:
    """XDG data dir + /landmarket; for root the FHS location.

    Root's XDG dir lives under /root, which the unprivileged user that runs the embedded
    PostgreSQL server cannot traverse, so root gets /var/lib/landmarket instead.
    """
    if os.geteuid() == 0 and "XDG_DATA_HOME" not in os.environ:
        return Path("/var/lib/landmarket")
    return Path(user_data_dir("landmarket", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LANDMARKET_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    # SecretStr keeps the password out of reprs, logs and validation errors.
    database_url: SecretStr | None = None
    data_dir: Path = Field(default_factory=default_data_dir)
    log_level: str = "INFO"
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = 20 * 1024 * 1024
    # Bulk plot imports: features per request (more → 413) and vertices per plot geometry
    # (more → 422 at the geometry). Both bound the work one request can cause.
    max_import_features: int = Field(default=10_000, ge=1)
    max_geometry_vertices: int = Field(default=10_000, ge=4)
    # Import sessions (batched pushes): features over all batches of one session (more → 413)
    # and how long a session lives after its last upload before it is dropped unwritten.
    max_import_session_features: int = Field(default=250_000, ge=1)
    import_session_ttl_seconds: int = Field(default=3600, ge=1)
    db_pool_size: int = 10
    # How long a request waits for a pooled connection before it is answered 503.
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    # The database URLs lead to a transaction-pooling proxy (PgBouncer pool_mode=transaction,
    # docs/deploy.md): no statement caches, unique prepared statement names, single reads in
    # a transaction, and no startup parameters (set statement_timeout and jit on the role).
    db_transaction_pooler: bool = False
    # Per-statement limit for API queries; a runaway query must not hold a connection forever.
    # A query over it is answered 503 with Retry-After (db.session.outage_as_503).
    statement_timeout_ms: int = Field(default=30_000, ge=0)
    # The same for the statements of a bulk import or an import session's commit: a 25,000-
    # feature commit takes ~10 s on an idle 2-core machine and several times that under load,
    # and a GIS office should not have to split a push because the server is busy.
    import_statement_timeout_ms: int = Field(default=300_000, ge=0)
    # Per API key, per client address for anonymous requests (core/ratelimit.py): `burst`
    # requests per ceil(burst / rate) seconds. Kept in each process unless redis_url is set,
    # so without Redis N workers admit up to N times this. 0 disables.
    rate_limit_per_second: float = Field(default=50.0, ge=0, allow_inf_nan=False)
    rate_limit_burst: int = Field(default=200, ge=1)
    # Shared state of several API processes and nodes (docs/deploy.md): the rate limit and the
    # event feed's per-key poll cap, e.g. redis://10.0.0.7:6379/0. Unset: each process alone.
    redis_url: SecretStr | None = None
    # Streaming replicas (docs/deploy.md, db/replicas.py), comma-separated URLs: public reads,
    # the OGC API and reports go there unless the caller wrote within read_your_writes_seconds;
    # a replica lagging more than replica_max_lag_seconds, or down, is skipped until it is fit
    # again (checked every replica_check_seconds).
    read_database_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    replica_max_lag_seconds: float = Field(default=5.0, ge=0, allow_inf_nan=False)
    replica_check_seconds: float = Field(default=1.0, gt=0, le=60, allow_inf_nan=False)
    read_your_writes_seconds: float = Field(default=5.0, ge=0, le=3600, allow_inf_nan=False)
    # Strict-Transport-Security max-age; set it (e.g. 31536000) only when clients reach the API
    # over TLS (a proxy in front terminates it). 0: the header is not sent.
    hsts_max_age_seconds: int = Field(default=0, ge=0)
    # FastAPI's native OpenTelemetry spans, metrics and logs (they go to whichever providers
    # the process configures). Off unless asked for: even with no provider set up, checking
    # for one costs every request about 30 µs.
    opentelemetry: bool = False
    # The built web app (web/dist, see landmarket.web); default: the checkout's web/dist.
    web_dist_dir: Path | None = None
    # Webhooks (docs/webhooks.md). Targets on private, loopback, link-local or metadata
    # addresses are refused unless allowed here (development, tests, an internal receiver).
    webhook_allow_private_targets: bool = False
    webhook_allowed_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    webhook_max_attempts: int = Field(default=12, ge=1)
    webhook_backoff_base_seconds: float = Field(default=30.0, gt=0)
    webhook_backoff_max_seconds: float = Field(default=6 * 3600.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_worker_poll_seconds: float = Field(default=1.0, gt=0)
    # Requests one worker process has in flight at once, and at most per subscription over
    # all workers (an endpoint that fails gets one at a time), so slow or dead endpoints
    # delay nobody else.
    webhook_worker_concurrency: int = Field(default=50, ge=1, le=1000)
    webhook_subscription_concurrency: int = Field(default=4, ge=1, le=100)
    # ... and per organisation over all its subscriptions: a tenant with many dead endpoints
    # cannot take every slot.
    webhook_organization_concurrency: int = Field(default=20, ge=1, le=1000)
    # An endpoint that has failed every attempt for this long and this many times is disabled
    # (`active` false) and its owner gets a `webhook.disabled` event. 0 failures: never.
    webhook_disable_after_days: float = Field(default=3.0, ge=0, allow_inf_nan=False)
    webhook_disable_after_failures: int = Field(default=10, ge=0)
    # `landmarket serve` starts a delivery worker next to the API unless this is false.
    webhook_worker_enabled: bool = True
    # Retention: the worker deletes, in batches, delivered and dead deliveries and feed events
    # older than these (an event stays while a delivery of it does) and expired idempotency
    # records, every `retention_purge_interval_seconds`.
    webhook_delivered_retention_days: float = Field(default=7.0, gt=0, allow_inf_nan=False)
    webhook_dead_retention_days: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    event_retention_days: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    retention_purge_interval_seconds: float = Field(default=300.0, gt=0, allow_inf_nan=False)
    retention_purge_batch: int = Field(default=1000, ge=1, le=100_000)
    # The longest GET /v1/events holds a long poll (a larger `wait` is cut to it), e.g. below
    # the idle timeout of a proxy in front.
    event_feed_max_wait_seconds: float = Field(default=30.0, ge=0, le=30, allow_inf_nan=False)
    # `landmarket serve`'s HTTP connections (httpserver.py, docs/limits.md): the request head
    # must arrive within the header timeout, the body within the body timeout after it; an
    # idle kept-alive connection is closed after the keep-alive timeout. Per API worker at
    # most http_max_connections connections (fewer if `ulimit -n` does not allow them); a
    # request head over http_max_header_bytes gets 431.
    http_header_timeout_seconds: float = Field(default=10.0, gt=0, le=3600, allow_inf_nan=False)
    http_body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600, allow_inf_nan=False)
    http_keepalive_timeout_seconds: int = Field(default=5, ge=1, le=3600)
    # Generous: a long poll (GET /v1/events?wait=) holds its connection for up to 30 s.
    http_max_connections: int = Field(default=4096, ge=16)
    http_max_header_bytes: int = Field(default=64 * 1024, ge=1024)
    # On SIGTERM `serve` stops accepting connections and lets the requests in flight finish
    # for at most this long (a long poll holds up to event_feed_max_wait_seconds), then
    # cancels what is left and exits: a rolling restart loses no request that finishes in time.
    shutdown_timeout_seconds: float = Field(default=35.0, gt=0, le=3600, allow_inf_nan=False)
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: addresses or
    # networks, comma-separated ("10.0.0.5,192.168.0.0/24"; "*" for any, only when nothing
    # but the proxy can reach the API). Empty: none, the peer address is the client.
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Long polls of one API key open at once (in this process, or over all processes sharing
    # redis_url); one more is answered 429.
    event_feed_max_polls_per_key: int = Field(default=5, ge=1)
    # A waiting poll is woken by a notification when its organisation gets an event; it
    # looks anyway after this long (also while the listening connection is being re-opened).
    event_feed_poll_seconds: float = Field(default=5.0, gt=0, le=60, allow_inf_nan=False)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # Accept a comma-separated env value as well as a JSON list.
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                import json

                return json.loads(value)
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("webhook_allowed_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        # Comma-separated CIDRs, e.g. "10.0.0.0/8,192.168.1.10/32"; checked here, at start,
        # rather than failing every delivery later.
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list):
            for item in value:
                ipaddress.ip_network(str(item), strict=False)  # ValueError names the entry
        return value

    @field_validator("read_database_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _valid_proxies(cls, value: list[str]) -> list[str]:
        for item in value:
            if item != "*":
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError as exc:
                    raise ValueError(f"{item!r} is not an IP address or network") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}:
            raise ValueError("must be one of CRITICAL, ERROR, WARNING, INFO, DEBUG")
        return level

    def redis_url_value(self) -> str | None:
        return self.redis_url.get_secret_value() if self.redis_url else None

    def database_url_value(self) -> str | None:
        return self.database_url.get_secret_value() if self.database_url else None


@lru_cache
def get_settings() -> Settings:
    return Settings()
