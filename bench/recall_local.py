"""Part `recall_local`: recall@10 on REAL embeddings (the local ONNX model, all-MiniLM-L6-v2).

The `recall` part uses the `hash` embedder, whose vectors are nearly isotropic: no neighbourhood
structure, a worst case for any graph index (bench/FINDINGS.md, section 2). Here the same
measurement runs on vectors with meaning:
- corpus: English sentences from templates over a fixed word list (30 topics, a topic and two
  focus words per file), seed-fixed, `--recall-local-chunks` chunks (default 4 000) in a multiple
  of 100 files (attribute `group` as in data.py, so `group == "g07"` selects 1 % of the chunks),
  cut by the service into static chunks of 100 tokens without overlap (the API's minimum chunk
  size: short passages, well inside the model's 256 word pieces);
- a server with EMBEDDING_PROVIDER=local (LOCAL_EMBEDDING_MODEL_DIR), INGEST_WORKERS=1, rate limits
  off and EXACT_SEARCH_MAX_CHUNKS lowered to EXACT_MAX (500), below the corpus size, so that HNSW
  answers the unfiltered searches (the 1 % filter, ~40 chunks, is still answered exactly);
- per backend: ingest through the API (uploads + one file_batches request, timed), then the vectors
  the service stored are read back (pgvector `chunks.embedding`, OpenSearch `_source.embedding`),
  so the numpy brute force runs over exactly the indexed vectors;
- queries: short phrases (5-9 consecutive words) of random chunks, embedded in this process with
  the service's `LocalEmbedder` (same model directory, one text per call as the service does), so
  the API, the raw index query and the brute force share the query vectors;
- then recall.run: API recall (`ranker: none`, k = 10), index-alone recall, ef_search sweep, data
  contrast, unfiltered and with the 1 % filter. Target: recall >= 0.95.
"""

from __future__ import annotations

import os
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from . import recall
from .data import DIMENSION, GROUPS, Corpus, Document

CHUNK_TOKENS = 100  # the API's minimum max_chunk_size_tokens
CHUNK_OVERLAP = 0
EXACT_MAX = 500  # EXACT_SEARCH_MAX_CHUNKS of the server: below the corpus, so HNSW answers

