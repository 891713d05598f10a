"""The PostgreSQL server the tests run against.

Either the server named by ``LANDMARKET_TEST_DATABASE_URL`` (a database on it is used as the
maintenance connection; tests create and drop their own databases) or a throwaway embedded
cluster in a temporary directory, started and stopped by the harness. Both are real PostGIS.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from landmarket.db.embedded import EmbeddedCluster
from landmarket.db.session import async_url


class PgServer:
    def __init__(self) -> None:
        self._tmp: Path | None = None
        self._cluster: EmbeddedCluster | None = None
        given = os.environ.get("LANDMARKET_TEST_DATABASE_URL")
        if given:
            self.admin_url = async_url(given)
        else:
            # 0711 so that, as root, the postgres user can reach the cluster inside.
            self._tmp = Path(tempfile.mkdtemp(prefix="landmarket-test-", dir="/tmp"))
            self._tmp.chmod(0o711)
            self._cluster = EmbeddedCluster(self._tmp)
            self._cluster.start()
            self.admin_url = self._cluster.url("postgres")

    def url_for(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    async def _admin(self, sql: str) -> None:
        dsn = make_url(self.admin_url).set(drivername="postgresql")
        conn = await asyncpg.connect(dsn.render_as_string(hide_password=False))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def acreate_database(self, prefix: str = "lm_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        await self._admin(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    async def adrop_database(self, url: str) -> None:
        name = make_url(url).database
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @property
    def cluster(self) -> EmbeddedCluster | None:
        return self._cluster

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
