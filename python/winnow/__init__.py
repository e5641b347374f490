"""winnow from Python: retrieve wide, then rerank narrow.

The models follow sentence-transformers' API, the engine is winnow's C++ (the GIL is released
while a model or an index works, so threads scale):

    import winnow
    ce = winnow.CrossEncoder("cross-encoder/ms-marco-MiniLM-L-6-v2")
    ce.predict([("what is bm25?", "BM25 ranks documents by term frequency."), ...])  # numpy float32
    ce.rank("what is bm25?", docs, top_k=3)         # [{"corpus_id": i, "score": s}, ...]

    st = winnow.SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")
    st.encode(["a sentence", "another"], normalize_embeddings=True)  # numpy [2, 384]

    index = winnow.Index.create("my-index")
    index.add([{"id": "a", "title": "BM25", "text": "BM25 ranks documents ..."}])
    pipe = winnow.Pipeline("my-index", "bm25(k=100) > rerank(model=./ce, top_n=5)")
    pipe.search("what is bm25?").hits
    winnow.evaluate(pipe, queries={"q1": "what is bm25?"}, qrels={"q1": {"a": 1}})

Errors are winnow.Error subclasses carrying winnow's code (`e.code == "not_found"`) and the CLI's
exit status (`e.exit_code`); each also derives from the matching built-in exception
(InvalidArgumentError is a ValueError, NotFoundError a FileNotFoundError, ...).
"""

import os as _os

# libgomp reads its spin policy when it loads (with the extension module just below): a short spin
# and then sleep, as the CLI does, unless the caller chose a policy.
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["GOMP_SPINCOUNT"] = "1000"

import json as _json
import math as _math
import warnings as _warnings
from dataclasses import dataclass as _dataclass, field as _field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as _np

from . import _winnow
from ._winnow import (  # noqa: F401  (re-exported)
    CancelledError,
    CorruptError,
    Error,
    InternalError,
    InvalidArgumentError,
    IoError,
    NotFoundError,
    OverloadedError,
    PipelineHit,
    PipelineResult,
    SearchHit,
    TimeoutError,
    TooLargeError,
    UnauthorizedError,
    UnsupportedError,
    chunker_names,
    parse_pipeline,
    read_qrels,
    read_run,
    set_log_level,
    write_run,
)

__version__ = _winnow.version()

__all__ = [
    "CrossEncoder", "SentenceTransformer", "Index", "Pipeline", "Answer", "evaluate",
    "read_qrels", "read_run", "write_run", "parse_pipeline", "chunker_names", "set_log_level",
    "Error", "InvalidArgumentError", "NotFoundError", "UnsupportedError", "CorruptError", "IoError",
    "TooLargeError", "OverloadedError", "TimeoutError", "CancelledError", "UnauthorizedError",
    "InternalError", "SearchHit", "PipelineHit", "PipelineResult",
]


def _model_args(precision, device, num_threads, max_length, token_budget, kind, instruction):
    return dict(
        precision=precision,
        device=device or "auto",
        n_threads=int(num_threads or 0),
        max_length=int(max_length or 0),
        token_budget=int(token_budget),
        kind=kind,
        instruction=instruction or "",
    )


def _check_batch_size(batch_size):
    if batch_size is None or int(batch_size) < 1:
        raise InvalidArgumentError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


# ---- Models -----------------------------------------------------------------------------------


