"""Organization admin keys from the command line: the local way to bootstrap key checking.

    python -m vector_store_api.tools.keys create-admin [--name NAME]   # prints the key, once
    python -m vector_store_api.tools.keys list-admin
    python -m vector_store_api.tools.keys revoke-admin key_...

Uses the same settings as the server (DATABASE_URL or the embedded database under DATA_DIR). Once an
admin key exists, the server accepts only issued keys; manage projects and their keys with it over
the API (/v1/organization/...).
"""

from __future__ import annotations

import argparse
import sys

from ..catalog.accounts import Accounts
from ..catalog.database import Database, stop_embedded_servers
from ..container import database_url
from ..errors import APIError
from ..models.admin import CreateAdminApiKeyRequest
from ..models.common import PageRequest
from ..services.auth import Authenticator
from ..services.projects import ProjectService
from ..settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-admin", help="create an organization admin key and print it")
    create.add_argument("--name", default="")
    commands.add_parser("list-admin", help="list the organization admin keys (redacted)")
    revoke = commands.add_parser("revoke-admin", help="revoke an organization admin key")
    revoke.add_argument("key_id")
    args = parser.parse_args(argv)

    settings = get_settings()
    db = Database(database_url(settings), max_size=1)
    accounts = Accounts(db)
    projects = ProjectService(accounts, Authenticator(accounts, settings))
    try:
        if args.command == "create-admin":
            key = projects.create_admin_key(None, CreateAdminApiKeyRequest(name=args.name))
            print(f"{key.id}\t{key.value}")
            print("Store this key now: it is not shown again.", file=sys.stderr)
        elif args.command == "list-admin":
            after = None
            while True:
                page = Accounts(db).list_keys(None, PageRequest(100, "asc", after))
                for row in page.items:
                    print(f"{row['id']}\t{row['redacted_value']}\t{row['name']}")
                if not page.has_more:
                    break
                after = page.items[-1]["id"]
        else:
            projects.revoke_admin_key(None, args.key_id)
            print(f"revoked {args.key_id}")
    except APIError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    finally:
        db.close()
        stop_embedded_servers()
    return 0


if __name__ == "__main__":
    sys.exit(main())
