"""Bounds on what parsing one file may cost: extracted text, time, and what an OOXML package may inflate to.

A hostile file is small on disk and huge once read: a .docx whose document.xml inflates to gigabytes
(a zip bomb), a package with millions of entries, a PDF content stream that inflates to gigabytes (a
flate bomb), or simply more text than any file can usefully hold. Each bound is checked before the
work it protects (the zip directory's declared sizes before anything is inflated), or while it runs
(text and time, between pages, blocks and PDF operators), and breaking one is an InvalidFile.

The numbers:

- Extracted text (MAX_FILE_TEXT_CHARS, default 50,000,000 characters): every file must stay under
  MAX_FILE_TOKENS (5,000,000 tokens, OpenAI's limit); prose averages 4-6 characters per o200k token, so
  50 M characters (10 per token) is beyond any text that could pass the token limit except degenerate
  runs of one character. It bounds what normalising, tokenising and chunking must hold (a 50 M
  character str is 50-200 MB).
- Parse time (MAX_PARSE_SECONDS, default 300 s): pypdf extracts 1-3 M characters a second from
  ordinary pages, so a text-maximal legitimate PDF takes well under a minute; the budget stops CPU
  bombs (pages that re-inflate one stream, forms invoked thousands of times) instead of letting one
  file occupy an ingest worker for hours.
- OOXML packages (.docx, .pptx): at most 10,000 entries (a 2,000-slide deck has about that many) and a
  central directory of at most 4 MiB, checked before zipfile builds an object per entry; all XML parts
  together (what python-docx and python-pptx parse into lxml trees, about 4-11 bytes of memory per
  byte of XML) at most 64 MiB inflated, which holds tens of millions of characters of text; all parts
  together (media are loaded whole) at most 1 GiB; and no part over 16 MiB may inflate more than 100:1
  (real media are already compressed; only bombs do that). The declared sizes are then verified:
  zipfile cuts a member at its declared size, but reading it whole first inflates up to 1 GiB, so a
  header that understates a bomb would pass unharmed through the size checks. Each deflated part is
  inflated once, a megabyte at a time, and a part that inflates beyond its declared size is refused.
  Only stored and deflated parts (all OOXML uses) are accepted: zipfile inflates bzip2 and LZMA members
  without any bound.
- PDF streams: pypdf inflates one stream to at most 16 MiB here (its default is 75 MB): a page content
  stream of that size is already millions of operators or characters.
"""

from __future__ import annotations

import io
import posixpath
import struct
import time
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from ..errors import InvalidFile

MIB = 1 << 20
DEFAULT_MAX_TEXT_CHARS = 50_000_000
DEFAULT_MAX_PARSE_SECONDS = 300.0

PACKAGE_MAX_ENTRIES = 10_000
PACKAGE_MAX_DIRECTORY_BYTES = 4 * MIB
PACKAGE_MAX_XML_BYTES = 64 * MIB
PACKAGE_MAX_BYTES = 1024 * MIB
PACKAGE_MAX_RATIO = 100
PACKAGE_RATIO_GRACE_BYTES = 16 * MIB
_CONTENT_TYPES = "[Content_Types].xml"
_CONTENT_TYPES_MAX_BYTES = 4 * MIB

PDF_MAX_STREAM_BYTES = 16 * MIB

_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_LOCATOR_SIZE = 20
_ZIP64_EOCD = b"PK\x06\x06"
_ZIP64_EOCD_SIZE = 56


@dataclass(frozen=True)
class ParseLimits:
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    max_seconds: float = DEFAULT_MAX_PARSE_SECONDS


