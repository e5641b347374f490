# winnow.Index and winnow.Pipeline over a small index built from Python: counts, BM25 and dense
# search, the rerank stage's scores against CrossEncoder, overrides, and ask with and without an LLM.
import http.server
import json
import threading

import numpy as np
import pytest

import winnow
from conftest import model_dir

DOCS = [
    {"id": "bm25", "title": "BM25", "text": "BM25 ranks documents by term frequency and inverse document frequency."},
    {"id": "rerank", "title": "Reranking", "text": "A cross-encoder reranks the candidates of the first stage."},
    {"id": "travel", "title": "Travel policy", "text": "Book flights through the travel desk two weeks ahead."},
    {"id": "expenses", "title": "Expenses", "text": "Expenses over 500 euros need a manager's written approval.",
     "metadata": {"team": "finance"}, "source_path": "finance/expenses.md"},
    ("holidays", "Employees get twenty-five days of paid holiday a year.", "Holidays"),
]


@pytest.fixture()
def index(tmp_path):
    idx = winnow.Index.create(str(tmp_path / "idx"))
    summary = idx.add(DOCS)
    assert summary["added"] == len(DOCS) and summary["chunks"] == len(DOCS)
    return idx


def test_add_counts_unchanged_replaced_and_removed(index):
    assert len(index) == 5 and index.chunk_count == 5
    again = index.add(DOCS)
    assert again["unchanged"] == 5 and again["added"] == 0
    changed = index.add([{"id": "travel", "title": "Travel policy", "text": "Trains are preferred to flights."}])
    assert changed["replaced"] == 1
    assert index.remove(["travel", "no-such-doc"]) == 1
    assert len(index) == 4
    assert all(h.doc_id != "travel" for h in index.search("flights", k=10))


def test_bm25_search_and_reopen(index, tmp_path):
    hits = index.search("term frequency ranking", k=3)
    assert hits[0].doc_id == "bm25" and hits[0].rank == 1
    assert hits[0].score > 0 and "BM25" in hits[0].text
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert "frequenc" in index.explain("term frequency", hits[0].chunk_id)  # per-term BM25 contributions
    index.close()
    with winnow.Index.open(str(tmp_path / "idx")) as reopened:
        assert reopened.document_count == 5
        assert reopened.search("manager approval", k=1)[0].doc_id == "expenses"
        assert reopened.config["analyzer"] == "english"


def test_paragraph_chunker(tmp_path):
    idx = winnow.Index.create(str(tmp_path / "chunks"))
    text = "\n\n".join(f"Paragraph {i} talks about topic{i} at some length." for i in range(6))
    summary = idx.add([{"id": "long", "title": "Long", "text": text}], chunker="paragraph(max_chars=60)")
    assert summary["chunks"] > 1 and idx.chunk_count == summary["chunks"]
    assert idx.search("topic4", k=1)[0].doc_id == "long"
    with pytest.raises(winnow.InvalidArgumentError):
        idx.add([{"id": "x", "text": "y"}], chunker="no_such_chunker")
    assert "structured" in winnow.chunker_names()


def test_dense_search_scores_are_cosines_of_encode(tmp_path, mean_embedder):
    idx = winnow.Index.create(str(tmp_path / "dense"), dense="Flat", embedder=mean_embedder)
    idx.add(DOCS)
    assert idx.has_dense and idx.config["dense_dimension"] == mean_embedder.get_sentence_embedding_dimension()
    query = "who approves expenses?"
    hits = idx.search(query, k=5, first_stage="dense")
    assert len(hits) == 5
    q = mean_embedder.encode_query(query)
    docs = mean_embedder.encode_document([h.text for h in hits])
    np.testing.assert_allclose([h.score for h in hits], docs @ q, atol=1e-4)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    hybrid = idx.search(query, k=3, first_stage="hybrid")
    assert len(hybrid) == 3


