"""Fixtures of the API tests: throwaway TLS material, made once per session."""

from __future__ import annotations

import pytest

from tests.certs import Material, make_material


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> Material:
    return make_material(tmp_path_factory.mktemp("tls"))