class CrossEncoder:
    """A cross-encoder (or LLM reranker) scoring (query, document) pairs, like
    sentence_transformers.CrossEncoder.

    model_name_or_path: a model folder, or a Hugging Face id already in the local cache (see
    `winnow pull`). max_length caps query + document tokens (default: the model's limit).
    precision: auto | fp32 | bf16 | fp16 | int8. device: auto | cpu | cuda (None: auto, the GPU when
    one is found and the model has a CUDA implementation). num_threads: intra-op threads (0: all cores).
    """

    def __init__(self, model_name_or_path: str, max_length: Optional[int] = None, precision: str = "auto",
                 num_threads: int = 0, token_budget: int = _winnow.DEFAULT_TOKEN_BUDGET, kind: str = "auto",
                 instruction: str = "", device: Optional[str] = None):
        self.model = _winnow.Reranker(str(model_name_or_path),
                                      **_model_args(precision, device, num_threads, max_length, token_budget, kind,
                                                    instruction))

    @property
    def max_length(self) -> int:
        return self.model.max_length

    @property
    def precision(self) -> str:
        return self.model.precision

    @property
    def device(self) -> str:
        return self.model.device

    def __repr__(self):
        return f"CrossEncoder({self.model.name!r}, max_length={self.max_length}, precision={self.precision!r})"

    def predict(self, sentences, batch_size: int = 32, show_progress_bar: Optional[bool] = None,
                activation_fct: Optional[Callable] = None, apply_softmax: bool = False,
                convert_to_numpy: bool = True, convert_to_tensor: bool = False):
        """Scores pairs: a list of (query, document) pairs gives a float32 array of scores, one
        pair gives a float. The score is the model's activation of its logit (sigmoid for one
        label, as sentence-transformers' default); activation_fct, when given, is applied to the
        raw logits instead (e.g. `lambda x: x` for the logits themselves).
        show_progress_bar, apply_softmax and convert_to_tensor are accepted for compatibility
        (one-label models have nothing to softmax; there is no torch here).
        """
        del show_progress_bar, apply_softmax
        if convert_to_tensor:
            raise UnsupportedError("convert_to_tensor: winnow returns numpy arrays (there is no torch)")
        single = (isinstance(sentences, (list, tuple)) and len(sentences) == 2
                  and all(isinstance(s, str) for s in sentences))
        pairs = [tuple(sentences)] if single else [tuple(p) for p in sentences]
        for i, p in enumerate(pairs):
            if len(p) != 2 or not all(isinstance(s, str) for s in p):
                raise InvalidArgumentError(f"pair {i}: expected (query, document) strings, got {p!r}")
        scores, raw, _ = self.model.score_pairs(pairs, _check_batch_size(batch_size))
        if activation_fct is not None:
            scores = _np.asarray(activation_fct(raw), dtype=_np.float32)
        if single:
            return float(scores[0])
        return scores if convert_to_numpy else [float(s) for s in scores]

    def rank(self, query: str, documents: Sequence[str], top_k: Optional[int] = None,
             return_documents: bool = False, batch_size: int = 32, show_progress_bar: Optional[bool] = None,
             activation_fct: Optional[Callable] = None, apply_softmax: bool = False) -> List[Dict[str, Any]]:
        """Scores every document against the query and returns them best first:
        [{"corpus_id": index in documents, "score": s (, "text": document)}], at most top_k.
        Equal scores keep input order."""
        scores = self.predict([(query, d) for d in documents], batch_size=batch_size,
                              show_progress_bar=show_progress_bar, activation_fct=activation_fct,
                              apply_softmax=apply_softmax)
        order = sorted(range(len(documents)), key=lambda i: (-float(scores[i]), i))
        if top_k is not None:
            order = order[: max(0, int(top_k))]
        out = []
        for i in order:
            item = {"corpus_id": i, "score": float(scores[i])}
            if return_documents:
                item["text"] = documents[i]
            out.append(item)
        return out


