"""The processes a bench run starts: the local API server(s) and, optionally, an OpenSearch node.

The server process class and the OpenSearch starter are the tests' (tests/support/); what is the
bench's own is `LazyOpenSearch`, the run's one node. Every process started is registered on an
`ExitStack` by the caller and stopped at the end of the run, on error and on Ctrl-C too.
"""

from __future__ import annotations

from tests.support.opensearch import OpenSearchNode, start_opensearch


class LazyOpenSearch:
    """The run's OpenSearch node, started on first use (`url()`) and shared by the parts that need
    it; `stop()` stops it (a no-op when it never started)."""

    def __init__(self) -> None:
        self.node: OpenSearchNode | None = None

    @property
    def started(self) -> bool:
        return self.node is not None

    def url(self) -> str:
        if self.node is None:
            print("starting OpenSearch ...", flush=True)
            self.node = start_opensearch()
        return self.node.url

    def stop(self) -> None:
        if self.node is not None:
            self.node.stop()
            self.node = None
