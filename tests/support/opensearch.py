"""A single-node OpenSearch with the k-NN plugin (lucene engine), from scripts/opensearch_server.py:
whether one can start here, and starting one. Used by the tests' `opensearch_url` fixture
(tests/opensearch_fixture.py) and by the benchmark.

The k-NN zip on Maven Central has no native libraries: only the `lucene` engine works on the started node.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType
from typing import Protocol

from .paths import OPENSEARCH_SCRIPT

PREREQUISITES = "OpenSearch tests need Java 17 and Maven (to fetch OpenSearch from Maven Central)"


class OpenSearchNode(Protocol):
    """What `start_opensearch` returns: the node's base URL (no trailing slash) and how to stop it."""

    @property
    def url(self) -> str: ...

    def stop(self) -> None: ...


def server_module() -> ModuleType:
    """scripts/opensearch_server.py (scripts/ is not a package), loaded by path once."""
    name = "opensearch_server"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, OPENSEARCH_SCRIPT)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {OPENSEARCH_SCRIPT}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before exec: its dataclasses look the module up in sys.modules
    spec.loader.exec_module(module)
    return module


def missing_prerequisites() -> list[str]:
    """What is missing here to start a node (empty when one can start)."""
    module = server_module()
    missing = []
    version = module.java_version()
    if version is None:
        missing.append(
            "no Java found (install a JDK 17, e.g. `apt-get install openjdk-17-jdk-headless`, or set JAVA_HOME)"
        )
    elif version < 11:
        missing.append(f"Java {version} is too old (OpenSearch 2.x needs 11+, 17 recommended)")
    if not module.is_installed() and not module.maven_available():
        missing.append("no `mvn` on PATH (install Maven, e.g. `apt-get install maven`)")
    return missing


def opensearch_unavailable() -> str | None:
    """Why an OpenSearch node cannot be started here, or None when it can."""
    missing = missing_prerequisites()
    return "; ".join(missing) if missing else None


class ExternalOpenSearch:
    """OPENSEARCH_URL given by the user: nothing to start or stop."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def stop(self) -> None:
        pass


def start_node(heap: str | None = None) -> OpenSearchNode:
    """A node started from the cached install (fetched from Maven Central on first use), with the
    script's default JVM heap unless `heap` is given."""
    module = server_module()
    node: OpenSearchNode = module.start(module.ensure_installed(), **({"heap": heap} if heap else {}))
    return node


def start_opensearch(heap: str = "1g") -> OpenSearchNode:
    """The benchmark's node: OPENSEARCH_URL if set, else one started here (`start_node`)."""
    if os.environ.get("OPENSEARCH_URL"):
        return ExternalOpenSearch(os.environ["OPENSEARCH_URL"])
    return start_node(heap)