class SentenceTransformer:
    """A sentence embedder (sentence-transformers folder: pooling, normalisation, prompts; or an
    LLM embedder), like sentence_transformers.SentenceTransformer.

    truncate_dim > 0 keeps that many leading dimensions (Matryoshka), renormalized when the model
    normalizes.
    """

    def __init__(self, model_name_or_path: str, max_seq_length: Optional[int] = None, precision: str = "auto",
                 num_threads: int = 0, truncate_dim: Optional[int] = None, token_budget: int = _winnow.DEFAULT_TOKEN_BUDGET,
                 kind: str = "auto", instruction: str = "", device: Optional[str] = None):
        self.model = _winnow.Embedder(str(model_name_or_path),
                                      **_model_args(precision, device, num_threads, max_seq_length, token_budget, kind,
                                                    instruction))
        self.truncate_dim = truncate_dim

    @property
    def max_seq_length(self) -> int:
        return self.model.max_length

    def get_sentence_embedding_dimension(self) -> int:
        return int(self.truncate_dim) if self.truncate_dim else self.model.dimension

    def __repr__(self):
        return (f"SentenceTransformer({self.model.name!r}, dimension={self.get_sentence_embedding_dimension()}, "
                f"normalized={self.model.normalized})")

    def encode(self, sentences: Union[str, Sequence[str]], batch_size: int = 32,
               show_progress_bar: Optional[bool] = None, convert_to_numpy: bool = True,
               convert_to_tensor: bool = False, normalize_embeddings: bool = False,
               prompt_name: Optional[str] = None, truncate_dim: Optional[int] = None):
        """Embeds a string (-> 1-D float32 array) or a list of strings (-> 2-D array [n, dim]).
        normalize_embeddings L2-normalizes each vector; prompt_name "query" or "document" picks
        the model's prompt for that kind (default document). batch_size texts go to the model per
        call; the GIL is released meanwhile."""
        del show_progress_bar
        if convert_to_tensor:
            raise UnsupportedError("convert_to_tensor: winnow returns numpy arrays (there is no torch)")
        kind = prompt_name or "document"
        if kind not in ("query", "document"):
            raise InvalidArgumentError(f"prompt_name {prompt_name!r}: expected 'query' or 'document'")
        single = isinstance(sentences, str)
        texts = [sentences] if single else list(sentences)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise InvalidArgumentError(f"sentence {i}: expected a string, got {type(t).__name__}")
        dim = truncate_dim if truncate_dim is not None else self.truncate_dim
        vectors = self.model.embed(texts, kind, int(dim or 0), _check_batch_size(batch_size))
        if normalize_embeddings:
            norms = _np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / _np.where(norms > 0, norms, 1).astype(_np.float32)
        if single:
            return vectors[0]
        return vectors if convert_to_numpy else list(vectors)

    def encode_query(self, sentences, **kwargs):
        """encode() with the model's query prompt."""
        return self.encode(sentences, prompt_name="query", **kwargs)

    def encode_document(self, sentences, **kwargs):
        """encode() with the model's document prompt."""
        return self.encode(sentences, prompt_name="document", **kwargs)

    @staticmethod
    def similarity(a, b) -> _np.ndarray:
        """Cosine similarity matrix between two sets of embeddings (1-D inputs count as one row)."""
        a = _np.atleast_2d(_np.asarray(a, dtype=_np.float32))
        b = _np.atleast_2d(_np.asarray(b, dtype=_np.float32))
        na = _np.linalg.norm(a, axis=1, keepdims=True)
        nb = _np.linalg.norm(b, axis=1, keepdims=True)
        return (a / _np.where(na > 0, na, 1)) @ (b / _np.where(nb > 0, nb, 1)).T


def _embedder_of(embedder):
    if embedder is None:
        return None
    if isinstance(embedder, SentenceTransformer):
        return embedder.model
    if isinstance(embedder, _winnow.Embedder):
        return embedder
    return _winnow.Embedder(str(embedder))  # a model folder or hub id


# ---- Index ------------------------------------------------------------------------------------


def _document_tuple(doc, i):
    if isinstance(doc, Mapping):
        if "id" not in doc or "text" not in doc:
            raise InvalidArgumentError(f"document {i}: needs 'id' and 'text' keys")
        metadata = doc.get("metadata", {})
        return (str(doc["id"]), str(doc.get("title", "")), str(doc["text"]),
                metadata if isinstance(metadata, str) else _json.dumps(metadata),
                str(doc.get("source_path", "")))
    if isinstance(doc, (tuple, list)) and len(doc) in (2, 3):
        return (str(doc[0]), str(doc[2]) if len(doc) == 3 else "", str(doc[1]), "{}", "")
    raise InvalidArgumentError(f"document {i}: expected a dict with id/text (title, metadata, source_path) or an "
                               f"(id, text[, title]) tuple, got {type(doc).__name__}")


