"""The admin console (issue 16): a static single-page app served at /admin.

The pages are built from admin/ (TypeScript + Vite) into static/, committed, so running the
server needs no Node.js. The console talks only to the public API with the key the operator types
in; this module only hands out its files. It imports nothing beyond FastAPI, so the one Lambda
handler that serves it (organization) starts as before, and no other handler imports it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from ..errors import NotFound

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_DIR = STATIC_DIR / "assets"

# No inline script or style, no eval, no other origin: a string from the API that slipped into the
# page as markup could still not run. 'self' for connect-src: the console calls only this API.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-cache",  # fixed asset names (a diffable build): revalidate, never serve stale
}
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}

router = APIRouter(include_in_schema=False)


def _not_found(path: str) -> NotFound:
    return NotFound(f"No admin console page at '{path[:64]}'.")


# The page at /admin itself (its own route in template.yaml), and at /admin/: AWS does not document
# whether /admin/{proxy+} matches an empty rest, and no redirect is needed since the assets are
# linked by absolute path.
@router.get("/admin")
@router.get("/admin/")
def console_index() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)


@router.get("/admin/assets/{name}")
def console_asset(name: str) -> FileResponse:
    """Only the built files themselves: a name with a path separator, or unknown, is a 404."""
    media_type = MEDIA_TYPES.get(Path(name).suffix)
    path = ASSETS_DIR / name
    if "/" in name or "\\" in name or name.startswith(".") or media_type is None or not path.is_file():
        raise _not_found("assets/" + name)
    return FileResponse(path, media_type=media_type, headers=SECURITY_HEADERS)
