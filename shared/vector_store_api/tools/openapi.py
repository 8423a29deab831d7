"""Write the API's OpenAPI document without starting a server: the document the local server serves
at /openapi.json (for generating a client, or for the AWS deployment, which does not serve it).

    python -m vector_store_api.tools.openapi [--output openapi.json]
"""

from __future__ import annotations

import argparse
import json
import sys

from ..api.openapi import openapi_document
from ..app import all_routers, create_app


def _no_services() -> None:
    raise RuntimeError("the OpenAPI document needs no services")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", "-o", help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    text = json.dumps(openapi_document(create_app(all_routers(), _no_services)), indent=2) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
