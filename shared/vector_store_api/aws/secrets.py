"""Secrets fetched at cold start through Powertools parameters (cached), never from plain env values."""

from __future__ import annotations

import json
from urllib.parse import quote

from ..settings import Settings


def database_url(settings: Settings) -> str | None:
    from aws_lambda_powertools.utilities import parameters

    if settings.database_secret_id:
        return url_from_secret(parameters.get_secret(settings.database_secret_id, max_age=3600))
    if settings.database_url_parameter:
        return parameters.get_parameter(settings.database_url_parameter, decrypt=True, max_age=3600)
    return None


def url_from_secret(value: str) -> str:
    """A plain URL, or the JSON an RDS-managed secret holds."""
    value = value.strip()
    if not value.startswith("{"):
        return value
    secret = json.loads(value)
    if "url" in secret:
        return secret["url"]
    user = quote(secret["username"], safe="")
    password = quote(secret["password"], safe="")
    host, port = secret["host"], secret.get("port", 5432)
    dbname = secret.get("dbname", "postgres")
    return f"postgresql://{user}:{password}@{host}:{port}/{dbname}?sslmode=require"


def openai_api_key(settings: Settings) -> str | None:
    if not settings.openai_api_key_secret_id:
        return None
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(settings.openai_api_key_secret_id, max_age=3600).strip()
    return json.loads(value)["api_key"] if value.startswith("{") else value