class Index:
    """An index directory as `winnow index` makes it: SQLite store, BM25, optional dense side.

    Index.open(dir) opens an existing one; Index.create(dir) opens or creates (dense="Flat" or
    "HNSW32" with an embedder adds vectors). Searching is thread-safe and releases the GIL.
    """

    def __init__(self, native):
        self._index = native

    @classmethod
    def open(cls, path: str, embedder=None) -> "Index":
        return cls(_winnow.Index.open(str(path), _embedder_of(embedder)))

    @classmethod
    def create(cls, path: str, dense: Optional[str] = None, embedder=None, analyzer: str = "english",
               bm25: str = "bm25(k1=0.9,b=0.4)") -> "Index":
        return cls(_winnow.Index.create(str(path), analyzer, bm25, dense or "", _embedder_of(embedder)))

    def add(self, documents: Iterable, chunker: Optional[str] = None, batch_documents: int = 500,
            embed_batch: int = 64) -> Dict[str, int]:
        """Adds or replaces documents: dicts {id, text, title?, metadata?, source_path?} or
        (id, text[, title]) tuples. chunker: "document" (default), "paragraph(max_chars=1500)",
        "structured(size=256, overlap=32)". Unchanged documents are skipped. Returns the counts
        {added, replaced, unchanged, removed, chunks}; the BM25 (and dense) indexes are rebuilt
        once at the end, so add in large batches."""
        docs = [_document_tuple(d, i) for i, d in enumerate(documents)]
        return self._index.add(docs, chunker or "", int(batch_documents), int(embed_batch))

    def remove(self, doc_ids: Union[str, Iterable[str]]) -> int:
        """Removes documents by id; returns how many existed."""
        ids = [doc_ids] if isinstance(doc_ids, str) else [str(d) for d in doc_ids]
        return self._index.remove(ids)

    def search(self, query: str, k: int = 10, first_stage: str = "bm25", **options) -> List[SearchHit]:
        """First-stage search: bm25 | dense | hybrid. Options: bm25 ("bm25(k1=1.2,b=0.75)"),
        fusion (rrf|weighted), rrf_k, lexical_weight, k_lexical, k_dense, ef_search (HNSW beam width), with_text."""
        return self._index.search(query, int(k), first_stage, **options)

    def explain(self, query: str, chunk_id: int, bm25: str = "") -> str:
        return self._index.explain(query, int(chunk_id), bm25)

    def refresh(self) -> bool:
        return self._index.refresh()

    def close(self) -> None:
        self._index.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __len__(self) -> int:
        return self._index.document_count

    def __repr__(self):
        return f"Index({self.dir!r}, documents={self.document_count}, chunks={self.chunk_count})"

    dir = property(lambda self: self._index.dir)
    document_count = property(lambda self: self._index.document_count)
    chunk_count = property(lambda self: self._index.chunk_count)
    generation = property(lambda self: self._index.generation)
    has_dense = property(lambda self: self._index.has_dense)
    config = property(lambda self: self._index.config)
    source_paths = property(lambda self: self._index.source_paths)


# ---- Pipeline ---------------------------------------------------------------------------------


def _overrides(overrides: Optional[Mapping[str, Any]]) -> Dict[str, str]:
    out = {}
    for key, value in (overrides or {}).items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        out[str(key)] = str(value)
    return out


@_dataclass
class Answer:
    """What Pipeline.ask gives: the LLM's answer (None without an LLM), the numbered sources, the
    packed prompt, and the pipeline result it came from."""

    question: str
    answer: Optional[str]
    sources: List[Dict[str, Any]]
    system: str
    prompt: str
    prompt_tokens: int
    result: PipelineResult
    finish_reason: Optional[str] = None
    llm_model: str = ""  # the model the request named ("" = the server's default)
    answer_model: Optional[str] = None  # the model the server says answered
    n_dropped: int = 0
    hits: List[PipelineHit] = _field(default_factory=list)


