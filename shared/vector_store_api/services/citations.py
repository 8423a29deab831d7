"""Citation markers in a model's answer -> OpenAI's `file_citation` annotations.

The model is shown numbered sources and asked to cite them as `[n]`. Markers accepted: `[n]`,
`[n, m]`, `[n][m]`, `【n】` (`【n†source】` too) and `<|file-…|>`. Each marker is removed together with
one space before it; an annotation's `index` is the length (in code points) of the cleaned text
before the marker, i.e. where OpenAI says to insert the citation. Brackets naming numbers outside
the sources (`[2024]`, `[a]`) are ordinary text. A streamed answer is cited as it grows: see
`settled_length`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from ..models.responses import FileCitation

_NUMBERS = r"\d+(?:\s*,\s*\d+)*"
_MARKER = re.compile(rf" ?(?:\[({_NUMBERS})\]|【({_NUMBERS})(?:†[^】]*)?】|<\|(file-[A-Za-z0-9_-]+)\|>)")


@dataclass(frozen=True)
class Source:
    """A numbered search result the model was shown."""

    file_id: str
    filename: str


def cite(text: str, sources: Sequence[Source]) -> tuple[str, list[FileCitation]]:
    """The text without markers, and its annotations sorted by index (exact duplicates removed)."""
    by_file = {source.file_id: source for source in sources}
    cleaned: list[str] = []
    length = 0
    annotations: list[FileCitation] = []
    seen: set[tuple[str, int]] = set()
    position = 0
    for match in _MARKER.finditer(text):
        numbers_text = match.group(1) or match.group(2)
        cited: list[Source] = []
        if numbers_text is not None:
            numbers = [int(n) for n in numbers_text.split(",")]
            if match.group(1) is not None and not all(1 <= n <= len(sources) for n in numbers):
                continue  # `[2024]`: not a marker
            cited = [sources[n - 1] for n in numbers if 1 <= n <= len(sources)]
        elif match.group(3) in by_file:
            cited = [by_file[match.group(3)]]
        before = text[position : match.start()]
        cleaned.append(before)
        length += len(before)
        position = match.end()
        for source in cited:
            if (source.file_id, length) not in seen:
                seen.add((source.file_id, length))
                annotations.append(FileCitation(file_id=source.file_id, filename=source.filename, index=length))
    cleaned.append(text[position:])
    return "".join(cleaned), sorted(annotations, key=lambda a: a.index)


# A marker is short: `[12, 13]`, `【3†source】`, `<|file-…|>` (OpenAI's file ids are about 30 characters).
MAX_MARKER_CHARS = 64
_OPENERS = (("[", "]"), ("【", "】"), ("<|", "|>"))


def settled_length(raw: str) -> int:
    """How much of a growing answer can be cited and streamed now: all of it but a suffix that may
    still become a marker (an unclosed `[`, `【` or `<|` near the end), and the whitespace before
    that suffix, which goes with a marker. `cite(raw[:n])` is then a prefix of the final result."""
    end = len(raw)
    for opener, closer in _OPENERS:
        start = raw.rfind(opener, max(0, len(raw) - MAX_MARKER_CHARS))
        if start != -1 and raw.find(closer, start) == -1:
            end = min(end, start)
    if raw.endswith("<"):
        end = min(end, len(raw) - 1)
    while end > 0 and raw[end - 1].isspace():
        end -= 1
    return end
