"""Put tiktoken's o200k_base encoding into the layer, so Lambda never downloads it at cold start.

    python tiktoken_cache.py <cache-dir> [<layer python dir>]

The file is stored under tiktoken's own cache name (sha1 of its URL) and checked against the
sha256 tiktoken expects. It is copied from $TIKTOKEN_CACHE_DIR when that folder has it (offline
builds), otherwise downloaded. With a layer python dir, the layer's own tiktoken then loads the
encoding from <cache-dir> as a check (skipped on hosts that cannot import the layer's Linux x86_64
wheels, e.g. macOS).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

ENCODING = "o200k_base"
URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"  # tiktoken_ext/openai_public.py
CACHE_NAME = hashlib.sha1(URL.encode()).hexdigest()  # how tiktoken names cached files


def _valid(data: bytes) -> bool:
    return hashlib.sha256(data).hexdigest() == SHA256


def fetch(target: Path) -> str:
    target.mkdir(parents=True, exist_ok=True)
    dest = target / CACHE_NAME
    source_dir = os.environ.get("TIKTOKEN_CACHE_DIR")
    if source_dir and (Path(source_dir) / CACHE_NAME).is_file():
        source = Path(source_dir) / CACHE_NAME
        if source.resolve() != dest.resolve():
            if not _valid(source.read_bytes()):
                raise SystemExit(f"{source} does not hold the expected {ENCODING} encoding")
            shutil.copyfile(source, dest)
        return f"copied from {source_dir}"
    try:
        with urllib.request.urlopen(URL, timeout=60) as response:  # noqa: S310 (fixed https URL)
            data = response.read()
    except OSError as error:  # URLError included
        raise SystemExit(
            f"cannot download {ENCODING} ({error}); offline, set TIKTOKEN_CACHE_DIR to a folder holding "
            f"tiktoken's cached file {CACHE_NAME}"
        ) from None
    if not _valid(data):
        raise SystemExit(f"downloaded {ENCODING} does not match its expected sha256")
    dest.write_bytes(data)
    return f"downloaded from {URL}"


def check(target: Path, layer_python: Path) -> str:
    probe = "import tiktoken; assert tiktoken.get_encoding('o200k_base').encode('hello world')"
    env = {**os.environ, "PYTHONPATH": str(layer_python), "TIKTOKEN_CACHE_DIR": str(target)}
    import_probe = [sys.executable, "-c", "import tiktoken._tiktoken"]
    if subprocess.run(import_probe, env=env, capture_output=True).returncode != 0:
        return "check skipped (this host cannot import the layer's Linux x86_64 tiktoken)"
    # No network needed: tiktoken finds the file in TIKTOKEN_CACHE_DIR (it would download otherwise).
    subprocess.run([sys.executable, "-c", probe], env=env, check=True)
    return "loaded by the layer's tiktoken"


def main(argv: list[str]) -> None:
    if len(argv) not in (2, 3):
        raise SystemExit(__doc__)
    target = Path(argv[1])
    how = fetch(target)
    checked = check(target, Path(argv[2])) if len(argv) == 3 else "not checked"
    print(f"tiktoken {ENCODING}: {how}; {checked}")


if __name__ == "__main__":
    main(sys.argv)
