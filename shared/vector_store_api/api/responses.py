"""JSON responses, with the polling hint on objects still in progress."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ..models.common import CursorPage, Page

POLL_AFTER_HEADER = "openai-poll-after-ms"


def respond(model: BaseModel, poll_after_ms: int | None = None) -> JSONResponse:
    headers = {}
    if poll_after_ms is not None and (
        getattr(model, "status", None) == "in_progress"
        or getattr(getattr(model, "file_counts", None), "in_progress", 0)
    ):
        headers[POLL_AFTER_HEADER] = str(poll_after_ms)
    return JSONResponse(model.model_dump(mode="json"), headers=headers)


def respond_page(page: Page) -> JSONResponse:
    return respond_list(page.items, page.has_more)


def respond_list(items: list, has_more: bool = False) -> JSONResponse:
    return respond(
        CursorPage(
            data=items,
            first_id=items[0].id if items else None,
            last_id=items[-1].id if items else None,
            has_more=has_more,
        )
    )
