"""Usage counters in DynamoDB (Lambda): one item per tenant, day and store, counters added with ADD."""

from __future__ import annotations

import calendar
from datetime import date
from typing import TYPE_CHECKING, Mapping, Sequence

from .base import UsageKey, UsageRow

if TYPE_CHECKING:  # boto3-stubs (dev extra); the Lambda runtime has only boto3
    from mypy_boto3_dynamodb import DynamoDBClient

_KEY_ATTRIBUTES = {"tenant_id", "sk", "expires_at"}


class DynamoDbUsageStore:
    """Items {tenant_id (S, partition key), sk = "YYYY-MM-DD#<vector_store_id>" (S, sort key),
    expires_at (N, the table's TTL attribute), one N attribute per counter}.

    `ADD` is atomic on the server, so concurrent Lambdas never lose an increment, and the day's
    rows of a tenant are one Query.
    """

    def __init__(self, table_name: str, client: DynamoDBClient, retention_days: int):
        self.table = table_name
        self.client = client
        self.retention_seconds = retention_days * 86_400

    def add(self, increments: Mapping[UsageKey, Mapping[str, int]]) -> None:
        for key, counters in increments.items():
            if not counters:
                continue
            names = {f"#c{i}": metric for i, metric in enumerate(counters)}
            values = {f":c{i}": {"N": str(value)} for i, value in enumerate(counters.values())}
            day_start = calendar.timegm(date.fromisoformat(key.day).timetuple())
            self.client.update_item(
                TableName=self.table,
                Key={"tenant_id": {"S": key.tenant_id}, "sk": {"S": f"{key.day}#{key.vector_store_id}"}},
                UpdateExpression="ADD " + ", ".join(f"{n} {v}" for n, v in zip(names, values, strict=True)) + " SET expires_at = :exp",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":exp": {"N": str(day_start + 86_400 + self.retention_seconds)}},
            )

    def query(self, tenant_ids: Sequence[str], first_day: str, last_day: str) -> list[UsageRow]:
        rows = []
        paginator = self.client.get_paginator("query")
        for tenant_id in tenant_ids:
            pages = paginator.paginate(
                TableName=self.table,
                KeyConditionExpression="tenant_id = :t AND sk BETWEEN :first AND :last",
                ExpressionAttributeValues={
                    ":t": {"S": tenant_id},
                    ":first": {"S": f"{first_day}#"},
                    ":last": {"S": f"{last_day}#\uffff"},
                },
            )
            for page in pages:
                for item in page["Items"]:
                    day, _, store_id = item["sk"]["S"].partition("#")
                    counters = {name: int(value["N"]) for name, value in item.items() if name not in _KEY_ATTRIBUTES}
                    rows.append(UsageRow(UsageKey(tenant_id, day, store_id), counters))
        return rows

    def delete_before(self, day: str) -> int:
        return 0  # the table's TTL removes old rows
