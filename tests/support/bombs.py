"""Hostile documents, generated in memory in milliseconds (no binaries in the repo): OOXML zip bombs
(a .docx/.pptx part that inflates to gigabytes, or a package with a huge number of entries) and a
flate-bomb PDF (a content stream that inflates to gigabytes).

The trick that keeps them cheap: a deflate stream may be a concatenation of independently compressed,
byte-aligned segments (each ended by a sync flush), so a repeated block is compressed once and its
compressed segment repeated, whatever the inflated size. The checksums (CRC-32 for zip, Adler-32 for
zlib) are computed over the inflated bytes, so the bombs are well-formed: an unbounded reader inflates
them all the way.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

GIB = 1 << 30
_BLOCK = 1 << 20  # inflated bytes per repeated segment


@dataclass(frozen=True)
class Deflated:
    raw: bytes  # raw deflate data (no zlib header)
    size: int  # inflated size
    crc32: int
    adler32: int


def _segment(data: bytes, final: bool) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)


def deflate_repeated(head: bytes, unit: bytes, inflated_size: int, tail: bytes) -> Deflated:
    """`head`, then `unit` repeated to about `inflated_size` bytes (whole units), then `tail`."""
    block = unit * max(1, _BLOCK // len(unit))
    count = max(1, (inflated_size - len(head) - len(tail)) // len(block))
    segment = _segment(block, final=False)
    crc, adler = zlib.crc32(head), zlib.adler32(head)
    for _ in range(count):
        crc, adler = zlib.crc32(block, crc), zlib.adler32(block, adler)
    crc, adler = zlib.crc32(tail, crc), zlib.adler32(tail, adler)
    raw = _segment(head, final=False) + segment * count + _segment(tail, final=True)
    return Deflated(raw, len(head) + len(block) * count + len(tail), crc, adler)


# ------------------------------------------------------------------------------------------ zip
def _zip(entries: list[tuple[str, int, bytes, int, int]]) -> bytes:
    """A zip from (name, method, stored bytes, inflated size, crc32) entries, written by hand so a
    member's compressed bytes can be given as they are (zipfile always compresses itself)."""
    out = io.BytesIO()
    directory = io.BytesIO()
    for name, method, data, size, crc in entries:
        encoded = name.encode()
        offset = out.tell()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(data), size, len(encoded), 0))
        out.write(encoded)
        out.write(data)
        directory.write(
            struct.pack(
                "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc, len(data), size, len(encoded), 0, 0, 0, 0,
                0, offset,
            )
        )
        directory.write(encoded)
    start = out.tell()
    out.write(directory.getvalue())
    count = min(len(entries), 0xFFFF)  # zipfile walks the directory by its size, not this count
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory.getvalue()), start, 0))
    return out.getvalue()


def _package_entries(package: bytes) -> list[tuple[str, int, bytes, int, int]]:
    entries = []
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        for info in archive.infolist():
            content = archive.read(info.filename)
            entries.append((info.filename, zipfile.ZIP_DEFLATED, _segment(content, final=True), len(content), zlib.crc32(content)))
    return entries


def _docx_package() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("A harmless looking document.")
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _pptx_package() -> bytes:
    from pptx import Presentation

    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[5])
    slide.shapes.title.text = "A harmless looking deck."
    buf = io.BytesIO()
    presentation.save(buf)
    return buf.getvalue()


_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_DOCUMENT_HEAD = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document {_W}><w:body>'.encode()
_DOCUMENT_TAIL = b"<w:sectPr/></w:body></w:document>"
_PARAGRAPH = b"<w:p><w:r><w:t>bomb</w:t></w:r></w:p>"


def docx_zip_bomb(
    inflated_size: int = 3 * GIB, declared_size: int | None = None, part: str = "word/document.xml"
) -> bytes:
    """A .docx whose `part` (well-formed WordprocessingML: paragraph after paragraph) inflates to
    `inflated_size` bytes (under 4 GiB: no zip64). `declared_size` makes the zip headers lie about
    it (zipfile stops reading a member at its declared size)."""
    if inflated_size >= 4 * GIB:
        raise ValueError("keep under 4 GiB (no zip64)")
    bomb = deflate_repeated(_DOCUMENT_HEAD, _PARAGRAPH, inflated_size, _DOCUMENT_TAIL)
    entries = [
        (name, method, data, size, crc) if name != part
        else (name, zipfile.ZIP_DEFLATED, bomb.raw, bomb.size if declared_size is None else declared_size, bomb.crc32)
        for name, method, data, size, crc in _package_entries(_docx_package())
    ]
    return _zip(entries)


