"""What the service tests share: the real catalog and classifier, and a migrated SQLite store
(migrated once per module and copied per test) with a running recorder and a manual clock."""

from __future__ import annotations

import shutil

import pytest

from router.core.catalog import load_catalog
from router.core.classifier import Classifier
from router.core.clock import ManualClock
from router.settings import Settings
from router.store.recorder import Recorder
from router.store.sql import SqlStore

SETTINGS = Settings()


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(SETTINGS.catalog_path)


@pytest.fixture(scope="module")
def classifier():
    return Classifier.load(SETTINGS.classifier_path)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """A migrated database file, copied for each test (migrating each one is the slow part)."""
    path = tmp_path_factory.mktemp("schema") / "r.db"
    s = SqlStore(f"sqlite:///{path}")
    s.migrate()
    s.close()
    return path


@pytest.fixture
def store(migrated, tmp_path):
    shutil.copyfile(migrated, tmp_path / "r.db")
    s = SqlStore(f"sqlite:///{tmp_path / 'r.db'}", sqlite_synchronous="NORMAL")
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def recorder(store):
    r = Recorder(store).start()
    yield r
    r.close()


@pytest.fixture
def clock():
    return ManualClock()