# topic: nouns | past-tense verbs | adjectives
TOPICS = {
    "cooking": "onion garlic sauce oven pan recipe butter flour soup kitchen knife pepper|chopped roasted stirred "
    "tasted baked seasoned|crispy spicy golden tender savoury fresh",
    "astronomy": "telescope galaxy comet orbit planet nebula moon eclipse star asteroid observatory satellite|observed "
    "photographed tracked measured discovered mapped|distant faint bright celestial cosmic dark",
    "gardening": "tomato seedling compost soil greenhouse hedge rose shovel fertiliser lawn root weed|planted "
    "watered pruned harvested mulched dug|green leafy fertile muddy blooming shady",
    "football": "goal striker referee stadium penalty match defender league coach pitch tackle trophy|scored "
    "kicked defended passed won trained|offside thrilling muddy decisive fast tactical",
    "finance": "loan interest budget bank mortgage investor stock dividend inflation tax account bond|invested "
    "borrowed saved audited taxed lent|profitable risky volatile fiscal annual wealthy",
    "medicine": "patient doctor vaccine fever surgery nurse clinic symptom diagnosis antibiotic hospital "
    "infection|treated diagnosed vaccinated examined prescribed healed|chronic acute sterile clinical painful "
    "contagious",
    "music": "guitar melody orchestra drum concert violin chorus rhythm singer album piano song|played composed "
    "rehearsed recorded tuned sang|loud harmonic acoustic catchy melodic rhythmic",
    "programming": "compiler function database server bug variable algorithm keyboard program network library "
    "software|debugged compiled deployed refactored tested wrote|recursive efficient buggy concurrent digital "
    "open-source",
    "sailing": "yacht sail harbour anchor wind mast crew tide rudder boat sailor compass|sailed anchored steered "
    "moored navigated rowed|windy salty coastal nautical calm stormy",
    "climbing": "mountain rope summit cliff glacier ridge harness boulder peak ice axe tent|climbed descended "
    "belayed camped scaled crossed|steep icy rocky exposed vertical alpine",
    "photography": "camera lens shutter portrait flash tripod exposure photo studio film sensor aperture|photographed "
    "framed focused developed edited printed|blurry sharp candid monochrome vivid grainy",
    "architecture": "cathedral arch facade column skyscraper bridge dome blueprint brick tower staircase "
    "window|designed built restored renovated sketched demolished|gothic modern concrete symmetrical ornate lofty",
    "chemistry": "molecule acid reaction beaker catalyst electron solution atom compound flask crystal "
    "laboratory|mixed heated dissolved distilled analysed synthesised|toxic volatile acidic organic soluble "
    "metallic",
    "history": "empire emperor senate legion republic temple province rebellion chronicle coin conquest "
    "treaty|conquered ruled founded defeated besieged crowned|ancient imperial roman medieval bloody "
    "legendary",
    "wine": "vineyard grape barrel cellar harvest bottle cork vintage winemaker cask tasting label|fermented "
    "bottled aged pressed poured sipped|dry fruity oaky sparkling red sweet",
    "birds": "sparrow owl eagle nest feather heron migration beak wing robin falcon egg|nested migrated "
    "hatched flew perched sang|feathered nocturnal migratory tiny graceful colourful",
    "volcanoes": "volcano lava crater eruption magma ash earthquake geologist vent rock island "
    "tremor|erupted smouldered rumbled flowed cooled collapsed|molten explosive volcanic active "
    "sulphurous fiery",
    "railways": "train locomotive station platform timetable carriage track signal conductor tunnel ticket "
    "engine|departed arrived delayed shunted boarded derailed|punctual steam electric crowded overnight rusty",
    "chess": "bishop knight pawn rook queen king opening endgame checkmate tournament board gambit|sacrificed "
    "castled captured resigned promoted blundered|positional tactical winning drawn brilliant defensive",
    "beekeeping": "hive bee honey queen wax swarm beekeeper pollen comb nectar frame smoker|collected swarmed "
    "extracted inspected pollinated stung|sticky golden buzzing sweet busy floral",
    "weather": "storm rain cloud forecast thunder snow wind temperature fog hail drought "
    "lightning|rained snowed thundered forecast cleared froze|humid foggy freezing overcast sunny "
    "tropical",
    "coffee": "espresso bean roaster grinder barista cup milk crema brew cafe filter kettle|roasted "
    "brewed ground frothed poured tasted|bitter aromatic strong smooth creamy acidic",
    "painting": "canvas brush easel portrait landscape palette pigment watercolour gallery sketch oil "
    "painter|painted sketched exhibited varnished mixed framed|abstract vivid impressionist pale textured "
    "luminous",
    "cycling": "bicycle saddle pedal chain helmet gear tyre peloton climb sprint wheel cyclist|pedalled "
    "raced climbed punctured sprinted braked|uphill aerodynamic exhausted lightweight downhill muddy",
    "law": "court judge lawyer contract verdict witness trial jury statute appeal evidence "
    "lawsuit|sued testified appealed ruled argued signed|legal guilty binding criminal civil "
    "unanimous",
    "fishing": "trout salmon rod reel bait river hook net angler lake boat catch|caught fished cast "
    "reeled hooked released|slippery silver freshwater patient quiet deep",
    "dogs": "puppy leash collar kennel breed retriever vet bone bark tail walk terrier|barked fetched "
    "trained groomed adopted walked|loyal playful furry obedient energetic hungry",
    "education": "student teacher classroom exam lesson homework school textbook lecture grade "
    "university essay|studied taught graded lectured enrolled graduated|academic difficult diligent "
    "curious bored clever",
    "knitting": "wool needle scarf sweater yarn pattern stitch sock blanket cardigan loop "
    "knitter|knitted purled unravelled stitched crocheted dyed|woolly cosy warm chunky soft striped",
    "electricity": "battery circuit voltage wire resistor current generator transformer switch "
    "socket fuse cable|wired charged soldered switched measured grounded|electric insulated "
    "conductive faulty powerful wireless",
    "baking": "bread dough yeast loaf crust cake pastry oven biscuit croissant sourdough "
    "baker|kneaded baked proofed glazed sliced rolled|flaky buttery warm crusty fluffy sweet",
}
SUBJECTS = ("the team", "my neighbour", "Anna", "the old man", "our guide", "a young engineer", "the students",
            "my sister", "Professor Hall", "the committee", "a local reporter", "Tom", "the volunteers", "we")
TIMES = ("last spring", "every morning", "in the winter of 1998", "during the long weekend", "before dawn",
         "after lunch", "at the end of the season", "on a rainy Tuesday", "for the first time", "years ago")
PLACES = ("near the old harbour", "in a small village", "behind the town hall", "at the edge of the forest",
          "in the north of the country", "on the top floor", "by the river", "in the city centre")
TEMPLATES = (
    "{Subj} {verb} the {adj} {noun} {place}.",
    "The {noun} was surprisingly {adj}, so {subj} {verb} the {noun2} {time}.",
    "After {subj} {verb} the {noun}, everyone agreed that the {noun2} looked {adj}.",
    "A {adj} {noun} needs a {adj2} {noun2} and careful attention to the {noun3}.",
    "{Subj} wrote a short article about the {noun} and the {noun2} {time}.",
    "Nobody expected the {noun} to be so {adj} {time}.",
    "{Time}, {subj} {verb} a {adj} {noun} with a {noun2}.",
    "Why was the {noun} {adj} when the {noun2} was {adj2}?",
    "The best advice about a {noun} is simple: keep the {noun2} {adj} and check the {noun3} often.",
    "{Subj} often talked about how the {noun} {verb} the {noun2} {place}.",
)


