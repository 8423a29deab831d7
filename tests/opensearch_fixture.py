"""pytest plugin: a real OpenSearch (with the k-NN plugin) for the whole test session.

Registered from tests/conftest.py with `pytest_plugins = ["opensearch_fixture"]`. The fixture `opensearch_url`:

* uses the server at OPENSEARCH_URL when that is set (nothing is started; it must be reachable);
* otherwise installs OpenSearch + k-NN from Maven Central once (cached, see scripts/opensearch_server.py),
  starts one single-node server on 127.0.0.1 for the session and stops it at session end;
* skips when Java or Maven is missing, except under CI=true, where a missing prerequisite fails the test.

Starting the node and checking what it needs is tests/support/opensearch.py (the benchmark's too).
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request

import pytest
from tests.support.opensearch import PREREQUISITES, missing_prerequisites, start_node


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} [CI=true: a missing prerequisite is a failure, not a skip]", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def opensearch_url():
    """Base URL (no trailing slash) of an OpenSearch with the k-NN plugin: OPENSEARCH_URL, or one started here."""
    external = os.environ.get("OPENSEARCH_URL")
    if external:
        url = external.rstrip("/")
        try:
            with urllib.request.urlopen(f"{url}/_cluster/health?wait_for_status=yellow&timeout=30s", timeout=60):
                pass
        except (urllib.error.URLError, OSError) as exc:
            pytest.fail(f"OPENSEARCH_URL={external} is not reachable or not healthy: {exc}", pytrace=False)
        yield url
        return

    missing = missing_prerequisites()
    if missing:
        _skip_or_fail(f"{PREREQUISITES}: {'; '.join(missing)}")
    server = start_node()
    try:
        yield server.url
    finally:
        server.stop()
