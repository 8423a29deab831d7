"""Rate-limit buckets in DynamoDB (Lambda): exact across concurrent functions via conditional puts."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from .postgres_store import initial_version

if TYPE_CHECKING:  # boto3-stubs (dev extra); the Lambda runtime has only boto3
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoDbBucketStore:
    """Items {key (S, partition key), tat (N), version (N), expires_at (N, the table's TTL attribute)}.

    Reads are strongly consistent; a write is a PutItem conditioned on the version read
    (`attribute_not_exists(key)` to create), so two Lambdas can never both admit on one version.
    """

    def __init__(self, table_name: str, client: DynamoDBClient):
        self.table = table_name
        self.client = client
        self._conditional_failed = client.exceptions.ConditionalCheckFailedException

    def get(self, key: str) -> tuple[float, int] | None:
        item = self.client.get_item(
            TableName=self.table,
            Key={"key": {"S": key}},
            ConsistentRead=True,
            ProjectionExpression="tat, #v",
            ExpressionAttributeNames={"#v": "version"},
        ).get("Item")
        if not item:
            return None
        return float(item["tat"]["N"]), int(item["version"]["N"])

    def put_if(self, key: str, new_state: float, expected_version: int | None, ttl_seconds: float) -> bool:
        version = initial_version() if expected_version is None else expected_version + 1
        request: dict[str, Any] = {
            "TableName": self.table,
            "Item": {
                "key": {"S": key},
                "tat": {"N": repr(float(new_state))},
                "version": {"N": str(version)},
                "expires_at": {"N": str(math.ceil(time.time() + max(ttl_seconds, 1)))},
            },
        }
        if expected_version is None:
            request["ConditionExpression"] = "attribute_not_exists(#k)"
            request["ExpressionAttributeNames"] = {"#k": "key"}
        else:
            request["ConditionExpression"] = "#v = :expected"
            request["ExpressionAttributeNames"] = {"#v": "version"}
            request["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        try:
            self.client.put_item(**request)
        except self._conditional_failed:
            return False
        return True
