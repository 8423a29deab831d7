"""Usage read back for admins: OpenAI's usage buckets (`/v1/organization/usage/vector_stores`)."""

from __future__ import annotations

import calendar
from collections import Counter
from datetime import date, timedelta
from typing import Sequence

from ..errors import InvalidRequest
from ..ids import MAX_TIMESTAMP, USAGE_PAGE_PREFIX
from ..models.admin import MAX_BUCKETS, UsageBucket, UsagePage, VectorStoreUsageResult
from ..usage import base
from ..usage.base import TENANT_TOTAL, UsageStore
from ..usage.recorder import UsageRecorder, utc_day

DAY = 86_400
GROUP_BY = ("project_id", "vector_store_id")


def _day_start(day: date) -> int:
    return calendar.timegm(day.timetuple())


def _result(counters: Counter[str], project_id: str | None, store_id: str | None) -> VectorStoreUsageResult:
    routes = {name.removeprefix(base.ROUTE_PREFIX): n for name, n in counters.items() if name.startswith(base.ROUTE_PREFIX)}
    return VectorStoreUsageResult(
        project_id=project_id,
        vector_store_id=store_id,
        num_requests=counters[base.REQUESTS],
        requests_by_route=dict(sorted(routes.items())),
        num_searches=counters[base.SEARCHES],
        num_files_uploaded=counters[base.FILES_UPLOADED],
        bytes_uploaded=counters[base.BYTES_UPLOADED],
        num_files_ingested=counters[base.FILES_INGESTED],
        num_chunks_embedded=counters[base.CHUNKS_EMBEDDED],
        num_tokens_embedded=counters[base.TOKENS_EMBEDDED],
        usage_bytes=counters[base.BYTES_INGESTED],
        num_responses=counters[base.RESPONSES],
        num_tool_searches=counters[base.TOOL_SEARCHES],
        num_upstream_input_tokens=counters[base.UPSTREAM_INPUT_TOKENS],
        num_upstream_output_tokens=counters[base.UPSTREAM_OUTPUT_TOKENS],
    )


class UsageService:
    def __init__(self, store: UsageStore, recorder: UsageRecorder):
        self._store = store
        self._recorder = recorder

    def vector_store_usage(
        self,
        project_ids: Sequence[str],
        start_time: int,
        end_time: int | None,
        vector_store_ids: Sequence[str] | None,
        group_by: Sequence[str],
        limit: int,
        page: str | None,
        now: int,
    ) -> UsagePage:
        """Daily buckets from start_time (rounded down to its UTC day) to end_time (exclusive)."""
        for field in group_by:
            if field not in GROUP_BY:
                raise InvalidRequest(
                    f"Invalid 'group_by': '{field}'. Expected any of: {', '.join(GROUP_BY)}.",
                    param="group_by",
                    code="invalid_value",
                )
        if not 1 <= limit <= MAX_BUCKETS:
            raise InvalidRequest(f"'limit' must be between 1 and {MAX_BUCKETS}.", param="limit", code="invalid_value")
        for name, value in (("start_time", start_time), ("end_time", end_time)):
            if value is not None and not 0 <= value <= MAX_TIMESTAMP:
                raise InvalidRequest(
                    f"Invalid '{name}': {value}. Expected Unix seconds from 0 to {MAX_TIMESTAMP}.",
                    param=name,
                    code="invalid_value",
                )
        end = end_time if end_time is not None else now
        if end <= start_time:
            raise InvalidRequest("'end_time' must be after 'start_time'.", param="end_time", code="invalid_value")
        first = date.fromisoformat(utc_day(start_time))
        if page is not None:
            try:
                first = date.fromisoformat(page.removeprefix(USAGE_PAGE_PREFIX))
            except ValueError:
                raise InvalidRequest(f"Invalid 'page': '{page}'.", param="page", code="invalid_value") from None
        last_of_range = date.fromisoformat(utc_day(end - 1))
        try:
            last = min(last_of_range, first + timedelta(days=limit - 1))
        except OverflowError:  # a page cursor at the end of the calendar
            raise InvalidRequest(f"Invalid 'page': '{page}'.", param="page", code="invalid_value") from None
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]

        self._recorder.flush()  # what this process counted so far is part of the answer
        by_store = "vector_store_id" in group_by or bool(vector_store_ids)
        sums: dict[tuple[str, str | None, str | None], Counter[str]] = {}
        for row in self._store.query(project_ids, first.isoformat(), last.isoformat()):
            store_id = row.key.vector_store_id
            if by_store != (store_id != TENANT_TOTAL):
                continue  # totals come from the tenant rows, per-store figures from the store rows
            if vector_store_ids and store_id not in vector_store_ids:
                continue
            group = (
                row.key.day,
                row.key.tenant_id if "project_id" in group_by else None,
                store_id if "vector_store_id" in group_by else None,
            )
            sums.setdefault(group, Counter()).update(row.counters)

        buckets = []
        for day in days:
            results = [
                _result(counters, project_id, store_id)
                for (group_day, project_id, store_id), counters in sorted(sums.items(), key=lambda item: str(item[0]))
                if group_day == day.isoformat()
            ]
            start = _day_start(day)
            buckets.append(UsageBucket(start_time=start, end_time=start + DAY, results=results))
        has_more = last < last_of_range
        return UsagePage(
            data=buckets,
            has_more=has_more,
            next_page=USAGE_PAGE_PREFIX + (last + timedelta(days=1)).isoformat() if has_more else None,
        )
