"""Generated, reproducible data: documents, their chunks and vectors, queries and the 1 % filter.

Everything derives from one seed. The text is "realistic-ish": English function words plus a
Zipf-distributed vocabulary of pronounceable made-up words, with a topic per document (topic words
are over-represented), in sentences and paragraphs. Documents are chunked with the service's own
chunker (`vector_store_api.ingest.chunking.chunk_text`, static strategy) and embedded with the
service's deterministic `HashEmbedder`, so the bench holds exactly the chunks and vectors the
service will index (checked against the backend after ingest).

Each document has the attribute `group` = `g00`..`g99` (document index mod 100); filtering on one
group selects 1 % of the documents, hence 1 % of the chunks (documents are about equally long).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vector_store_api.embeddings.hashing import HashEmbedder
from vector_store_api.ingest.chunking import chunk_text, count_tokens

DIMENSION = 384
CHUNK_TOKENS = 200
CHUNK_OVERLAP = 50
GROUPS = 100
FILTER_GROUP = "g07"

FUNCTION_WORDS = (
    "the of and to a in is that for it as was with be by on not he this are or his from at which but have an "
    "they you were her she there been one all we their has would when if so no will more can its about into"
).split()
ONSETS = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "br", "cl", "dr", "st", "tr"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou"]
CODAS = ["", "", "n", "r", "s", "l", "t", "nd", "st", "rk"]


@dataclass
class Document:
    name: str
    text: str
    attributes: dict[str, str]


@dataclass
class Corpus:
    """Documents, their chunks (in document order) and the chunk vectors (float32, unit length)."""

    documents: list[Document]
    chunk_doc: np.ndarray  # chunk -> document index
    chunk_texts: list[str]
    chunk_tokens: list[int]
    vectors: np.ndarray
    chunk_index: list[int] = field(default_factory=list)  # position of the chunk in its document

    @property
    def size(self) -> int:
        return len(self.chunk_texts)

    def filter_mask(self, groups: list[str] | None = None) -> np.ndarray:
        """Chunks of documents in FILTER_GROUP (the selective filter's matches), or in `groups`."""
        wanted = set(groups) if groups is not None else {FILTER_GROUP}
        doc_match = np.array([d.attributes["group"] in wanted for d in self.documents])
        return doc_match[self.chunk_doc]


def chunking_strategy() -> dict:
    return {
        "type": "static",
        "static": {"max_chunk_size_tokens": CHUNK_TOKENS, "chunk_overlap_tokens": CHUNK_OVERLAP},
    }


def attribute_filter() -> dict:
    """The selective (1 %) filter, as sent to /search."""
    return {"type": "eq", "key": "group", "value": FILTER_GROUP}


class TextGenerator:
    def __init__(self, seed: int, vocabulary: int = 20_000, topics: int = 60, topic_words: int = 150):
        self.rng = np.random.default_rng(seed)
        words: set[str] = set()
        while len(words) < vocabulary:
            syllables = self.rng.integers(1, 4)
            words.add(
                "".join(
                    self.rng.choice(ONSETS) + self.rng.choice(VOWELS) + self.rng.choice(CODAS) for _ in range(syllables)
                )
            )
        self.words = sorted(words)
        self.rng.shuffle(self.words)
        zipf = 1.0 / np.arange(1, vocabulary + 1) ** 1.07
        self.word_cdf = np.cumsum(zipf / zipf.sum())
        self.topics = [self.rng.choice(vocabulary, size=topic_words, replace=False) for _ in range(topics)]

    def sentence(self, topic: np.ndarray) -> str:
        """8-21 words: 38 % function words, 24 % topic words, the rest Zipf-distributed vocabulary."""
        n = int(self.rng.integers(8, 22))
        kind = self.rng.random(n)
        general = np.minimum(np.searchsorted(self.word_cdf, self.rng.random(n)), len(self.words) - 1)
        function = self.rng.integers(len(FUNCTION_WORDS), size=n)
        topical = topic[self.rng.integers(len(topic), size=n)]
        out = [
            FUNCTION_WORDS[f] if k < 0.38 else self.words[t if k < 0.62 else g]
            for k, f, t, g in zip(kind.tolist(), function.tolist(), topical.tolist(), general.tolist(), strict=True)
        ]
        out[0] = out[0].capitalize()
        return " ".join(out) + ".?;.."[int(self.rng.integers(5))]

    def document(self, tokens: int) -> str:
        topic = self.topics[int(self.rng.integers(len(self.topics)))]
        paragraphs, total = [], 0
        while total < tokens:
            paragraph = " ".join(self.sentence(topic) for _ in range(int(self.rng.integers(3, 9))))
            paragraphs.append(paragraph)
            total += count_tokens(paragraph) + 1
        return "\n\n".join(paragraphs)


def document_tokens(chunks_per_document: int) -> int:
    """Tokens a document needs to be cut into `chunks_per_document` chunks."""
    return CHUNK_TOKENS + (chunks_per_document - 1) * (CHUNK_TOKENS - CHUNK_OVERLAP)


def build_corpus(chunks: int, chunks_per_document: int, seed: int, prefix: str = "doc") -> Corpus:
    """About `chunks` chunks in documents of about `chunks_per_document` chunks each."""
    gen = TextGenerator(seed)
    n_docs = max(1, round(chunks / chunks_per_document))
    tokens = document_tokens(chunks_per_document)
    documents, chunk_doc, texts, counts, positions = [], [], [], [], []
    for i in range(n_docs):
        doc = Document(f"{prefix}-{i:05d}.txt", gen.document(tokens), {"group": f"g{i % GROUPS:02d}"})
        documents.append(doc)
        for j, chunk in enumerate(chunk_text(doc.text, CHUNK_TOKENS, CHUNK_OVERLAP)):
            chunk_doc.append(i)
            texts.append(chunk.text)
            counts.append(chunk.token_count)
            positions.append(j)
    vectors = HashEmbedder(DIMENSION).embed(texts)
    return Corpus(documents, np.asarray(chunk_doc), texts, counts, vectors, positions)


def build_queries(corpus: Corpus, n: int, seed: int) -> list[str]:
    """`n` keyword queries, each made of words of a random chunk (the same set serves the
    unfiltered and the filtered searches: most of them are about chunks outside the filter)."""
    rng = np.random.default_rng(seed)
    queries = []
    for i in rng.choice(corpus.size, size=n, replace=n > corpus.size):
        words = [w.strip(".?;").lower() for w in corpus.chunk_texts[int(i)].split()]
        words = [w for w in words if w and w not in FUNCTION_WORDS]
        length = int(rng.integers(3, 7))
        start = int(rng.integers(0, max(1, len(words) - length)))
        queries.append(" ".join(words[start : start + length]) or "search")
    return queries


def embed_queries(queries: list[str]) -> np.ndarray:
    """The vectors the service computes for these queries (same embedder, same dimension)."""
    return HashEmbedder(DIMENSION).embed(queries)
