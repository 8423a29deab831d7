"""extract_text: every supported type is built in memory, plus the rejection paths."""

from __future__ import annotations

import io
import json
import os
import zipfile

import pytest

from vector_store_api.errors import InvalidFile, UnsupportedFile
from vector_store_api.ingest.parsers import (
    PLAIN_TEXT_EXTENSIONS,
    SUPPORTED_EXTENSIONS,
    extract_text,
    normalize_text,
)

# --- builders -----------------------------------------------------------------


def make_pdf(pages: list[list[str]]) -> bytes:
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=letter)
    for lines in pages:
        y = 720
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 20
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def make_image_only_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    pdf.rect(100, 100, 200, 150, stroke=1, fill=1)
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def make_encrypted_pdf() -> bytes:
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    # canUse*=0 plus a user password: cannot be opened with an empty password.
    enc = pdfencrypt.StandardEncryption("secret-user", "secret-owner", strength=40)
    pdf = canvas.Canvas(buf, encrypt=enc)
    pdf.drawString(72, 720, "Top secret content")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()


def make_docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Quarterly Report", level=1)
    document.add_paragraph("Revenue grew by twelve percent.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Region"
    table.cell(0, 1).text = "Sales"
    table.cell(1, 0).text = "Northwind"
    table.cell(1, 1).text = "4200"
    document.add_paragraph("Closing remarks after the table.")
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def make_pptx() -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    prs = Presentation()
    slide1 = prs.slides.add_slide(prs.slide_layouts[5])  # title only
    slide1.shapes.title.text = "Launch Plan"
    box = slide1.shapes.add_textbox(Inches(1), Inches(2), Inches(4), Inches(1))
    box.text_frame.text = "Ship the orbital widget in March."
    slide1.notes_slide.notes_text_frame.text = "Speaker note: mention the budget."

    slide2 = prs.slides.add_slide(prs.slide_layouts[6])  # blank
    table = slide2.shapes.add_table(2, 2, Inches(1), Inches(1), Inches(4), Inches(2)).table
    table.cell(0, 0).text = "Milestone"
    table.cell(0, 1).text = "Date"
    table.cell(1, 0).text = "Beta"
    table.cell(1, 1).text = "April"
    group = slide2.shapes.add_group_shape()
    grouped = group.shapes.add_textbox(Inches(1), Inches(4), Inches(3), Inches(1))
    grouped.text_frame.text = "Grouped caption text"

    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


# --- supported types ----------------------------------------------------------


def test_pdf_two_pages() -> None:
    data = make_pdf(
        [
            ["The quick brown fox jumps over the lazy dog.", "Foxes are quick."],
            ["Second page talks about zebras."],
        ]
    )
    text = extract_text("report.pdf", data)
    assert "The quick brown fox jumps over the lazy dog." in text
    assert "Foxes are quick." in text
    assert "Second page talks about zebras." in text
    assert text.index("lazy dog") < text.index("zebras")
    assert "\n\n" in text  # page break kept as a paragraph break


def test_pdf_extension_is_case_insensitive() -> None:
    text = extract_text("REPORT.PDF", make_pdf([["Upper case extension works."]]))
    assert "Upper case extension works." in text


def test_docx_paragraphs_and_table_in_order() -> None:
    text = extract_text("report.docx", make_docx())
    for expected in ("Quarterly Report", "Revenue grew by twelve percent.", "Northwind", "4200"):
        assert expected in text
    assert "Region | Sales" in text
    assert "Northwind | 4200" in text
    order = [text.index(s) for s in ("Quarterly", "Revenue", "Region", "Northwind", "Closing")]
    assert order == sorted(order)


def test_pptx_text_table_group_and_notes() -> None:
    text = extract_text("deck.pptx", make_pptx())
    for expected in (
        "Launch Plan",
        "Ship the orbital widget in March.",
        "Speaker note: mention the budget.",
        "Milestone | Date",
        "Beta | April",
        "Grouped caption text",
    ):
        assert expected in text
    # Slide by slide: slide 1 (incl. its notes) before slide 2.
    assert text.index("Speaker note") < text.index("Milestone")


def test_html_drops_scripts_styles_and_markup() -> None:
    html = b"""<!DOCTYPE html>
<html><head><title>Page Title</title>
<style>body { color: red; } .secret-style {}</style>
<script>var secretScript = "do not index";</script>
</head><body>
<!-- hidden comment -->
<noscript>enable javascript please</noscript>
<template><p>template content</p></template>
<h1>Main   Heading</h1>
<p>First <b>bold</b> paragraph with a <a href="https://x.example">link</a>.</p>
<p>Second paragraph.</p>
<ul><li>Item one</li><li>Item two</li></ul>
<script type="application/ld+json">{"json": "ld"}</script>
</body></html>"""
    text = extract_text("page.html", html)
    assert "Page Title" in text
    assert "Main Heading" in text
    assert "First bold paragraph with a link." in text  # inline tags don't split lines
    assert "Second paragraph." in text
    assert "Item one" in text and "Item two" in text
    for forbidden in (
        "secretScript", "do not index", "color: red", "secret-style",
        "enable javascript", "template content", "hidden comment", '"ld"',
        "<", ">", "href", "DOCTYPE",
    ):
        assert forbidden not in text
    # Block elements end up on separate lines.
    assert text.index("First bold") < text.index("Second paragraph.")
    assert "First bold paragraph with a link.\n" in text


def test_html_layout_pre_tables_and_breaks() -> None:
    html = (
        b"<table><tr><th>Name</th><th>Qty</th></tr>\n  <tr><td>Apple</td><td>3</td></tr></table>"
        b"<pre>def f():\n    return  1</pre>"
        b"line one<br>line two"
        b"<ul>\n  <li>alpha</li>\n  <li>beta</li>\n</ul>"
    )
    text = extract_text("layout.html", html)
    assert "Name | Qty\nApple | 3" in text
    assert "def f():\n    return  1" in text  # <pre> whitespace survives
    assert "line one\nline two" in text
    assert "alpha\nbeta" in text


def test_htm_extension() -> None:
    assert extract_text("a.HTM", b"<p>hello <i>there</i></p>") == "hello there"


def test_json_is_validated_and_readable() -> None:
    payload = {"title": "Café crème", "tags": ["a", "b"], "nested": {"n": 1}}
    data = json.dumps(payload, ensure_ascii=True).encode()  # \u escapes in the file
    text = extract_text("data.json", data)
    assert "Café crème" in text  # string values readable, not \u00e9
    assert '"tags"' in text
    assert json.loads(text) == payload


def test_invalid_json_is_invalid_file() -> None:
    with pytest.raises(InvalidFile, match="JSON"):
        extract_text("broken.json", b'{"a": 1,')


def test_markdown() -> None:
    md = "# Title\r\n\r\nSome *emphasis* here.   \r\n\r\n\r\n\r\n\r\n\r\n- bullet\r\n"
    text = extract_text("notes.md", md.encode())
    assert text == "# Title\n\nSome *emphasis* here.\n\n\n- bullet"


def test_markdown_long_extension() -> None:
    assert extract_text("notes.markdown", b"hello") == "hello"


def test_code_file_keeps_indentation() -> None:
    src = "def add(a, b):\n    return a + b\n\n\nclass Foo:\n    pass\n"
    text = extract_text("src/app/module.py", src.encode())
    assert text == src.rstrip("\n")


@pytest.mark.parametrize("ext", [".js", ".ts", ".go", ".rs", ".yaml", ".csv", ".sql", ".tex"])
def test_other_text_extensions(ext: str) -> None:
    assert extract_text(f"file{ext}", b"line one\nline two\n") == "line one\nline two"


def test_utf8_bom_is_stripped() -> None:
    text = extract_text("bom.txt", b"\xef\xbb\xbfHello \xe2\x80\x94 world")
    assert text == "Hello \u2014 world"


def test_utf16_with_bom() -> None:
    assert extract_text("u16.txt", "Grüße, 世界".encode("utf-16")) == "Grüße, 世界"


def test_supported_extension_sets() -> None:
    assert isinstance(PLAIN_TEXT_EXTENSIONS, frozenset)
    for ext in (".txt", ".md", ".html", ".json", ".pdf", ".docx", ".pptx", ".py", ".cpp"):
        assert ext in SUPPORTED_EXTENSIONS
    assert ".doc" not in SUPPORTED_EXTENSIONS


def test_normalize_text() -> None:
    raw = "a  \r\nb\t\r\n\r\n\r\n\r\n\r\n\r\nc\rd\n\n\n"
    assert normalize_text(raw) == "a\nb\n\n\nc\nd"


# --- rejections ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "shown"),
    [("setup.exe", ".exe"), ("blob.BIN", ".bin"), ("README", "none"), (".bashrc", "none")],
)
def test_unknown_extension_is_unsupported(filename: str, shown: str) -> None:
    with pytest.raises(UnsupportedFile) as info:
        extract_text(filename, b"plain text that would decode fine")
    assert f"[{shown}]" in info.value.message
    assert "not supported" in info.value.message
    assert info.value.code == "unsupported_file"


