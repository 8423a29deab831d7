"""A handler's cold start is its own routes: the database driver, numpy, boto3 and the service
container load on the first invocation (README, Cold start). A route that imports a service module
for one helper pulled psycopg and the catalog into the files handler's init (+150 ms)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tests.support.paths import REPO

DEFERRED = ("psycopg", "numpy", "boto3", "vector_store_api.container", "vector_store_api.catalog")
HANDLERS = sorted(p.parent.name for p in (REPO / "functions").glob("*/app.py"))


@pytest.mark.parametrize("handler", HANDLERS)
def test_importing_a_handler_leaves_the_heavy_modules_for_the_first_invocation(handler):
    probe = f"import sys, functions.{handler}.app; print(','.join(m for m in {DEFERRED!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == ""