class Pipeline:
    """A retrieval pipeline over an index directory, written as a spec string:

        Pipeline("idx", "bm25(k=100) > rerank(model=./ce, top_n=20) > cutoff(min_score=0.3)")

    search() runs one query (overrides such as {"rerank.top_n": 5} apply to it only); ask() also
    packs the kept chunks into a prompt and, with an OpenAI-compatible endpoint (llm_url or
    $WINNOW_LLM_URL), returns the LLM's answer.
    """

    def __init__(self, index: Union[str, Index], spec: str = "bm25(k=100)"):
        index_dir = index.dir if isinstance(index, Index) else str(index)
        self._pipeline = _winnow.Pipeline(index_dir, spec)

    @property
    def spec(self) -> str:
        return self._pipeline.spec

    def __repr__(self):
        return f"Pipeline({self.spec!r})"

    def search(self, query: str, overrides: Optional[Mapping[str, Any]] = None) -> PipelineResult:
        return self._pipeline.run(query, _overrides(overrides))

    def ask(self, question: str, overrides: Optional[Mapping[str, Any]] = None, llm_url: Optional[str] = None,
            llm_model: Optional[str] = None, timeout: float = 120.0, temperature: Optional[float] = None,
            max_tokens: Optional[int] = None) -> Answer:
        """Answers from the kept chunks. Without an LLM URL (llm_url or $WINNOW_LLM_URL) the
        answer is None and the packed prompt is returned for your own client. Without a model name
        (llm_model or $WINNOW_LLM_MODEL) the request carries none and the server picks its default;
        a warning says so."""
        out = self._pipeline.ask(question, _overrides(overrides), llm_url or "", llm_model or "", float(timeout),
                                 temperature, max_tokens)
        if out["llm_url"] and not out["llm_model"] and out["answer"] is not None:
            _warnings.warn("no LLM model name given (llm_model or $WINNOW_LLM_MODEL): the request named none, "
                           "so the server used its default", stacklevel=2)
        result = out["result"]
        return Answer(question=question, answer=out["answer"], sources=out["sources"], system=out["system"],
                      prompt=out["prompt"], prompt_tokens=out["prompt_tokens"], result=result,
                      finish_reason=out["finish_reason"], llm_model=out["llm_model"],
                      answer_model=out["answer_model"],
                      n_dropped=out["n_dropped"], hits=list(result.hits))

    def refresh(self) -> bool:
        return self._pipeline.refresh()


# ---- Evaluation -------------------------------------------------------------------------------


def _run_of(run) -> Dict[str, List[Tuple[str, float]]]:
    if isinstance(run, (str, _os.PathLike)):
        return read_run(str(run))
    out = {}
    for qid, entries in run.items():
        if isinstance(entries, Mapping):
            out[str(qid)] = [(str(d), float(s)) for d, s in entries.items()]
        else:
            out[str(qid)] = [(str(d), float(s)) for d, s in entries]
    return out


def _qrels_of(qrels) -> Dict[str, Dict[str, int]]:
    if isinstance(qrels, (str, _os.PathLike)):
        return read_qrels(str(qrels))
    return {str(q): {str(d): int(g) for d, g in judged.items()} for q, judged in qrels.items()}


def _pipeline_run(pipeline: Pipeline, queries: Mapping[str, str], overrides) -> Dict[str, List[Tuple[str, float]]]:
    # Document-level run: each document once, at the rank of its best kept chunk; the scores only
    # encode that order (trec_eval sorts by score).
    run = {}
    for qid, text in queries.items():
        seen = []
        for hit in pipeline.search(text, overrides).hits:
            if hit.doc_id not in seen:
                seen.append(hit.doc_id)
        run[str(qid)] = [(doc, float(len(seen) - i)) for i, doc in enumerate(seen)]
    return run


def evaluate(run, qrels, measures: Union[str, Sequence[str]] = "official", queries: Optional[Mapping[str, str]] = None,
             relevance_level: int = 1, complete: bool = False, per_query: bool = False,
             overrides: Optional[Mapping[str, Any]] = None):
    """trec_eval's measures (same numbers as trec_eval 9.0.8).

    run: {qid: {docno: score}} or {qid: [(docno, score), ...]}, a TREC run file, or a Pipeline
    (then `queries` = {qid: text} are run through it). qrels: {qid: {docno: grade}} or a TREC
    qrels file. measures: "official" or names such as ["ndcg_cut_10", "recall_100",
    "recip_rank_cut_10"] (trec_eval's names; also "P.5,10" groups).
    Returns {measure: mean}; with per_query, (means, {qid: {measure: value}}).
    "official" is trec_eval's default set (num_ret, num_rel, num_rel_ret, map, Rprec, recip_rank, P_5 ... P_1000).
    """
    if isinstance(run, Pipeline):
        if queries is None:
            raise InvalidArgumentError("evaluate(pipeline, ...) needs queries={qid: text}")
        run = _pipeline_run(run, queries, _overrides(overrides))
    elif queries is not None:
        raise InvalidArgumentError("queries= is only for evaluating a Pipeline")
    measure_list = measures if isinstance(measures, str) else ",".join(measures)
    means, by_query, _ = _winnow.evaluate_run(_run_of(run), _qrels_of(qrels), measure_list, int(relevance_level),
                                              bool(complete))
    return (means, by_query) if per_query else means
