"""Turn an uploaded file into plain text for chunking.

Type detection is by extension only (like OpenAI's file_search): unknown
extensions are rejected rather than sniffed. Heavy parser libraries are
imported inside the functions that need them so importing this module is cheap.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import InvalidFile, UnsupportedFile

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.oxml.table import CT_Tc
    from docx.table import Table as DocxTable
    from docx.table import _Cell as DocxCell

# Read verbatim as (UTF-8) text: prose, markup-as-source and code.
PLAIN_TEXT_EXTENSIONS: frozenset[str] = frozenset(
    {
        # prose / docs
        ".txt", ".text", ".md", ".markdown", ".mdx", ".rst", ".adoc", ".asciidoc",
        ".org", ".tex", ".log",
        # data / config
        ".csv", ".tsv", ".xml", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf",
        ".properties", ".env", ".graphql", ".gql", ".proto",
        # code
        ".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".tsx", ".jsx",
        ".vue", ".svelte", ".java", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh",
        ".hxx", ".cs", ".go", ".rs", ".rb", ".php", ".sh", ".bash", ".zsh", ".fish",
        ".ps1", ".bat", ".cmd", ".css", ".scss", ".sass", ".less", ".sql", ".kt",
        ".kts", ".swift", ".scala", ".sc", ".r", ".lua", ".pl", ".pm", ".dart",
        ".ex", ".exs", ".erl", ".hrl", ".hs", ".clj", ".cljs", ".groovy", ".gradle",
        ".jl", ".m", ".mm", ".vb", ".fs", ".fsx", ".ml", ".mli", ".nim", ".zig",
        ".tf", ".hcl", ".cmake", ".mk", ".asm", ".s", ".f90", ".for", ".pas",
    }
)
HTML_EXTENSIONS: frozenset[str] = frozenset({".html", ".htm", ".xhtml"})
JSON_EXTENSIONS: frozenset[str] = frozenset({".json"})
PDF_EXTENSIONS: frozenset[str] = frozenset({".pdf"})
DOCX_EXTENSIONS: frozenset[str] = frozenset({".docx"})
PPTX_EXTENSIONS: frozenset[str] = frozenset({".pptx"})

SUPPORTED_EXTENSIONS: frozenset[str] = (
    PLAIN_TEXT_EXTENSIONS
    | HTML_EXTENSIONS
    | JSON_EXTENSIONS
    | PDF_EXTENSIONS
    | DOCX_EXTENSIONS
    | PPTX_EXTENSIONS
)

# HTML elements whose content is never user-visible text.
_HTML_DROP_TAGS = ("script", "style", "noscript", "template")
# Elements rendered as their own paragraph; inline ones (b, a, span) must not split text.
_HTML_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "caption", "details", "div",
        "dl", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
        "h4", "h5", "h6", "header", "hr", "main", "nav", "ol", "p", "pre", "section",
        "summary", "table", "title", "ul",
    }
)
# Elements that end a line but are not paragraphs of their own.
_HTML_LINE_TAGS = frozenset({"li", "tr", "dt", "dd", "option"})
_HTML_CELL_TAGS = frozenset({"td", "th"})
_HTML_PREFORMATTED_TAGS = ("pre", "textarea")
# Private-use stand-ins that protect <pre> whitespace from whitespace collapsing.
_PRE_SPACE, _PRE_TAB, _PRE_NEWLINE = "\ue000", "\ue001", "\ue002"

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def extract_text(filename: str, data: bytes) -> str:
    """Return the normalised plain text of `data`, dispatching on `filename`'s extension.

    Raises UnsupportedFile for unknown extensions and InvalidFile for content that
    cannot be read or yields no text; never anything else for bad input.
    """
    name = _basename(filename)
    ext = _extension(name)
    parser = _parser_for(ext)
    if parser is None:
        shown = ext or "none"
        raise UnsupportedFile(
            f"Files with extensions [{shown}] are not supported for retrieval "
            f"(file '{name}')."
        )
    raw = parser(name, data)
    text = normalize_text(raw)
    if not text.strip():
        raise InvalidFile(f"File '{name}' contains no extractable text.")
    return text


def normalize_text(text: str) -> str:
    """Unify newlines, drop trailing spaces and cap blank-line runs at two."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    # More than two blank lines carry no meaning; one or two (paragraph / code
    # section breaks) are kept as they are.
    text = re.sub(r"\n{4,}", "\n\n\n", text)
    return text.strip("\n")


