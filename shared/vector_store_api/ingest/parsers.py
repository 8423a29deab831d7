"""Turn an uploaded file into plain text for chunking.

Type detection is by extension only (like OpenAI's file_search): unknown
extensions are rejected rather than sniffed. Heavy parser libraries are
imported inside the functions that need them so importing this module is cheap.

Every parse is bounded (ingest/bounds.py): extracted text, time, and what a zip
package or a PDF stream may inflate to. A file over a bound is an InvalidFile.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import InvalidFile, UnsupportedFile
from .bounds import Budget, PackageTooLarge, ParseLimits, check_package, pdf_stream_limits

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
_WHITESPACE = re.compile(r"\s+")
_HTML_START_TAG = re.compile(r"<(?=[A-Za-z])")

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_MAX_UTF8_BYTES_PER_CHAR = 4

# Markup parsed into Python objects costs far more memory than its text: bs4 keeps an object of about
# 1.2 kB per element, json.loads 50-60 bytes per value (`[[],[],...]` is 3 characters a value). So
# both are bounded by what they build, to some 100-200 MiB: HTML by its elements (100,000: a long
# article has a few tens of thousands), JSON by its values (2,000,000, counted from the commas and
# brackets, which can only overcount), and JSON also by its size: beyond 16 M characters it exceeds
# MAX_FILE_TOKENS once pretty-printed (about 3 characters per token).
JSON_MAX_CHARS = 16_000_000
JSON_MAX_VALUES = 2_000_000
HTML_MAX_ELEMENTS = 100_000
_HTML_CHECK_EVERY = 4096  # nodes rendered between two budget checks

Parser = Callable[[str, bytes, Budget], str]


def extract_text(filename: str, data: bytes, limits: ParseLimits | None = None) -> str:
    """Return the normalised plain text of `data`, dispatching on `filename`'s extension.

    Raises UnsupportedFile for unknown extensions and InvalidFile for content that
    cannot be read, yields no text, or breaks one of `limits` (text, time) or the
    fixed bounds of ingest/bounds.py; never anything else for bad input.
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
    budget = Budget(name, limits or ParseLimits())
    raw = parser(name, data, budget)
    if len(raw) > budget.limits.max_text_chars:
        raise budget.too_much_text()
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


def _parser_for(ext: str) -> Parser | None:
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


def _decode_bounded(name: str, data: bytes, budget: Budget, max_chars: int | None = None) -> str:
    """decode_text, refusing more than `max_chars` (default: the budget's text) characters; a file too
    large for them whatever its encoding is refused before it is decoded."""
    limit = budget.limits.max_text_chars if max_chars is None else min(max_chars, budget.limits.max_text_chars)
    if len(data) > _MAX_UTF8_BYTES_PER_CHAR * limit + len(_UTF8_BOM):
        raise _too_long(name, budget, limit)
    text = decode_text(name, data)
    if len(text) > limit:
        raise _too_long(name, budget, limit)
    return text


def _too_long(name: str, budget: Budget, limit: int) -> InvalidFile:
    if limit == budget.limits.max_text_chars:
        return budget.too_much_text()
    return InvalidFile(f"File '{name}' has more than {limit:,} characters, the limit for its type.")


def _parse_plain(name: str, data: bytes, budget: Budget) -> str:
    return _decode_bounded(name, data, budget)


def _parse_json(name: str, data: bytes, budget: Budget) -> str:
    text = _decode_bounded(name, data, budget, JSON_MAX_CHARS)
    if text.count(",") + text.count("[") + text.count("{") >= JSON_MAX_VALUES:
        raise InvalidFile(
            f"Could not parse '{name}' as JSON: it has more than {JSON_MAX_VALUES:,} values, the limit for JSON."
        )
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidFile(f"Could not parse '{name}' as JSON: {_short(exc)}") from None
    # Pretty print so minified JSON gets line structure; ensure_ascii=False keeps
    # non-ASCII strings readable instead of \uXXXX escapes. Written piece by piece: json.dumps
    # with an indent first lists every piece (a string object per value and separator).
    out = io.StringIO()
    try:
        for piece in json.JSONEncoder(indent=2, ensure_ascii=False).iterencode(value):
            out.write(piece)
    except (ValueError, RecursionError):
        return text
    return out.getvalue()


