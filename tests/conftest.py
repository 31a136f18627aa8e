from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sentinel.config import Settings, load_settings
from sentinel.store import Store

DATA = Path(__file__).parent / "data"

# The knowledge-base cache goes to a directory of this test run, never to the
# user's ~/.cache (tests of the cache set their own).
_CACHE = tempfile.mkdtemp(prefix="sentinel-test-cache-")
os.environ["SENTINEL_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, True)
PG_URL = os.environ.get("SENTINEL_TEST_DATABASE_URL")


def _pg_schema_url() -> Iterator[str]:
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database on each backend (PostgreSQL when configured)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sentinel.db'}"
        return
    if not PG_URL:
        pytest.skip("SENTINEL_TEST_DATABASE_URL is not set (make test under .ci/run sets it)")
    yield from _pg_schema_url()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store.open(db_url)
    yield s
    s.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return load_settings(None, {
        "storage.data_dir": str(tmp_path / "data"),
        "storage.database_url": db_url,
        "district.timezone": "UTC",
        "networks": [
            {"cidr": "10.10.0.0/18", "site": "High", "population": "students"},
            {"cidr": "10.10.64.0/22", "site": "High", "population": "staff"},
        ],
    }, env={})


@pytest.fixture(autouse=True)
def _registry_restored() -> Iterator[None]:
    """Formats a test's configuration registers do not leak into other tests."""
    from collectors.registry import FORMATS
    from sentinel import config

    saved, names = dict(FORMATS), set(config._REGISTERED)
    yield
    FORMATS.clear()
    FORMATS.update(saved)
    config._REGISTERED.clear()
    config._REGISTERED.update(names)
