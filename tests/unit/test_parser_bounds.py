"""extract_text on hostile files: zip bombs, flate bombs, too much text, too much time, CPU-heavy markup.

Every bomb is generated here, in memory and in milliseconds (tests/support/bombs.py); each must end in
an InvalidFile (`invalid_file`), never in a blow-up: the memory Python allocates while refusing it
(tracemalloc's peak, which counts every bytes and str object) stays under MAX_TRACED. Times are
not asserted; `python -m bench.hostile_files` measures them on the server.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest
from tests.support.bombs import (
    GIB,
    docx_with_parts,
    docx_zip_bomb,
    pdf_flate_bomb,
    pptx_with_entries,
)

from vector_store_api.errors import InvalidFile
from vector_store_api.ingest import bounds, parsers
from vector_store_api.ingest.bounds import ParseLimits
from vector_store_api.ingest.parsers import extract_text

MIB = 1 << 20
MAX_TRACED = 64 * MIB  # a bomb inflated instead of refused takes hundreds of MiB at least


def invalid(filename: str, data: bytes, limits: ParseLimits | None = None) -> str:
    tracemalloc.start()
    try:
        with pytest.raises(InvalidFile) as info:
            extract_text(filename, data, limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.code == "invalid_file"
    assert peak < MAX_TRACED, f"refusing {filename} allocated {peak / MIB:.0f} MiB"
    return info.value.message


# --------------------------------------------------------------------------------- OOXML zip bombs
def test_docx_whose_document_inflates_to_gigabytes() -> None:
    data = docx_zip_bomb(1 * GIB)
    assert len(data) < 8 * MIB
    message = invalid("bomb.docx", data)
    assert message.startswith("Could not parse 'bomb.docx' as DOCX: part 'word/document.xml' inflates from")
    assert "zip bomb" in message


def test_docx_whose_header_understates_the_bomb() -> None:
    """zipfile cuts a member at its declared size, but only after inflating up to 1 GiB of it."""
    message = invalid("liar.docx", docx_zip_bomb(1 * GIB, declared_size=1000))
    assert "inflates beyond the 1,000 bytes its header declares" in message


def test_docx_whose_content_types_header_understates_the_bomb() -> None:
    """[Content_Types].xml is read to tell XML parts from media: its inflation is checked first."""
    message = invalid("types.docx", docx_zip_bomb(512 * MIB, declared_size=4096, part="[Content_Types].xml"))
    assert "part '[Content_Types].xml' inflates beyond the 4,096 bytes its header declares" in message


def test_docx_whose_xml_parts_together_exceed_the_bound() -> None:
    # Each part is under the ratio check's grace size; together they are over the XML bound. Their
    # names do not end in .xml: the content types decide what a library parses as XML.
    parts = {f"customXml/item{i}.bin": 15 * MIB for i in range(5)}
    message = invalid("parts.docx", docx_with_parts(parts))
    assert "its XML parts inflate to" in message
    assert f"{bounds.PACKAGE_MAX_XML_BYTES:,}" in message


def test_docx_with_parts_under_the_bounds_is_parsed() -> None:
    parts = {"customXml/item1.xml": 2 * MIB, "customXml/item2.bin": 2 * MIB}
    assert extract_text("ok.docx", docx_with_parts(parts)) == "A harmless looking document."


def test_media_parts_do_not_count_as_xml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounds, "PACKAGE_MAX_XML_BYTES", 1 * MIB)
    data = docx_with_parts({"word/media/image1.png": 2 * MIB}, content_type="image/png")
    assert extract_text("pictures.docx", data) == "A harmless looking document."
    with pytest.raises(InvalidFile, match="its XML parts inflate to"):
        extract_text("xml.docx", docx_with_parts({"word/media/image1.png": 2 * MIB}))


def test_all_parts_together_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounds, "PACKAGE_MAX_BYTES", 3 * MIB)
    data = docx_with_parts({f"word/media/image{i}.png": 1 * MIB for i in range(4)}, content_type="image/png")
    assert "its parts inflate to" in invalid("media.docx", data)


def test_pptx_with_a_huge_number_of_entries() -> None:
    message = invalid("many.pptx", pptx_with_entries(200_000))
    assert message.startswith("Could not parse 'many.pptx' as PPTX: its zip directory is")


def test_entry_count_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounds, "PACKAGE_MAX_ENTRIES", 1000)
    assert "it has 1,038 entries; the limit is 1,000" in invalid("padded.pptx", pptx_with_entries(1000))
    assert extract_text("fine.pptx", pptx_with_entries(900)) == "A harmless looking deck."


def test_zip_compression_other_than_deflate_is_refused() -> None:
    source = zipfile.ZipFile(io.BytesIO(docx_with_parts({})))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_BZIP2) as repacked:  # zipfile inflates bzip2 without bounds
        for info in source.infolist():
            repacked.writestr(info.filename, source.read(info))
    assert "uses zip compression method 12" in invalid("bzip2.docx", buf.getvalue())


# ------------------------------------------------------------------------------------ PDF bombs
def test_pdf_whose_content_stream_inflates_to_gigabytes() -> None:
    data = pdf_flate_bomb(2 * GIB)
    assert len(data) < 8 * MIB
    assert invalid("bomb.pdf", data).startswith("Could not parse 'bomb.pdf' as PDF: Limit reached while decompressing")


def test_pdf_stream_bound_is_below_pypdfs_default() -> None:
    # 20 MiB is under pypdf's own 75 MB limit, over ours.
    assert "Limit reached while decompressing" in invalid("big.pdf", pdf_flate_bomb(20 * MIB))


def test_pdf_pages_sharing_one_stream_stop_at_the_text_limit() -> None:
    limits = ParseLimits(max_text_chars=3_000_000)
    message = invalid("pages.pdf", pdf_flate_bomb(1 * MIB, pages=50), limits)
    assert message == "File 'pages.pdf' has more than 3,000,000 characters of text, the limit per file."


def test_pdf_text_limit_holds_inside_form_xobjects() -> None:
    """pypdf swallows any Exception raised while it extracts a form's text (and carries on without the
    rest of the form): the budget's error must get out anyway."""
    limits = ParseLimits(max_text_chars=1_000_000)
    message = invalid("form.pdf", pdf_flate_bomb(4 * MIB, form_invocations=1), limits)
    assert "more than 1,000,000 characters of text" in message
    # the same form drawn 100 times by one page: 400 M characters, stopped at the first million
    assert "more than 1,000,000 characters" in invalid("forms.pdf", pdf_flate_bomb(4 * MIB, form_invocations=100), limits)


