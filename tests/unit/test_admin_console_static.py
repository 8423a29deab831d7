"""The admin console's static pages (issue 16): served with a strict CSP, only the built files, and
the committed build made from the committed sources (the browser flows are tests/e2e/test_admin_console.py)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from fastapi.testclient import TestClient
from tests.support.paths import REPO

from vector_store_api.admin_console import ASSETS_DIR, STATIC_DIR, router
from vector_store_api.app import create_app

# Mirrors admin/scripts/stamp.mjs: what the build is made from.
SOURCES = ["index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "scripts", "src"]
ADMIN_SRC = REPO / "admin"


def _digests(base: Path, paths: list[Path]) -> dict[str, str]:
    return {p.relative_to(base).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(paths)}


def _files(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]


def test_the_committed_build_is_current():
    """A source changed without `make admin-build`, or a built file edited by hand, fails here."""
    stamp = json.loads((STATIC_DIR / "build-stamp.json").read_text())
    sources = _digests(ADMIN_SRC, [f for name in SOURCES for f in _files(ADMIN_SRC / name)])
    built = _digests(STATIC_DIR, [f for f in _files(STATIC_DIR) if f.name != "build-stamp.json"])
    assert stamp["sources"] == sources, "admin/ changed since the console was built: run `make admin-build` and commit"
    assert stamp["built"] == built, "the built console differs from its stamp: run `make admin-build` and commit"


def test_the_bundle_never_parses_strings_as_html_or_code():
    bundle = (ASSETS_DIR / "console.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in bundle, sink


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_script = False
        self.handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handlers += [name for name, _ in attrs if name.startswith("on") or name == "style"]
        self._in_script = tag == "script"
        if tag == "script":
            self.scripts.append(dict(attrs))

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script = True

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def _client() -> TestClient:
    return TestClient(create_app([router], services=lambda: None), follow_redirects=False)


def test_the_page_is_served_with_a_strict_csp_and_no_inline_script():
    client = _client()
    assert client.get("/admin/").text == client.get("/admin").text
    page = client.get("/admin")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert "unsafe" not in csp and "http" not in csp
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    markup = _Markup()
    markup.feed(page.text)
    assert markup.scripts == [{"type": "module", "crossorigin": None, "src": "/admin/assets/console.js"}]
    assert not markup.inline_script and not markup.handlers
    script = client.get("/admin/assets/console.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert script.headers["content-security-policy"] == csp
    assert client.get("/admin/assets/console.css").headers["content-type"].startswith("text/css")


def test_only_built_files_are_served():
    client = _client()
    for path in ("/admin/assets/missing.js", "/admin/assets/..%2F__init__.py", "/admin/assets/.hidden.js", "/admin/build-stamp.json"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_no_handler_but_organization_imports_the_console():
    """The console rides on the organization function; the other handlers' cold start is untouched."""
    handlers = sorted(p.parent.name for p in (REPO / "functions").glob("*/app.py"))
    importers = [name for name in handlers if "admin_console" in (REPO / "functions" / name / "app.py").read_text()]
    assert importers == ["organization"]
    probe = (
        "import sys; import vector_store_api.app, vector_store_api.api.routes.search; "
        "print('vector_store_api.admin_console' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    template = (REPO / "template.yaml").read_text()
    assert 'Path: "/admin", Method: GET' in template and 'Path: "/admin/{proxy+}", Method: GET' in template