@pytest.mark.parametrize(("filename", "kind"), [("x.pdf", "PDF"), ("x.docx", "DOCX"), ("x.pptx", "PPTX")])
def test_random_bytes_are_invalid(filename: str, kind: str) -> None:
    junk = os.urandom(4096)
    with pytest.raises(InvalidFile) as info:
        extract_text(filename, junk)
    assert f"Could not parse '{filename}' as {kind}" in info.value.message
    assert info.value.code == "invalid_file"


@pytest.mark.parametrize("filename", ["x.docx", "x.pptx"])
def test_zip_that_is_not_office_is_invalid(filename: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "not an office document")
    with pytest.raises(InvalidFile, match="Could not parse"):
        extract_text(filename, buf.getvalue())


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.9])
def test_truncated_pdf_is_invalid(fraction: float) -> None:
    data = make_pdf([["Some text that will be cut off."], ["More text."]])
    with pytest.raises(InvalidFile, match="Could not parse 'cut.pdf' as PDF"):
        extract_text("cut.pdf", data[: int(len(data) * fraction)])


def test_truncated_docx_is_invalid() -> None:
    data = make_docx()
    with pytest.raises(InvalidFile, match="DOCX"):
        extract_text("cut.docx", data[: len(data) // 2])


def test_encrypted_pdf_is_invalid() -> None:
    with pytest.raises(InvalidFile, match="PDF"):
        extract_text("locked.pdf", make_encrypted_pdf())


def test_pdf_without_text_is_invalid() -> None:
    with pytest.raises(InvalidFile, match="contains no extractable text"):
        extract_text("picture.pdf", make_image_only_pdf())


@pytest.mark.parametrize(
    ("filename", "data"),
    [("empty.txt", b""), ("blank.md", b"  \n\t\r\n   \n"), ("empty.html", b"<script>x()</script>")],
)
def test_no_text_is_invalid(filename: str, data: bytes) -> None:
    with pytest.raises(InvalidFile) as info:
        extract_text(filename, data)
    assert info.value.message == f"File '{filename}' contains no extractable text."


def test_empty_docx_is_invalid() -> None:
    import docx

    buf = io.BytesIO()
    docx.Document().save(buf)
    with pytest.raises(InvalidFile, match="no extractable text"):
        extract_text("empty.docx", buf.getvalue())


@pytest.mark.parametrize(
    "data",
    [b"MZ\x90\x00\x03\x00\x00\x00binary", b"\x00\x01\x02\x03", b"abc\x00def"],
)
def test_binary_with_nul_is_invalid(data: bytes) -> None:
    with pytest.raises(InvalidFile, match="is not valid UTF-8 text"):
        extract_text("binary.txt", data)


def test_non_utf8_text_is_invalid() -> None:
    with pytest.raises(InvalidFile, match="is not valid UTF-8 text"):
        extract_text("latin1.txt", "café".encode("latin-1"))


@pytest.mark.parametrize("filename", ["a.txt", "a.md", "a.html", "a.json", "a.py", "a.csv"])
def test_random_bytes_never_escape_domain_errors(filename: str) -> None:
    for seed in range(20):
        data = bytes((seed * 7919 + i * 104729) % 256 for i in range(512))
        try:
            extract_text(filename, data)
        except (InvalidFile, UnsupportedFile):
            pass
