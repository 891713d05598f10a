"""A throwaway primary cluster and a hot standby of it (`pg_basebackup -R`), for the read
replica tests; never the shared test cluster. Both are stopped and removed afterwards."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from landmarket.db.embedded import SUPERUSER, EmbeddedCluster, free_port


@dataclass
class Pair:
    primary: EmbeddedCluster
    standby: EmbeddedCluster


def _directory(prefix: str) -> Path:
    # Under /tmp with 0711 so that, as root, the postgres user can reach the cluster inside.
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o711)
    return path


@contextmanager
def primary_and_standby() -> Iterator[Pair]:
    primary = EmbeddedCluster(_directory("landmarket-primary-"))
    standby = EmbeddedCluster(_directory("landmarket-standby-"))
    try:
        primary.start()
        standby.pgdata.mkdir(mode=0o700)
        if standby.run_as is not None:
            os.chown(standby.pgdata, standby.run_as.pw_uid, standby.run_as.pw_gid)
        # As the cluster's user, with the primary's password (-R writes it into
        # primary_conninfo): a streaming standby of the whole cluster.
        primary._run(
            primary.install.tool("pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", SUPERUSER),
            *("-D", str(standby.pgdata), "-R", "-X", "stream", "-c", "fast"),
            timeout=60,
        )
        state = primary._read_state() | {"port": free_port()}
        standby._write_state(state)
        standby.start()
        yield Pair(primary, standby)
    finally:
        for cluster in (standby, primary):
            if cluster.status().running:
                cluster.stop()
            shutil.rmtree(cluster.data_dir, ignore_errors=True)
