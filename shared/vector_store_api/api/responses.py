"""JSON responses, with the polling hint on objects still in progress."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel

from ..models.common import CursorPage, Page

POLL_AFTER_HEADER = "openai-poll-after-ms"


def respond(model: BaseModel, poll_after_ms: int | None = None) -> Response:
    headers = {}
    if poll_after_ms is not None and (
        getattr(model, "status", None) == "in_progress"
        or getattr(getattr(model, "file_counts", None), "in_progress", 0)
    ):
        headers[POLL_AFTER_HEADER] = str(poll_after_ms)
    # pydantic-core writes the JSON in one pass (a dict then json.dumps takes 3-4x as long).
    return Response(model.model_dump_json(), headers=headers, media_type="application/json")


def respond_page(page: Page[Any]) -> Response:
    return respond_list(page.items, page.has_more)


def respond_list(items: list[Any], has_more: bool = False) -> Response:
    return respond(
        CursorPage(
            data=items,
            first_id=items[0].id if items else None,
            last_id=items[-1].id if items else None,
            has_more=has_more,
        )
    )
