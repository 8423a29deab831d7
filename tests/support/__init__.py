"""Test support: what the test suites and the benchmark (bench/) share, each written once.

- `paths`: the repo, the sibling ../shared folder (offline assets) and the local model's folder.
- `servers`: the local API server in a subprocess (`ApiServer`, the suites' `ServerProcess`), `free_port`.
- `opensearch`: a single-node OpenSearch (scripts/opensearch_server.py): can it start here, start one.
- `sdk`: the official SDK against a running server: clients, uploads, attaching, polling, checks.
- `admin`: the organization (admin) API: admin clients, projects and their keys.

Import the submodules themselves (`from tests.support.servers import ApiServer`): this file imports
nothing, so the benchmark does not pull in pytest or the SDK helpers with the server class.
"""