def _parse_html(name: str, data: bytes, budget: Budget) -> str:
    text = _decode_bounded(name, data, budget)
    # Every element starts with "<": a cheap upper bound on what bs4 would build.
    if text.count("<") > HTML_MAX_ELEMENTS and _html_elements(text) > HTML_MAX_ELEMENTS:
        raise InvalidFile(
            f"Could not parse '{name}' as HTML: it has more than {HTML_MAX_ELEMENTS:,} elements, the limit for HTML."
        )
    try:
        return _html_to_text(text, budget)
    except InvalidFile:
        raise
    except RecursionError:  # pathologically deep nesting
        raise InvalidFile(f"Could not parse '{name}' as HTML: nesting too deep") from None
    except Exception as exc:  # bs4 is lenient, but never leak parser internals
        raise InvalidFile(f"Could not parse '{name}' as HTML: {_short(exc)}") from None


def _html_elements(markup: str) -> int:
    return len(_HTML_START_TAG.findall(markup))


def _html_to_text(markup: str, budget: Budget) -> str:
    import warnings

    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning

    # Advice aimed at developers ("use an XML parser", "this looks like a URL");
    # the parse result is fine for text extraction. Idempotent, so per call is OK.
    for category in (XMLParsedAsHTMLWarning, MarkupResemblesLocatorWarning):
        warnings.filterwarnings("ignore", category=category)

    markup = markup.replace("\r\n", "\n").replace("\r", "\n")
    markup = markup.translate({ord(c): None for c in (_PRE_SPACE, _PRE_TAB, _PRE_NEWLINE)})
    soup = BeautifulSoup(markup, "html.parser")
    del markup
    budget.check()
    lines = (re.sub(r" +", " ", line).strip() for line in _render_html(soup, budget).split("\n"))
    # Nested blocks produce many empty lines; one paragraph break is enough.
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return text.replace(_PRE_SPACE, " ").replace(_PRE_TAB, "\t").replace(_PRE_NEWLINE, "\n")


def _protect_pre(text: str) -> str:
    return text.replace(" ", _PRE_SPACE).replace("\t", _PRE_TAB).replace("\n", _PRE_NEWLINE)


def _render_html(soup: Any, budget: Budget) -> str:
    """The text a browser would show, in one pass over the tree (time linear in its size; editing the
    tree instead costs a scan of the siblings per edit, minutes for a few megabytes of flat markup):

    - scripts, styles, templates, comments, doctypes, CDATA and ruby annotations are dropped;
    - source whitespace collapses to one space, except inside <pre> and <textarea>;
    - block elements are paragraphs of their own ("\n\n" around them), line elements end a line,
      <br> is a line break, and a table cell followed by another gets " | " after it.
    """
    from bs4.element import NavigableString, Tag

    out: list[str] = []
    # (node, inside <pre>) to render, or (None, text) to emit once a tag's content is done.
    stack: list[tuple[Any, Any]] = [(soup, False)]
    rendered = 0
    while stack:
        node, flag = stack.pop()
        if node is None:
            out.append(flag)
            continue
        rendered += 1
        if rendered % _HTML_CHECK_EVERY == 0:
            budget.check()
        if isinstance(node, NavigableString):
            # Comments, doctypes, CDATA, processing instructions, ruby text are subclasses.
            if type(node) is NavigableString:
                out.append(_WHITESPACE.sub(" ", _protect_pre(str(node)) if flag else str(node)))
            continue
        name = node.name
        if name in _HTML_DROP_TAGS:
            continue
        if name == "br":
            out.append("\n")
            continue
        if name in _HTML_BLOCK_TAGS:
            out.append("\n\n")
            stack.append((None, "\n\n"))
        elif name in _HTML_LINE_TAGS:
            stack.append((None, "\n"))
        inside_pre = flag or name in _HTML_PREFORMATTED_TAGS
        children = node.contents
        last_cell = max(
            (i for i, child in enumerate(children) if isinstance(child, Tag) and child.name in _HTML_CELL_TAGS),
            default=-1,
        )
        for i in range(len(children) - 1, -1, -1):
            child = children[i]
            if i < last_cell and isinstance(child, Tag) and child.name in _HTML_CELL_TAGS:
                stack.append((None, " | "))
            stack.append((child, inside_pre))
    return "".join(out)


# --- office / pdf formats -----------------------------------------------------


class _OverBudget(BaseException):
    """Carries a budget's InvalidFile out of pypdf, which swallows any Exception raised while it
    extracts a form XObject's text (and would carry on)."""

    def __init__(self, error: InvalidFile):
        super().__init__(error.message)
        self.error = error