def test_pipeline_rerank_scores_are_the_cross_encoders(index, bert_ce):
    pipe = winnow.Pipeline(index, f"bm25(k=10) > rerank(model={model_dir('bert-ce')}, top_n=3)")
    result = pipe.search("who approves expenses over 500 euros?")
    assert len(result.hits) <= 3 and result.n_candidates >= len(result.hits)
    assert result.n_reranked == result.n_candidates
    every = list(result.hits) + list(result.cut)
    raw = bert_ce.predict([(result.query, h.text) for h in every], activation_fct=lambda x: x)
    np.testing.assert_allclose([h.rerank_raw for h in every], raw, atol=1e-4)
    scores = [h.rerank_score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert [h.final_rank for h in result.hits] == list(range(1, len(result.hits) + 1))
    assert all(h.decision == "kept" for h in result.hits)
    assert all(h.decision == "cut_top_n" and h.final_rank == 0 for h in result.cut)
    assert "rerank" in result.timings
    one = pipe.search("who approves expenses over 500 euros?", overrides={"rerank.top_n": 1})
    assert len(one.hits) == 1 and one.hits[0].doc_id == result.hits[0].doc_id


def test_pipeline_errors_name_the_problem(index, tmp_path):
    with pytest.raises(winnow.InvalidArgumentError) as err:
        winnow.Pipeline(index, "bm25(k=10) > rerank(top_n=")
    assert err.value.code == "invalid_argument" and err.value.exit_code == 2
    with pytest.raises(winnow.NotFoundError) as err:
        winnow.Pipeline(str(tmp_path / "nothing-here"), "bm25(k=10)")
    assert err.value.code == "not_found" and isinstance(err.value, FileNotFoundError)
    with pytest.raises(winnow.InvalidArgumentError):
        winnow.Pipeline(index, "bm25(k=10)").search("q", overrides={"no_such_key": 1})
    assert winnow.parse_pipeline("bm25(k=5)>cutoff(top_n=2)") == "bm25(k=5) > cutoff(top_n=2)"


def test_ask_without_llm_returns_the_packed_prompt(index, monkeypatch):
    monkeypatch.delenv("WINNOW_LLM_URL", raising=False)
    pipe = winnow.Pipeline(index, "bm25(k=5) > cutoff(top_n=2)")
    answer = pipe.ask("expenses approval or travel flights?")
    assert answer.answer is None
    assert len(answer.sources) == len(answer.hits) == 2
    assert answer.sources[0]["n"] == 1 and answer.sources[0]["doc_id"] == answer.hits[0].doc_id
    assert "[1]" in answer.prompt and "[2]" in answer.prompt and "expenses approval or travel flights?" in answer.prompt
    assert answer.prompt_tokens > 0


class _ChatHandler(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _ChatHandler.requests.append(body)
        reply = {"model": body.get("model", "server-default"),
                 "choices": [{"message": {"role": "assistant", "content": "A manager approves them [1]."},
                              "finish_reason": "stop"}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture()
def chat_server():
    _ChatHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ChatHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    thread.join(timeout=30)


def test_ask_with_llm(index, chat_server, monkeypatch):
    # The mock server answers from a Python thread: ask() must release the GIL while it waits.
    monkeypatch.delenv("WINNOW_LLM_MODEL", raising=False)
    pipe = winnow.Pipeline(index, "bm25(k=5) > cutoff(top_n=2)")
    answer = pipe.ask("who approves expenses?", llm_url=chat_server, llm_model="tiny", timeout=60)
    assert answer.answer == "A manager approves them [1]." and answer.finish_reason == "stop"
    sent = _ChatHandler.requests[-1]
    assert sent["model"] == "tiny"
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert sent["messages"][1]["content"] == answer.prompt
    with pytest.warns(UserWarning, match="no LLM model name"):
        unnamed = pipe.ask("who approves expenses?", llm_url=chat_server, timeout=60)
    assert "model" not in _ChatHandler.requests[-1] and unnamed.answer is not None