# --- dispatch -----------------------------------------------------------------


def _basename(filename: str) -> str:
    # Uploads may carry client paths (either separator); only the last part matters.
    return re.split(r"[\\/]", filename or "")[-1]


def _extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    # "README" and ".bashrc" have no extension.
    if not dot or not stem:
        return ""
    return "." + ext.lower()


def _parser_for(ext: str) -> Callable[[str, bytes], str] | None:
    if ext in PLAIN_TEXT_EXTENSIONS:
        return _parse_plain
    if ext in HTML_EXTENSIONS:
        return _parse_html
    if ext in JSON_EXTENSIONS:
        return _parse_json
    if ext in PDF_EXTENSIONS:
        return _parse_pdf
    if ext in DOCX_EXTENSIONS:
        return _parse_docx
    if ext in PPTX_EXTENSIONS:
        return _parse_pptx
    return None


# --- text-like formats --------------------------------------------------------


def decode_text(name: str, data: bytes) -> str:
    """Decode UTF-8 (BOM stripped) or BOM-marked UTF-16; reject anything binary."""
    if data.startswith(_UTF16_BOMS):
        try:
            text = data.decode("utf-16")  # consumes the BOM and picks endianness
        except UnicodeDecodeError:
            raise InvalidFile(f"File '{name}' is not valid UTF-16 text.") from None
        if "\x00" in text:
            raise InvalidFile(f"File '{name}' is not valid UTF-8 text.")
        return text
    # NUL bytes never occur in real UTF-8 text but always in binaries.
    if b"\x00" in data:
        raise InvalidFile(f"File '{name}' is not valid UTF-8 text.")
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidFile(f"File '{name}' is not valid UTF-8 text.") from None


def _parse_plain(name: str, data: bytes) -> str:
    return decode_text(name, data)


