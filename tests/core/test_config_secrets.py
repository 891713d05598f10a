"""Settings from the environment, and secrets that never surface."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import ValidationError

from landmarket.core.config import Settings, default_data_dir
from landmarket.db.embedded import free_port
from landmarket.main import create_app

SECRET = "s3cret-Passw0rd"


def test_database_password_is_masked_in_settings() -> None:
    settings = Settings(database_url=f"postgresql://app:{SECRET}@db.example/landmarket")
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings.model_dump())
    assert settings.database_url_value() == f"postgresql://app:{SECRET}@db.example/landmarket"


def test_env_prefix_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANDMARKET_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("LANDMARKET_LOG_LEVEL", "debug")
    monkeypatch.setenv("LANDMARKET_DATA_DIR", "/srv/landmarket")
    settings = Settings()
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.log_level == "DEBUG"
    assert settings.data_dir == Path("/srv/landmarket")


def test_invalid_setting_does_not_echo_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANDMARKET_LOG_LEVEL", f"loud-{SECRET}")
    with pytest.raises(ValidationError) as info:
        Settings()
    assert SECRET not in str(info.value)


def test_default_data_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / "landmarket"


async def test_unreachable_database_gives_503_without_secrets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"postgresql://landmarket:{SECRET}@127.0.0.1:{free_port()}/landmarket"
    app = create_app(Settings(), database_url=url)
    caplog.set_level(logging.DEBUG)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ready = await client.get("/readyz")
            listing = await client.get("/v1/municipalities")
    for response in (ready, listing):
        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert SECRET not in response.text
    assert SECRET not in caplog.text