def test_pdf_parse_time_is_bounded() -> None:
    message = invalid("slow.pdf", pdf_flate_bomb(8 * MIB, form_invocations=100), ParseLimits(max_seconds=0.2))
    assert message == "File 'slow.pdf' could not be parsed within 0.2 seconds, the limit per file."


def test_pdf_under_the_bounds_is_parsed() -> None:
    text = extract_text("fine.pdf", pdf_flate_bomb(64 * 1024, pages=2))
    assert text.startswith("bomb bomb")
    assert len(text) > 100_000


# ----------------------------------------------------------------------------- text and time limits
def test_plain_text_over_the_text_limit() -> None:
    limits = ParseLimits(max_text_chars=1000)
    assert extract_text("ok.txt", b"x" * 1000, limits) == "x" * 1000
    message = invalid("long.txt", b"x" * 1001, limits)
    assert message == "File 'long.txt' has more than 1,000 characters of text, the limit per file."
    # far too many bytes for the limit in any encoding: refused before decoding
    assert "more than 1,000 characters" in invalid("huge.txt", b"\xff" * 5000, limits)


def test_docx_and_pptx_text_limit() -> None:
    import docx
    from pptx import Presentation

    document = docx.Document()
    for _ in range(100):
        document.add_paragraph("twenty characters ok")
    buf = io.BytesIO()
    document.save(buf)
    assert "more than 500 characters of text" in invalid("long.docx", buf.getvalue(), ParseLimits(max_text_chars=500))

    presentation = Presentation()
    for _ in range(20):
        presentation.slides.add_slide(presentation.slide_layouts[5]).shapes.title.text = "a slide title of text"
    buf = io.BytesIO()
    presentation.save(buf)
    assert "more than 200 characters of text" in invalid("long.pptx", buf.getvalue(), ParseLimits(max_text_chars=200))


def test_docx_parse_time_is_bounded() -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("text")
    buf = io.BytesIO()
    document.save(buf)
    message = invalid("slow.docx", buf.getvalue(), ParseLimits(max_seconds=1e-9))
    assert message == "File 'slow.docx' could not be parsed within 1e-09 seconds, the limit per file."


# ----------------------------------------------------------------------------------- markup formats
def test_flat_html_is_parsed_in_linear_time() -> None:
    """50,000 sibling paragraphs: editing the tree (the old way) took minutes for this, rendering it takes a second."""
    html = b"<html><body>" + b"<p>a paragraph</p>\n" * 50_000 + b"</body></html>"
    text = extract_text("flat.html", html)
    assert text.count("a paragraph") == 50_000
    assert text.startswith("a paragraph\n\na paragraph")


def test_html_elements_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "HTML_MAX_ELEMENTS", 1000)
    assert "x" in extract_text("ok.html", b"<b>x</b>" * 1000)
    assert "it has more than 1,000 elements" in invalid("tags.html", b"<b>x</b>" * 1001)
    # "<" that starts no element does not count
    assert extract_text("math.html", b"<p>" + b"1 < 2 " * 2000 + b"</p>").startswith("1 < 2")


def test_html_text_limit_and_time_limit() -> None:
    html = b"<p>" + b"word " * 1000 + b"</p>"
    assert "more than 1,000 characters of text" in invalid("long.html", html, ParseLimits(max_text_chars=1000))
    assert "could not be parsed within" in invalid("slow.html", html, ParseLimits(max_seconds=1e-9))


def test_json_size_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "JSON_MAX_CHARS", 1000)
    assert extract_text("ok.json", b"[" + b"1," * 498 + b"1]").startswith("[\n  1,")
    message = invalid("big.json", b"[" + b"[]," * 400 + b"[]]")
    assert message == "File 'big.json' has more than 1,000 characters, the limit for its type."


def test_json_values_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "JSON_MAX_VALUES", 100)
    assert extract_text("ok.json", b'{"a": [' + b"1," * 97 + b"1]}").startswith('{\n  "a": [\n    1,')
    message = invalid("many.json", b'{"a": [' + b"1," * 98 + b"1]}")
    assert message == "Could not parse 'many.json' as JSON: it has more than 100 values, the limit for JSON."
