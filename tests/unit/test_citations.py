"""Citation markers -> file_citation annotations (services/citations.py), and the delta pieces."""

from __future__ import annotations

import pytest

from vector_store_api.services.citations import Source, cite, text_pieces

SOURCES = [Source("file-a", "a.txt"), Source("file-b", "b.pdf")]


def annotations(text: str) -> tuple[str, list[tuple[str, int]]]:
    cleaned, found = cite(text, SOURCES)
    return cleaned, [(a.file_id, a.index) for a in found]


def test_the_contract_example():
    text, found = cite("New employees receive 15 vacation days per year. [1]", SOURCES)
    assert text == "New employees receive 15 vacation days per year."
    assert [(a.type, a.file_id, a.filename, a.index) for a in found] == [("file_citation", "file-a", "a.txt", 48)]


@pytest.mark.parametrize(
    ("raw", "text", "found"),
    [
        ("One [1]. Two [2].", "One. Two.", [("file-a", 3), ("file-b", 8)]),
        ("Both [1, 2] here.", "Both here.", [("file-a", 4), ("file-b", 4)]),
        ("Both [1][2].", "Both.", [("file-a", 4), ("file-b", 4)]),
        ("Full width【2†source】.", "Full width.", [("file-b", 10)]),
        ("File id <|file-b|>.", "File id.", [("file-b", 7)]),
        ("Unknown file <|file-zzz|>.", "Unknown file.", []),
        ("In [2024] and [a] and [3].", "In [2024] and [a] and [3].", []),
        ("Twice [1] [1].", "Twice.", [("file-a", 5)]),
        ("Ünïcödé 🎉 [2]", "Ünïcödé 🎉", [("file-b", 9)]),  # code points, not UTF-16 units
        ("No markers at all.", "No markers at all.", []),
    ],
)
def test_markers(raw, text, found):
    assert annotations(raw) == (text, found)


def test_annotations_sorted_and_within_the_text():
    text, found = cite("[2] first. Then [1] second [1].", SOURCES)
    indexes = [a.index for a in found]
    assert indexes == sorted(indexes) and all(0 <= i <= len(text) for i in indexes)


def test_pieces_join_to_the_text():
    text = "A short answer,  with   spaces\nand lines."
    assert "".join(text_pieces(text)) == text
    assert text_pieces("") == [""]