class EnglishGenerator:
    """Seed-fixed English sentences from TEMPLATES; a document keeps one topic and two focus nouns."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.topics = [tuple(part.split() for part in spec.split("|")) for spec in TOPICS.values()]

    def _pick(self, items):
        return items[int(self.rng.integers(len(items)))]

    def sentence(self, topic: tuple[list[str], list[str], list[str]], focus: list[str]) -> str:
        nouns, verbs, adjectives = topic

        def noun() -> str:  # the document's focus nouns come up half the time
            return self._pick(focus) if self.rng.random() < 0.5 else self._pick(nouns)

        subj, time_ = self._pick(SUBJECTS), self._pick(TIMES)
        return self._pick(TEMPLATES).format(
            Subj=subj[0].upper() + subj[1:], subj=subj, Time=time_[0].upper() + time_[1:], time=time_,
            verb=self._pick(verbs), adj=self._pick(adjectives), adj2=self._pick(adjectives),
            noun=noun(), noun2=noun(), noun3=noun(), place=self._pick(PLACES),
        )

    def document(self, tokens: int) -> str:
        """Paragraphs of 3-6 sentences, about `tokens` tokens (never more)."""
        from vector_store_api.ingest.chunking import count_tokens

        topic = self._pick(self.topics)
        focus = [str(x) for x in self.rng.choice(topic[0], size=2, replace=False)]
        paragraphs: list[str] = []
        total = 0
        while True:
            paragraph = " ".join(self.sentence(topic, focus) for _ in range(int(self.rng.integers(3, 7))))
            n = count_tokens(paragraph) + 1
            if total + n > tokens and paragraphs:
                return "\n\n".join(paragraphs)
            paragraphs.append(paragraph)
            total += n


def build_documents(chunks: int, seed: int) -> list[Document]:
    """A multiple of 100 files (so `group == g07` is exactly 1 % of them) of about chunks / files chunks."""
    files = GROUPS * max(1, round(chunks / (GROUPS * 20)))
    tokens = max(1, round(chunks / files)) * CHUNK_TOKENS
    gen = EnglishGenerator(seed)
    return [Document(f"real-{i:05d}.txt", gen.document(tokens), {"group": f"g{i % GROUPS:02d}"}) for i in range(files)]


def chunking_strategy() -> dict:
    return {"type": "static", "static": {"max_chunk_size_tokens": CHUNK_TOKENS, "chunk_overlap_tokens": CHUNK_OVERLAP}}


def files_only(documents: list[Document]) -> Corpus:
    """The documents, to upload and attach (chunks and vectors come from the service)."""
    return Corpus(documents, np.zeros(0, dtype=int), [], [], np.zeros((0, DIMENSION), dtype=np.float32))


def stored_corpus(documents: list[Document], file_ids: list[str], raw) -> Corpus:
    """The corpus as the backend holds it: texts and the vectors the service indexed (normalised)."""
    doc_of = {fid: i for i, fid in enumerate(file_ids)}
    rows = sorted(raw.stored(), key=lambda r: (doc_of[r[0]], r[1]))
    vectors = np.stack([r[3] for r in rows]).astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return Corpus(documents, np.asarray([doc_of[r[0]] for r in rows]), [r[2] for r in rows], [0] * len(rows),
                  vectors, [r[1] for r in rows])


def build_queries(corpus: Corpus, n: int, seed: int) -> list[str]:
    """`n` short phrases: 5-9 consecutive words of a random chunk (punctuation stripped)."""
    rng = np.random.default_rng(seed)
    queries = []
    for i in rng.choice(corpus.size, size=n, replace=n > corpus.size):
        words = [w.strip(".,?:") for w in corpus.chunk_texts[int(i)].split()]
        length = int(rng.integers(5, 10))
        start = int(rng.integers(0, max(1, len(words) - length)))
        queries.append(" ".join(words[start : start + length]) or "search")
    return queries


def run(args, results: dict, tmp: Path, backends: list[str], opensearch) -> None:
    """`opensearch`: a servers.LazyOpenSearch (started on first use, stopped by the caller)."""
    from tests.support.servers import ApiServer

    from vector_store_api.embeddings.local import LocalEmbedder
    from vector_store_api.ingest.chunking import chunk_text
    from vector_store_api.settings import Settings

    from .client import ApiClient
    from .context import StoreUnderTest
    from .raw import OpenSearchRaw, PgVectorRaw

    notes = results["meta"]["notes"]
    model_dir = os.environ.get("LOCAL_EMBEDDING_MODEL_DIR")
    if not model_dir or not (Path(model_dir) / "model.onnx").is_file():
        notes.append("recall_local part skipped: LOCAL_EMBEDDING_MODEL_DIR has no model.onnx")
        return
    part_started = time.perf_counter()
    documents = build_documents(args.recall_local_chunks, args.seed + 3)
    expected = sum(len(chunk_text(d.text, CHUNK_TOKENS, CHUNK_OVERLAP)) for d in documents)
    settings = Settings()
    env = {"EMBEDDING_PROVIDER": "local", "LOCAL_EMBEDDING_MODEL_DIR": model_dir, "INGEST_WORKERS": "1",
           "EXACT_SEARCH_MAX_CHUNKS": str(EXACT_MAX)}
    prefix = f"bench-real-{uuid.uuid4().hex[:8]}"
    if "opensearch" in backends:
        env.update(OPENSEARCH_URL=opensearch.url(), OPENSEARCH_INDEX_PREFIX=prefix)
    out: dict = {
        "chunks": expected, "files": len(documents), "chunk_tokens": CHUNK_TOKENS, "chunk_overlap": CHUNK_OVERLAP,
        "exact_search_max_chunks": EXACT_MAX, "hnsw_ef_search": settings.hnsw_ef_search, "ingest_workers": 1,
        "model": "all-MiniLM-L6-v2 (ONNX, local)", "ingest": [], "rows": [],
    }
    results["recall_local"] = out
    print(f"recall_local: {expected} chunks of <= {CHUNK_TOKENS} tokens in {len(documents)} files;"
          f" EXACT_SEARCH_MAX_CHUNKS lowered to {EXACT_MAX} so HNSW answers", flush=True)

    embedder = LocalEmbedder(Path(model_dir), batch_size=settings.embedding_batch_size)
    with ExitStack() as stack:
        server = ApiServer(tmp / "server-real", **env)
        stack.callback(server.stop)
        server.start()
        client = stack.enter_context(ApiClient(server.base_url))
        print(f"API server (local model) at {server.base_url} (pid {server.pid})", flush=True)
        warm = files_only(documents[:1])
        warm_store = client.create_store("bench-real-warmup", "pgvector")
        client.attach(warm_store, warm, client.upload_corpus(warm), chunking_strategy())  # loads the model
        queries: list[str] = []
        vectors = np.zeros((0, DIMENSION), dtype=np.float32)
        for backend in backends:
            store_id = client.create_store(f"bench-real-{backend}", backend)
            started = time.perf_counter()
            file_ids = [client.upload(d.name, d.text) for d in documents]
            uploaded = time.perf_counter()
            client.attach(store_id, files_only(documents), file_ids, chunking_strategy())
            done = time.perf_counter()
            if backend == "pgvector":
                raw = PgVectorRaw(server.database_url, store_id, settings.hnsw_ef_search)
                results["meta"].setdefault("pgvector_version", raw.pgvector_version)
            else:
                index = f"{prefix.lower()}-{settings.opensearch_engine}-{DIMENSION}"
                raw = OpenSearchRaw(opensearch.url(), index, store_id, settings.hnsw_ef_search)
                results["meta"].setdefault("opensearch_version", raw.client.info()["version"]["number"])
                results["meta"].setdefault("opensearch_engine", settings.opensearch_engine)
            stack.callback(raw.close)
            raw.settle()
            corpus = stored_corpus(documents, file_ids, raw)
            if corpus.size != expected:
                raise RuntimeError(f"{backend}: the service stored {corpus.size} chunks, the bench expects {expected}")
            ingest = {"backend": backend, "chunks": corpus.size, "upload_s": uploaded - started,
                      "attach_s": done - uploaded, "chunks_per_s": corpus.size / (done - uploaded)}
            out["ingest"].append(ingest)
            print(f"  ingest {backend:10s} (local model): {corpus.size} chunks, uploads {ingest['upload_s']:.1f} s,"
                  f" batch {ingest['attach_s']:.1f} s = {ingest['chunks_per_s']:.0f} chunks/s", flush=True)
            if not queries:
                queries = build_queries(corpus, args.recall_queries, args.seed + 4)
                vectors = np.stack([embedder.embed([q])[0] for q in queries])  # one per call, like the service
                out["queries"] = len(queries)
                out["filter_chunks"] = int(corpus.filter_mask().sum())
            sut = StoreUnderTest(backend, client, store_id, file_ids, corpus, raw, EXACT_MAX, queries, vectors)
            for row in recall.run(sut, args.recall_queries, args.ef_sweep):
                out["rows"].append({**row, "embedder": "local"})
        print("stopping the API server (local model)", flush=True)
    out["duration_s"] = time.perf_counter() - part_started
