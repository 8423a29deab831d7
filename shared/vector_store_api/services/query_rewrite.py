"""Rewrite a natural-language question into a search query (``rewrite_query``)."""

from __future__ import annotations

import logging
import re
import threading
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..settings import Settings

logger = logging.getLogger(__name__)


class QueryRewriter(Protocol):
    def rewrite(self, query: str) -> str: ...


# Standard English stop words plus conversational fillers that carry no search value.
STOP_WORDS: frozenset[str] = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do
    does doesn't doing don't down during each few for from further had hadn't has hasn't
    have haven't having he he'd he'll he's her here here's hers herself him himself his how
    how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most
    mustn't my myself no nor not of off on once only or other ought our ours ourselves out
    over own same shan't she she'd she'll she's should shouldn't so some such than that
    that's the their theirs them themselves then there there's these they they'd they'll
    they're they've this those through to too under until up very was wasn't we we'd we'll
    we're we've were weren't what what's when when's where where's which while who who's
    whom why why's will with won't would wouldn't you you'd you'll you're you've your yours
    yourself yourselves
    like know please tell want wanted wondering wonder need looking find explain describe
    let us just really kindly hi hello hey thanks thank also anyone someone something
    anything
    """.split()
)

# Words with apostrophes stay whole so contractions ("i'd") match the stop list.
_WORD_RE = re.compile(r"\w+(?:'\w+)*")


def _words(query: str) -> list[str]:
    text = query.lower().replace("\u2019", "'").replace("\u2018", "'")
    return _WORD_RE.findall(text)


def _clean(word: str) -> str:
    """Drop a possessive 's and any remaining apostrophes ("company's" -> "company")."""
    if word.endswith("'s"):
        word = word[:-2]
    return word.replace("'", "")


class KeywordRewriter:
    """Deterministic rewrite: lower-case, drop punctuation and stop words, dedupe, keep order.

    "I'd like to know the height of the main office building" -> "height main office building".
    """

    def rewrite(self, query: str) -> str:
        seen: dict[str, None] = {}  # ordered set
        for word in _words(query):
            if word in STOP_WORDS:
                continue
            word = _clean(word)
            if word and word not in STOP_WORDS:
                seen.setdefault(word, None)
        # Nothing meaningful left: searching the original beats searching nothing.
        return " ".join(seen) if seen else query.strip()


SYSTEM_PROMPT = (
    "Rewrite the user's question as a concise search query for a document search engine. "
    "Keep the key entities, terms and constraints; drop filler words. "
    "Reply with the query only, no quotes or explanation."
)


class ChatRewriter:
    """Rewrites with an OpenAI-compatible chat model; falls back to KeywordRewriter on error."""

    def __init__(
        self,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 1,
    ) -> None:
        self.model = model
        self._api_key = api_key
        self._base_url = base_url
        # Search latency depends on this call: keep the timeout and retries small.
        self._timeout = timeout
        self._max_retries = max_retries
        self._fallback = KeywordRewriter()
        self._client: Any = None
        self._lock = threading.Lock()

    def _get_client(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    from openai import OpenAI

                    # Compatible servers often need no key; the SDK insists on one.
                    self._client = OpenAI(
                        api_key=self._api_key or "unused",
                        base_url=self._base_url or "https://api.openai.com/v1",
                        timeout=self._timeout,
                        max_retries=self._max_retries,
                    )
        return self._client

    def rewrite(self, query: str) -> str:
        try:
            rewritten = self._ask(query)
        except Exception as exc:  # any failure: degrade, never fail the search
            # Never log the query text at warning level (it may be sensitive).
            logger.warning("query rewrite with model %s failed (%s); using keyword rewrite",
                           self.model, type(exc).__name__)
            logger.debug("query rewrite failure details", exc_info=True)
            return self._fallback.rewrite(query)
        return rewritten

    def _ask(self, query: str) -> str:
        response = self._get_client().chat.completions.create(
            model=self.model,
            temperature=0,
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": query},
            ],
        )
        content = (response.choices[0].message.content or "").strip()
        if not content:
            raise ValueError("empty rewrite")
        return content


def build_rewriter(settings: Settings) -> QueryRewriter:
    """ChatRewriter when QUERY_REWRITE_MODEL is set, else the deterministic KeywordRewriter."""
    if settings.query_rewrite_model:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return ChatRewriter(settings.query_rewrite_model, api_key=key, base_url=settings.openai_base_url)
    return KeywordRewriter()