class Budget:
    """What one file's parse may still spend: characters of text and seconds. `spend` and `check`
    raise InvalidFile once either is exhausted."""

    def __init__(self, name: str, limits: ParseLimits):
        self.name = name
        self.limits = limits
        self.chars = 0
        self._deadline = time.monotonic() + limits.max_seconds

    def spend(self, chars: int) -> None:
        self.chars += chars
        if self.chars > self.limits.max_text_chars:
            raise self.too_much_text()
        self.check()

    def check(self) -> None:
        if time.monotonic() > self._deadline:
            raise InvalidFile(
                f"File '{self.name}' could not be parsed within {self.limits.max_seconds:g} seconds, the limit per file."
            )

    def too_much_text(self) -> InvalidFile:
        return InvalidFile(
            f"File '{self.name}' has more than {self.limits.max_text_chars:,} characters of text, the limit per file."
        )


# ------------------------------------------------------------------------------------ OOXML packages
class PackageTooLarge(ValueError):
    """An OOXML package over one of the bounds above (the message says which)."""


def check_package(data: bytes) -> None:
    """Refuse a zip package that would inflate beyond the bounds, from its directory alone.

    Raises PackageTooLarge; a file that is not a zip at all is left to the parser (which says so).
    """
    directory = _central_directory_size(data)
    if directory is None:
        return
    if directory > PACKAGE_MAX_DIRECTORY_BYTES:
        raise PackageTooLarge(
            f"its zip directory is {directory:,} bytes (more than {PACKAGE_MAX_ENTRIES:,} entries?); the limit is"
            f" {PACKAGE_MAX_DIRECTORY_BYTES:,} bytes"
        )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > PACKAGE_MAX_ENTRIES:
            raise PackageTooLarge(f"it has {len(infos):,} entries; the limit is {PACKAGE_MAX_ENTRIES:,}")
        xml_types = _xml_content_types(archive, data)
    total = xml = 0
    for info in infos:
        size = info.file_size
        if size > PACKAGE_RATIO_GRACE_BYTES and size > PACKAGE_MAX_RATIO * max(info.compress_size, 1):
            raise PackageTooLarge(
                f"part '{_shown(info.filename)}' inflates from {info.compress_size:,} to {size:,} bytes, more than"
                f" {PACKAGE_MAX_RATIO}:1 (a zip bomb)"
            )
        total += size
        if xml_types(info.filename):
            xml += size
    if xml > PACKAGE_MAX_XML_BYTES:
        raise PackageTooLarge(
            f"its XML parts inflate to {xml:,} bytes; the limit is {PACKAGE_MAX_XML_BYTES:,} bytes (a zip bomb?)"
        )
    if total > PACKAGE_MAX_BYTES:
        raise PackageTooLarge(f"its parts inflate to {total:,} bytes; the limit is {PACKAGE_MAX_BYTES:,} bytes")
    for info in infos:
        _check_inflation(data, info)


def _check_inflation(data: bytes, info: zipfile.ZipInfo) -> None:
    """Inflate a deflated member in bounded steps: it must not produce more than its declared size."""
    if info.compress_type == zipfile.ZIP_STORED:
        return  # zipfile reads at most its stored bytes
    if info.compress_type != zipfile.ZIP_DEFLATED:
        raise PackageTooLarge(f"part '{_shown(info.filename)}' uses zip compression method {info.compress_type}")
    if info.flag_bits & 0x1:
        raise PackageTooLarge(f"part '{_shown(info.filename)}' is encrypted")
    header = info.header_offset
    if data[header : header + 4] != b"PK\x03\x04":
        return  # zipfile itself refuses such a member when it is read
    name_length, extra_length = struct.unpack_from("<HH", data, header + 26)
    start = header + 30 + name_length + extra_length
    compressed = memoryview(data)[start : start + info.compress_size]
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    produced = 0
    for offset in range(0, len(compressed), MIB):
        pending: bytes | memoryview = compressed[offset : offset + MIB]
        while pending:
            produced += len(inflater.decompress(pending, MIB))
            if produced > info.file_size:
                raise PackageTooLarge(
                    f"part '{_shown(info.filename)}' inflates beyond the {info.file_size:,} bytes its header declares"
                    " (a zip bomb)"
                )
            pending = inflater.unconsumed_tail
        if inflater.eof:
            return