def docx_with_parts(parts: dict[str, int], content_type: str = "application/xml") -> bytes:
    """A valid .docx plus extra parts of the given inflated sizes (well-formed XML, highly compressible),
    each declared in [Content_Types].xml with `content_type` (an Override, so the name's extension does
    not decide how a library reads it)."""
    entries = _package_entries(_docx_package())
    overrides = "".join(f'<Override PartName="/{name}" ContentType="{content_type}"/>' for name in parts)
    patched = []
    for name, method, data, size, crc in entries:
        if name == "[Content_Types].xml":
            xml = zlib.decompress(data, -15).replace(b"</Types>", overrides.encode() + b"</Types>")
            name, method, data, size, crc = name, zipfile.ZIP_DEFLATED, _segment(xml, final=True), len(xml), zlib.crc32(xml)
        patched.append((name, method, data, size, crc))
    for name, size in parts.items():
        part = deflate_repeated(b"<items>", b"<item>padding</item>", size, b"</items>")
        patched.append((name, zipfile.ZIP_DEFLATED, part.raw, part.size, part.crc32))
    return _zip(patched)


def pptx_with_entries(count: int = 200_000) -> bytes:
    """A valid .pptx padded with `count` tiny extra entries (a directory the size of the file)."""
    entries = _package_entries(_pptx_package())
    empty_crc = zlib.crc32(b"")
    entries += [(f"ppt/media/pad{i}.bin", zipfile.ZIP_STORED, b"", 0, empty_crc) for i in range(count)]
    return _zip(entries)


# ------------------------------------------------------------------------------------------ pdf
# Long strings: few operators per inflated byte, so pypdf's per-stream parsing budget (operators) never
# trips and the whole stream becomes text.
_TEXT_OPERATION = b"BT /F1 12 Tf 72 720 Td (" + b"bomb " * 800 + b") Tj ET\n"


def pdf_flate_bomb(inflated_size: int = 2 * GIB, pages: int = 1, form_invocations: int = 0) -> bytes:
    """A PDF whose page content stream (FlateDecode) inflates to `inflated_size` bytes of text-showing
    operators; `pages` pages all share that one stream (each page inflates it again). pypdf refuses to
    inflate one stream beyond 75 MB; under that, e.g. 60 MB x 50 pages is 3 GB of text.

    `form_invocations`: the stream is a form XObject instead, which each page's own (small) content
    stream draws that many times: all of the text comes from inside one page's forms."""
    bomb = deflate_repeated(b"", _TEXT_OPERATION, inflated_size, b"")
    stream = b"\x78\xda" + bomb.raw + struct.pack(">L", bomb.adler32)
    kids = " ".join(f"{6 + i} 0 R" for i in range(pages))
    if form_invocations:
        stream_dict = b"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
        page_content = b"/Fm0 Do\n" * form_invocations
    else:
        stream_dict = b"<<"
        page_content = b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        stream_dict + b" /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Length %d >>\nstream\n" % len(page_content) + page_content + b"\nendstream",
    ]
    resources = b"/Font << /F1 3 0 R >> /XObject << /Fm0 4 0 R >>"
    contents = b"5 0 R" if form_invocations else b"4 0 R"
    objects += [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << %s >> /Contents %s >>" % (resources, contents)
    ] * pages
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


# --------------------------------------------------------------------------------------- uploads
class GeneratedFile(io.RawIOBase):
    """`size` bytes of a repeated pattern, produced as they are read (never held in memory), for
    streaming huge uploads. `sized=False` hides the length (no seek/tell), so httpx sends the multipart
    body chunked, without a Content-Length."""

    def __init__(self, size: int, *, sized: bool = True, pattern: bytes = b"0123456789abcdef\n") -> None:
        self._size = size
        self._sized = sized
        self._period = len(pattern)
        self._block = pattern * (65536 // len(pattern) + 2)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._sized

    def tell(self) -> int:
        if not self._sized:
            raise io.UnsupportedOperation("tell")
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if not self._sized:
            raise io.UnsupportedOperation("seek")
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self._size - self._position, 65536)
        if wanted <= 0:
            return 0
        start = self._position % self._period
        buffer[:wanted] = self._block[start : start + wanted]
        self._position += wanted
        return wanted
