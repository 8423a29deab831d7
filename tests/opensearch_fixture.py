"""pytest plugin: a real OpenSearch (with the k-NN plugin) for the whole test session.

Registered from tests/conftest.py with `pytest_plugins = ["opensearch_fixture"]`. The fixture `opensearch_url`:

* uses the server at OPENSEARCH_URL when that is set (nothing is started; it must be reachable);
* otherwise installs OpenSearch + k-NN from Maven Central once (cached, see scripts/opensearch_server.py),
  starts one single-node server on 127.0.0.1 for the session and stops it at session end;
* skips when Java or Maven is missing, except under CI=true, where a missing prerequisite fails the test.

The k-NN zip on Maven Central has no native libraries: only the `lucene` engine works on the started server.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "opensearch_server.py"

PREREQUISITES = "OpenSearch tests need Java 17 and Maven (to fetch OpenSearch from Maven Central)"


def _load_server_module():
    """scripts/ is not a package: load scripts/opensearch_server.py by path (once)."""
    name = "opensearch_server"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before exec: dataclasses look their module up in sys.modules
    spec.loader.exec_module(module)
    return module


opensearch_server = _load_server_module()


def _missing_prerequisites() -> list[str]:
    missing = []
    version = opensearch_server.java_version()
    if version is None:
        missing.append(
            "no Java found (install a JDK 17, e.g. `apt-get install openjdk-17-jdk-headless`, or set JAVA_HOME)"
        )
    elif version < 11:
        missing.append(f"Java {version} is too old (OpenSearch 2.x needs 11+, 17 recommended)")
    if not opensearch_server.is_installed() and not opensearch_server.maven_available():
        missing.append("no `mvn` on PATH (install Maven, e.g. `apt-get install maven`)")
    return missing


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

    missing = _missing_prerequisites()
    if missing:
        _skip_or_fail(f"{PREREQUISITES}: {'; '.join(missing)}")
    server = opensearch_server.start(opensearch_server.ensure_installed())
    try:
        yield server.url
    finally:
        server.stop()
