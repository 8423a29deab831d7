"""Okapi BM25 over the `chunks` table, exact, with MaxScore pruning.

Text is analysed by PostgreSQL's `english` configuration (Snowball stemmer, stop words): the
generated `chunks.tsv` holds each chunk's terms with their positions (term frequency = number of
positions), `chunks.term_count` its length. Per store, triggers keep the chunk count, the total
length and every term's document frequency exact (schema migration 6), so a search scores with the
statistics of the store searched:

    score(d) = sum over query terms t of  qtf(t) * idf(t) * tf / (tf + k1 * (1 - b + b * |d| / avgdl))
    idf(t)   = ln(1 + (N - df + 0.5) / (df + 0.5))            (Lucene's, never negative)

Cost: ranking every chunk that holds any query word is what made the old `ts_rank_cd` leg linear in
the store (a common word matches nearly everything). Here only chunks that could enter the top k
are read. A term contributes less than its weight qtf * idf, so a chunk whose query terms' weights
add up to at most theta scores below theta. With a threshold guess, the candidates are the chunks
holding a set of query terms heavy enough to pass it, a boolean tsquery over the terms (e.g.
`(a & b) | (a & c) | (b & c)`) that the GIN index answers from its posting lists, before any row
is read (WAND's bound, evaluated by the index). Only those chunks are scored, exactly; if the k-th
score reaches the guess, nothing outside can beat it and the answer is exact; if it falls short,
the k-th score is the next guess, which cannot fall short; if fewer than k chunks pass, the guess
is halved (twice), then drops to 0 (any query term). A lower guess's candidates hold the earlier
ones, so each round scores only the chunks the last one did not (`& !(last)`) and keeps the best
k of all rounds (bench: a quarter less time at 300k chunks). The first guess is the heaviest term's
weight, so a chunk needs more than that term alone. The answer is the exact top k of BM25 (ties by
chunk id), whatever k is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from ..base import ChunkHit

K1 = 1.2
B = 0.75
MAX_TERM_SETS = 128  # term sets OR-ed in one candidate tsquery (long queries fall back to a looser one)


@dataclass(frozen=True)
class QueryTerm:
    term: str
    weight: float  # qtf * idf: the most a chunk can get from this term
    df: int


def idf(chunks: int, df: int) -> float:
    return math.log(1.0 + (chunks - df + 0.5) / (df + 0.5))


def _quoted(term: str) -> str:
    """A lexeme in tsquery syntax, as it is (no further analysis)."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def tsquery_any(terms: Sequence[str]) -> str:
    """A tsquery matching any of the given lexemes."""
    return " | ".join(_quoted(t) for t in terms)


class Bm25Search:
    def __init__(self, k1: float = K1, b: float = B) -> None:
        self.k1 = k1
        self.b = b

    def query_terms(self, conn: Any, store_id: str, query: str) -> tuple[list[QueryTerm], float]:
        """The query's terms that occur in the store, heaviest (rarest) first, and the store's mean chunk length."""
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
        guess, shortfalls = (terms[0].weight if len(terms) > 1 else 0.0), 0
        hits: list[tuple[dict[str, Any], float]] = []
        scored = ""  # the candidates of the last round: a lower guess's candidates hold them
        while True:
            tsquery = candidates(terms, guess)
            unscored = f"({tsquery}) & !({scored})" if scored else tsquery
            hits = top_k(hits + self._scored(conn, terms, unscored, avgdl, where, params, k), k)
            scored = tsquery
            if guess == 0.0:
                break
            if len(hits) < k:  # fewer than k chunks pass the guess: halve it twice, then take any term
                shortfalls += 1
                guess = guess / 2 if shortfalls <= 2 else 0.0
            elif hits[-1][1] >= guess:
                break
            else:
                guess = hits[-1][1]
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
        tsquery: str,
        avgdl: float,
        where: str,
        params: list[Any],
        k: int,
    ) -> list[tuple[dict[str, Any], float]]:
        """BM25 (all query terms) of the chunks matching `tsquery`: the top k."""
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
            [a, c, names, names, [t.weight for t in terms], tsquery, *params, k],
        ).fetchall()
        return [(r, float(r["score"])) for r in rows]


def top_k(hits: list[tuple[dict[str, Any], float]], k: int) -> list[tuple[dict[str, Any], float]]:
    """Best first, ties by chunk id (the order the scoring query returns)."""
    return sorted(hits, key=lambda hit: (-hit[1], hit[0]["id"]))[:k]


def candidates(terms: list[QueryTerm], theta: float, max_sets: int = MAX_TERM_SETS) -> str:
    """A tsquery matching every chunk whose query terms' weights add up to more than theta (terms
    ordered by weight, heaviest first): the minimal such term sets, OR-ed. Past `max_sets` sets, a
    looser one: any of the terms that a chunk cannot do without (MaxScore's essential terms)."""
    if theta <= 0.0:
        return tsquery_any([t.term for t in terms])
    weights = [t.weight for t in terms]
    rest = [sum(weights[i:]) for i in range(len(weights) + 1)]
    sets: list[list[int]] = []

    def extend(start: int, chosen: list[int], total: float) -> bool:
        """Depth first, heaviest first: a set is minimal when it first passes theta (its last term
        is its lightest, and without it the sum was at most theta). False: too many sets."""
        for i in range(start, len(weights)):
            if total + rest[i] <= theta:
                return True
            if total + weights[i] > theta:
                sets.append([*chosen, i])
                if len(sets) > max_sets:
                    return False
            elif not extend(i + 1, [*chosen, i], total + weights[i]):
                return False
        return True

    if not extend(0, [], 0.0):
        needed = next(m for m in range(len(weights) + 1) if rest[m] <= theta)
        return tsquery_any([t.term for t in terms[:needed]])
    if not sets:
        return tsquery_any([t.term for t in terms])  # not reachable by the guesses search() makes
    return " | ".join("(" + " & ".join(_quoted(terms[i].term) for i in s) + ")" for s in sets)