def _central_directory_size(data: bytes) -> int | None:
    """The size zipfile will read as the central directory (from the end record), or None: not a zip."""
    end = data.rfind(_EOCD, max(0, len(data) - _EOCD_SIZE - 0xFFFF))
    if end < 0 or end + _EOCD_SIZE > len(data):
        return None
    size = int(struct.unpack_from("<L", data, end + 12)[0])
    locator = end - _ZIP64_LOCATOR_SIZE
    if locator >= _ZIP64_EOCD_SIZE and data[locator : locator + 4] == _ZIP64_LOCATOR:
        record = locator - _ZIP64_EOCD_SIZE  # where zipfile reads it, whatever the locator's offset says
        if data[record : record + 4] == _ZIP64_EOCD:
            return max(size, int(struct.unpack_from("<Q", data, record + 40)[0]))
    return size


def _xml_content_types(archive: zipfile.ZipFile, data: bytes) -> _XmlParts:
    """Which entries the OOXML libraries parse as XML: those whose content type (an Override for the
    part, else the Default for its extension, as [Content_Types].xml says) is XML, the relationship
    parts, and the content types themselves. Without readable content types every entry counts."""
    try:
        info = archive.getinfo(_CONTENT_TYPES)
    except KeyError:
        return _XmlParts(None, {}, {})
    if info.file_size > _CONTENT_TYPES_MAX_BYTES:
        raise PackageTooLarge(f"its {_CONTENT_TYPES} inflates to {info.file_size:,} bytes")
    _check_inflation(data, info)  # zipfile.read inflates up to 2 GiB before cutting at the declared size
    from xml.etree import ElementTree  # expat >= 2.4 refuses entity-expansion bombs

    try:
        root = ElementTree.fromstring(archive.read(info))
    except (ElementTree.ParseError, zipfile.BadZipFile, ValueError, OSError, EOFError):
        return _XmlParts(None, {}, {})
    defaults: dict[str, str] = {}
    overrides: dict[str, str] = {}
    for element in root:
        tag = element.tag.rpartition("}")[2]
        content_type = element.get("ContentType", "")
        if tag == "Default":
            defaults[element.get("Extension", "").lower()] = content_type
        elif tag == "Override":
            overrides[element.get("PartName", "").lstrip("/").lower()] = content_type
    return _XmlParts(info.filename, defaults, overrides)


class _XmlParts:
    def __init__(self, content_types: str | None, defaults: dict[str, str], overrides: dict[str, str]):
        self._known = content_types is not None
        self._defaults = defaults
        self._overrides = overrides

    def __call__(self, filename: str) -> bool:
        lowered = filename.lower()
        if not self._known or lowered == _CONTENT_TYPES.lower() or lowered.endswith(".rels"):
            return True
        content_type = self._overrides.get(lowered)
        if content_type is None:
            content_type = self._defaults.get(posixpath.splitext(lowered)[1].lstrip("."), "")
        return content_type.lower().endswith("xml")


def _shown(filename: str, limit: int = 80) -> str:
    return filename if len(filename) <= limit else filename[: limit - 3] + "..."


# ---------------------------------------------------------------------------------------------- PDF
@contextmanager
def pdf_stream_limits() -> Iterator[None]:
    """pypdf's per-stream output limits lowered to PDF_MAX_STREAM_BYTES, for this thread's parse only
    (a context variable)."""
    from pypdf import apply_configuration

    with apply_configuration(
        zlib_maximum_output_length=PDF_MAX_STREAM_BYTES,
        lzw_maximum_output_length=PDF_MAX_STREAM_BYTES,
        run_length_maximum_output_length=PDF_MAX_STREAM_BYTES,
        brotli_maximum_output_length=PDF_MAX_STREAM_BYTES,
        array_based_stream_maximum_output_length=PDF_MAX_STREAM_BYTES,
    ):
        yield
