"""Secrets fetched at cold start through Powertools parameters (cached), never from plain env values."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from ..settings import Settings


def database_url(settings: Settings) -> str | None:
    from aws_lambda_powertools.utilities import parameters

    if settings.database_secret_id:
        return url_from_secret(parameters.get_secret(settings.database_secret_id, max_age=3600), settings)
    if settings.database_url_parameter:
        return parameters.get_parameter(settings.database_url_parameter, decrypt=True, max_age=3600)
    return None


def url_from_secret(value: str, settings: Settings | None = None) -> str:
    """A plain URL, or the JSON an RDS secret holds. RDS-managed master user secrets carry only the
    username and password: the host, port and database name then come from the settings."""
    value = value.strip()
    if not value.startswith("{"):
        return value
    secret: dict[str, Any] = json.loads(value)
    if "url" in secret:
        url: str = secret["url"]
        return url
    user = quote(secret["username"], safe="")
    password = quote(secret["password"], safe="")
    host = secret.get("host") or (settings.database_host if settings else None)
    if not host:
        raise RuntimeError("the database secret has no host: set DATABASE_HOST")
    port = secret.get("port") or (settings.database_port if settings else 5432)
    dbname = secret.get("dbname") or (settings.database_name if settings else "postgres")
    return f"postgresql://{user}:{password}@{host}:{port}/{dbname}?sslmode=require"


def _api_key(secret_id: str | None) -> str | None:
    """An API key held as a plain string, or as JSON {"api_key": ...}."""
    if not secret_id:
        return None
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(secret_id, max_age=3600).strip()
    return json.loads(value)["api_key"] if value.startswith("{") else value


def openai_api_key(settings: Settings) -> str | None:
    return _api_key(settings.openai_api_key_secret_id)


def chat_completions_api_key(settings: Settings) -> str | None:
    """The Responses function's key for its Chat Completions endpoint."""
    return _api_key(settings.chat_completions_api_key_secret_id)


def admin_api_key(settings: Settings) -> str | None:
    """The bootstrap organization admin key."""
    return _api_key(settings.admin_api_key_secret_id)


def opensearch_password(settings: Settings) -> str | None:
    if not settings.opensearch_password_secret_id:
        return None
    from aws_lambda_powertools.utilities import parameters

    return parameters.get_secret(settings.opensearch_password_secret_id, max_age=3600).strip()