def _parse_pdf(name: str, data: bytes, budget: Budget) -> str:
    # Imported outside the try: a missing library is a deployment bug, not a bad file.
    from pypdf import PasswordType, PdfReader

    # Called by pypdf for every operator and every piece of text, inside forms too: the budget holds
    # within a page, not only between pages.
    def on_operator(*_: Any) -> None:
        try:
            budget.check()
        except InvalidFile as error:
            raise _OverBudget(error) from None

    def on_text(text: str, *_: Any) -> None:
        try:
            budget.spend(len(text))
        except InvalidFile as error:
            raise _OverBudget(error) from None

    try:
        with pdf_stream_limits():
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
                raise InvalidFile(f"Could not parse '{name}' as PDF: the file is password protected")
            pages = []
            for page in reader.pages:
                budget.check()
                pages.append(page.extract_text(visitor_operand_before=on_operator, visitor_text=on_text) or "")
    except _OverBudget as over:
        raise over.error from None
    except InvalidFile:
        raise
    except Exception as exc:  # pypdf raises many types on corrupt input
        raise InvalidFile(f"Could not parse '{name}' as PDF: {_short(exc)}") from None
    return "\n\n".join(p.strip() for p in pages if p.strip())


def _open_package(name: str, kind: str, data: bytes) -> None:
    """Refuse a package over the bounds of ingest/bounds.py before the library inflates any of it."""
    try:
        check_package(data)
    except PackageTooLarge as error:
        raise InvalidFile(f"Could not parse '{name}' as {kind}: {error}") from None


def _parse_docx(name: str, data: bytes, budget: Budget) -> str:
    import docx

    _open_package(name, "DOCX", data)
    try:
        document = docx.Document(io.BytesIO(data))
        budget.check()
        blocks = []
        for block in _docx_blocks(document, budget):
            budget.spend(len(block) + 2)
            blocks.append(block)
        return "\n\n".join(blocks)
    except InvalidFile:
        raise
    except Exception as exc:  # zipfile/KeyError/lxml/PackageNotFound on bad input
        raise InvalidFile(f"Could not parse '{name}' as DOCX: {_short(exc)}") from None


def _docx_blocks(container: DocxDocument | DocxCell, budget: Budget) -> Iterator[str]:
    """Paragraphs and tables of a document body or table cell, in document order."""
    from docx.table import Table

    for item in container.iter_inner_content():
        budget.check()
        if isinstance(item, Table):
            table_text = _docx_table_text(item, budget)
            if table_text:
                yield table_text
        elif item.text.strip():
            yield item.text


def _docx_table_text(table: DocxTable, budget: Budget) -> str:
    """One line per row, cells separated by " | "; merged cells appear once. A table's text counts
    against the budget row by row (its own block is counted again once whole: at most twice)."""
    rows: list[str] = []
    for row in table.rows:
        seen: set[CT_Tc] = set()  # lxml elements hash by identity
        cells: list[str] = []
        for cell in row.cells:
            # A horizontally merged cell is returned once per grid column.
            if cell._tc in seen:
                continue
            seen.add(cell._tc)
            text = " ".join(" ".join(_docx_blocks(cell, budget)).split())
            cells.append(text)
        if any(cells):
            rows.append(" | ".join(cells))
            budget.spend(len(rows[-1]) + 1)
    return "\n".join(rows)


def _parse_pptx(name: str, data: bytes, budget: Budget) -> str:
    from pptx import Presentation

    _open_package(name, "PPTX", data)
    try:
        presentation = Presentation(io.BytesIO(data))
        slides = []
        for slide in presentation.slides:
            budget.check()
            slides.append("\n\n".join(_slide_blocks(slide, budget)))
            budget.spend(len(slides[-1]) + 2)
        return "\n\n".join(s for s in slides if s.strip())
    except InvalidFile:
        raise
    except Exception as exc:  # zipfile/KeyError/lxml/PackageNotFound on bad input
        raise InvalidFile(f"Could not parse '{name}' as PPTX: {_short(exc)}") from None


def _slide_blocks(slide: Any, budget: Budget) -> Iterator[str]:
    yield from _shape_blocks(slide.shapes, budget)
    if slide.has_notes_slide:
        notes_frame = slide.notes_slide.notes_text_frame
        if notes_frame is not None and notes_frame.text.strip():
            yield notes_frame.text.replace("\v", "\n")


def _shape_blocks(shapes: Iterable[Any], budget: Budget) -> Iterator[str]:
    for shape in shapes:
        budget.check()
        if hasattr(shape, "shapes"):  # group shape: recurse into its members
            yield from _shape_blocks(shape.shapes, budget)
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