def _parse_json(name: str, data: bytes) -> str:
    text = decode_text(name, data)
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidFile(f"Could not parse '{name}' as JSON: {_short(exc)}") from None
    # Pretty print so minified JSON gets line structure; ensure_ascii=False keeps
    # non-ASCII strings readable instead of \uXXXX escapes.
    try:
        return json.dumps(value, indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return text


def _parse_html(name: str, data: bytes) -> str:
    text = decode_text(name, data)
    try:
        return _html_to_text(text)
    except RecursionError:  # pathologically deep nesting
        raise InvalidFile(f"Could not parse '{name}' as HTML: nesting too deep") from None
    except Exception as exc:  # bs4 is lenient, but never leak parser internals
        raise InvalidFile(f"Could not parse '{name}' as HTML: {_short(exc)}") from None


def _html_to_text(markup: str) -> str:
    import warnings

    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning
    from bs4.element import NavigableString  # the same class; bs4 does not re-export it

    # Advice aimed at developers ("use an XML parser", "this looks like a URL");
    # the parse result is fine for text extraction. Idempotent, so per call is OK.
    for category in (XMLParsedAsHTMLWarning, MarkupResemblesLocatorWarning):
        warnings.filterwarnings("ignore", category=category)

    markup = markup.replace("\r\n", "\n").replace("\r", "\n")
    markup = markup.translate({ord(c): None for c in (_PRE_SPACE, _PRE_TAB, _PRE_NEWLINE)})
    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup.find_all(_HTML_DROP_TAGS):
        tag.decompose()
    for node in soup.find_all(string=True):
        # Comments, doctypes, CDATA, processing instructions are subclasses.
        if type(node) is not NavigableString:
            node.extract()
    for tag in soup.find_all(_HTML_PREFORMATTED_TAGS):
        for node in tag.find_all(string=True):
            node.replace_with(NavigableString(_protect_pre(str(node))))
    for node in soup.find_all(string=True):
        # Source whitespace (incl. newlines) is insignificant in HTML.
        node.replace_with(NavigableString(re.sub(r"\s+", " ", str(node))))
    _mark_html_breaks(soup)
    lines = (re.sub(r" +", " ", line).strip() for line in soup.get_text().split("\n"))
    # Nested blocks produce many empty lines; one paragraph break is enough.
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.replace(_PRE_SPACE, " ").replace(_PRE_TAB, "\t").replace(_PRE_NEWLINE, "\n")


def _protect_pre(text: str) -> str:
    return text.replace(" ", _PRE_SPACE).replace("\t", _PRE_TAB).replace("\n", _PRE_NEWLINE)


def _mark_html_breaks(soup: Any) -> None:
    """Insert the line breaks a browser would render; get_text() would otherwise
    glue "<p>a</p><p>b</p>" into "ab"."""
    for tag in soup.find_all(True):
        if tag.name == "br":
            tag.replace_with("\n")
        elif tag.name in _HTML_BLOCK_TAGS:
            tag.insert_before("\n\n")
            tag.insert_after("\n\n")
        elif tag.name in _HTML_LINE_TAGS:
            tag.insert_after("\n")
        elif tag.name in _HTML_CELL_TAGS and tag.find_next_sibling(_HTML_CELL_TAGS):
            tag.insert_after(" | ")


# --- office / pdf formats -----------------------------------------------------


def _parse_pdf(name: str, data: bytes) -> str:
    # Imported outside the try: a missing library is a deployment bug, not a bad file.
    from pypdf import PasswordType, PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise InvalidFile(f"Could not parse '{name}' as PDF: the file is password protected")
        pages = [page.extract_text() or "" for page in reader.pages]
    except InvalidFile:
        raise
    except Exception as exc:  # pypdf raises many types on corrupt input
        raise InvalidFile(f"Could not parse '{name}' as PDF: {_short(exc)}") from None
    return "\n\n".join(p.strip() for p in pages if p.strip())


def _parse_docx(name: str, data: bytes) -> str:
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
        return "\n\n".join(_docx_blocks(document))
    except Exception as exc:  # zipfile/KeyError/lxml/PackageNotFound on bad input
        raise InvalidFile(f"Could not parse '{name}' as DOCX: {_short(exc)}") from None


def _docx_blocks(container: DocxDocument | DocxCell) -> Iterator[str]:
    """Paragraphs and tables of a document body or table cell, in document order."""
    from docx.table import Table

    for item in container.iter_inner_content():
        if isinstance(item, Table):
            table_text = _docx_table_text(item)
            if table_text:
                yield table_text
        elif item.text.strip():
            yield item.text


def _docx_table_text(table: DocxTable) -> str:
    """One line per row, cells separated by " | "; merged cells appear once."""
    rows: list[str] = []
    for row in table.rows:
        seen: set[CT_Tc] = set()  # lxml elements hash by identity
        cells: list[str] = []
        for cell in row.cells:
            # A horizontally merged cell is returned once per grid column.
            if cell._tc in seen:
                continue
            seen.add(cell._tc)
            text = " ".join(" ".join(_docx_blocks(cell)).split())
            cells.append(text)
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _parse_pptx(name: str, data: bytes) -> str:
    from pptx import Presentation

    try:
        presentation = Presentation(io.BytesIO(data))
        slides = ["\n\n".join(_slide_blocks(slide)) for slide in presentation.slides]
        return "\n\n".join(s for s in slides if s.strip())
    except Exception as exc:  # zipfile/KeyError/lxml/PackageNotFound on bad input
        raise InvalidFile(f"Could not parse '{name}' as PPTX: {_short(exc)}") from None


def _slide_blocks(slide: Any) -> Iterator[str]:
    yield from _shape_blocks(slide.shapes)
    if slide.has_notes_slide:
        notes_frame = slide.notes_slide.notes_text_frame
        if notes_frame is not None and notes_frame.text.strip():
            yield notes_frame.text.replace("\v", "\n")


def _shape_blocks(shapes: Iterable[Any]) -> Iterator[str]:
    for shape in shapes:
        if hasattr(shape, "shapes"):  # group shape: recurse into its members
            yield from _shape_blocks(shape.shapes)
        elif shape.has_text_frame:
            if shape.text_frame.text.strip():
                # PowerPoint uses vertical tab for soft line breaks.
                yield shape.text_frame.text.replace("\v", "\n")
        elif shape.has_table:
            table_text = _pptx_table_text(shape.table)
            if table_text:
                yield table_text


def _pptx_table_text(table: Any) -> str:
    rows: list[str] = []
    for row in table.rows:
        cells = [" ".join(cell.text.split()) for cell in row.cells if not cell.is_spanned]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _short(exc: BaseException, limit: int = 200) -> str:
    """A one-line reason for error messages, without library tracebacks."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    return message if len(message) <= limit else message[: limit - 3] + "..."
