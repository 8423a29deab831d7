"""Citation markers -> file_citation annotations (services/citations.py), and the delta pieces."""

from __future__ import annotations

import pytest

from vector_store_api.services.citations import Source, cite, settled_length

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


@pytest.mark.parametrize(
    ("raw", "settled"),
    [
        ("Fifteen days", "Fifteen days"),
        ("Fifteen days ", "Fifteen days"),  # the space may belong to a marker
        ("Fifteen days [", "Fifteen days"),
        ("Fifteen days [1", "Fifteen days"),
        ("Fifteen days [1, 2", "Fifteen days"),
        ("Fifteen days [1].", "Fifteen days [1]."),
        ("Fifteen days 【1†sou", "Fifteen days"),
        ("Fifteen days <", "Fifteen days"),
        ("Fifteen days <|file-ab", "Fifteen days"),
        ("An aside [" + "x" * 80, "An aside [" + "x" * 80),  # too long ago to be a marker
    ],
)
def test_settled_length(raw, settled):
    assert raw[: settled_length(raw)] == settled


def test_a_growing_answer_cites_to_prefixes_of_the_final_result():
    final = "One fact [1]. Both [1, 2], and [2024] stays.【2†x】 End <|file-a|>."
    final_text, final_annotations = cite(final, SOURCES)
    sent, announced = "", 0
    for end in range(1, len(final) + 1):
        raw = final[:end]
        text, found = cite(raw[: settled_length(raw)], SOURCES)
        assert final_text.startswith(text) and text.startswith(sent)
        assert found == final_annotations[: len(found)] and len(found) >= announced
        sent, announced = text, len(found)
    assert sent == final_text.rstrip(".") or sent == final_text
