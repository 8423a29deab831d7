"""Okapi BM25 over the `chunks` table, exact, with MaxScore pruning.

Text is analysed by PostgreSQL's `english` configuration (Snowball stemmer, stop words): the
generated `chunks.tsv` holds each chunk's terms with their positions (term frequency = number of
positions), `chunks.term_count` its length. Per store, triggers keep the chunk count, the total
length and every term's document frequency exact (schema migration 6), so a search scores with the
statistics of the store searched:

    score(d) = sum over query terms t of  qtf(t) * idf(t) * tf / (tf + k1 * (1 - b + b * |d| / avgdl))
    idf(t)   = ln(1 + (N - df + 0.5) / (df + 0.5))            (Lucene's, never negative)

Cost: ranking every chunk that holds any query word is what made the old `ts_rank_cd` leg linear in
the store (a common word matches nearly everything). A term's contribution is below qtf * idf, so
with the terms ordered rarest first and a k-th best score theta in hand, a chunk holding none of
the first m terms scores below the sum of the other terms' bounds; once that sum is <= theta those
chunks cannot enter the top k (MaxScore). The search scores the chunks of the rarest terms first
(the GIN index finds them), takes theta from them, and widens to the terms theta cannot rule out,
at most once more. The answer is the exact top k of BM25 (ties by chunk id), whatever k is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from ..base import ChunkHit

K1 = 1.2
B = 0.75


@dataclass(frozen=True)
class QueryTerm:
    term: str
    weight: float  # qtf * idf: the most a chunk can get from this term
    df: int


def idf(chunks: int, df: int) -> float:
    return math.log(1.0 + (chunks - df + 0.5) / (df + 0.5))


def tsquery_any(terms: Sequence[str]) -> str:
    """A tsquery matching any of the given lexemes, quoted as they are (no further analysis)."""
    return " | ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms)


class Bm25Search:
    def __init__(self, k1: float = K1, b: float = B):
        self.k1 = k1
        self.b = b

    def query_terms(self, conn: Any, store_id: str, query: str) -> tuple[list[QueryTerm], float]:
        """The query's terms that occur in the store, the rarest first, and the store's mean chunk length."""
        rows = conn.execute(
            "SELECT q.lexeme AS term, cardinality(q.positions) AS qtf, t.df, s.chunks, s.terms"
            " FROM lexical_stores s CROSS JOIN unnest(to_tsvector('english', %s)) q"
            " JOIN lexical_terms t ON t.vector_store_id = s.vector_store_id AND t.term = q.lexeme"
            " WHERE s.vector_store_id = %s AND t.df > 0",
            (query, store_id),
        ).fetchall()
        if not rows:
            return [], 0.0
        chunks, length = rows[0]["chunks"], rows[0]["terms"]
        terms = [QueryTerm(r["term"], r["qtf"] * idf(chunks, r["df"]), r["df"]) for r in rows]
        terms.sort(key=lambda t: (-t.weight, t.term))
        return terms, length / chunks if chunks else 0.0

    def search(self, conn: Any, store_id: str, where: str, params: list[Any], query: str, k: int) -> list[ChunkHit]:
        """The top k chunks by BM25 among those matching `where`, best first (score: the BM25 sum)."""
        terms, avgdl = self.query_terms(conn, store_id, query)
        if not terms or k <= 0:
            return []
        # First probe: the rarest terms, enough of them to hold about k chunks.
        probed, held = 0, 0
        while probed < len(terms) and (probed == 0 or held < k):
            held += terms[probed].df
            probed += 1
        hits = self._scored(conn, terms, probed, avgdl, where, params, k)
        if probed < len(terms):
            theta = hits[-1][1] if len(hits) == k else 0.0
            needed = _terms_needed(terms, theta)
            if needed > probed:
                hits = self._scored(conn, terms, needed, avgdl, where, params, k)
        return [
            ChunkHit(
                chunk_id=str(r["id"]), file_id=r["file_id"], text=r["text"], attributes=r["attributes"], score=score
            )
            for r, score in hits
        ]

    def _scored(
        self,
        conn: Any,
        terms: list[QueryTerm],
        candidates_from: int,
        avgdl: float,
        where: str,
        params: list[Any],
        k: int,
    ) -> list[tuple[dict[str, Any], float]]:
        """BM25 (all query terms) of the chunks holding one of the first `candidates_from` terms: the top k."""
        names = [t.term for t in terms]
        # tf / (tf + k1 * (1 - b + b * dl / avgdl)) = tf / (tf + a + c * dl)
        a = self.k1 * (1.0 - self.b)
        c = self.k1 * self.b / avgdl if avgdl > 0 else 0.0
        rows = conn.execute(
            "SELECT c.id, c.file_id, c.text, c.attributes, s.score FROM chunks c CROSS JOIN LATERAL ("
            "  SELECT sum(q.weight * cardinality(w.positions) / (cardinality(w.positions) + %s + %s * c.term_count))"
            "   AS score"
            "  FROM unnest(ts_filter(setweight(c.tsv, 'A', %s::text[]), '{a}')) w"
            "  JOIN unnest(%s::text[], %s::float8[]) q (term, weight) ON q.term = w.lexeme"
            " ) s"
            f" WHERE c.tsv @@ %s::tsquery AND {where}"
            " ORDER BY s.score DESC, c.id LIMIT %s",
            [a, c, names, names, [t.weight for t in terms], tsquery_any(names[:candidates_from]), *params, k],
        ).fetchall()
        return [(r, float(r["score"])) for r in rows]


def _terms_needed(terms: list[QueryTerm], theta: float) -> int:
    """The fewest leading terms m such that a chunk holding none of them scores below theta:
    the weights of terms m.. add up to at most theta."""
    rest = sum(t.weight for t in terms)
    for m, term in enumerate(terms):
        if rest <= theta:
            return m
        rest -= term.weight
    return len(terms)
