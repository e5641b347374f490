# CrossEncoder and SentenceTransformer reproduce the reference outputs that sentence-transformers
# computed for the fixture models (../shared/fixtures/models/*/expected_*.json).
import os
import threading

import numpy as np
import pytest

import winnow
from conftest import MODELS, model_dir, reference

CROSS_ENCODERS = ["bert-ce", "xlmr-ce", "modernbert-ce"]
EMBEDDERS = ["bert-embed-mean", "bert-embed-cls"]


def load_ce(name):
    ref = reference(name, "expected_scores.json")
    # fp32 as the reference ran (auto may pick bf16); max_length as the reference CrossEncoder had
    ce = winnow.CrossEncoder(model_dir(name), max_length=ref["max_length"], precision="fp32")
    return ce, ref, [tuple(p) for p in ref["pairs"]]


@pytest.mark.parametrize("name", CROSS_ENCODERS)
def test_predict_matches_sentence_transformers(name):
    ce, ref, pairs = load_ce(name)
    scores = ce.predict(pairs)
    assert isinstance(scores, np.ndarray) and scores.dtype == np.float32 and scores.shape == (len(pairs),)
    np.testing.assert_allclose(scores, ref["st_predict_default"], atol=1e-5)
    logits = ce.predict(pairs, activation_fct=lambda x: x)  # sentence-transformers' Identity activation
    np.testing.assert_allclose(logits, ref["st_predict_identity"], atol=1e-4)


@pytest.mark.parametrize("name", CROSS_ENCODERS)
def test_rank_matches_sentence_transformers(name):
    ce, ref, pairs = load_ce(name)
    query = pairs[0][0]
    docs = [d for _, d in pairs]  # all the documents, as the reference ranked them
    ranked = ce.rank(query, docs, top_k=5, return_documents=True)
    expected = ref["st_rank_top5"]
    assert [r["corpus_id"] for r in ranked] == [e["corpus_id"] for e in expected]
    np.testing.assert_allclose([r["score"] for r in ranked], [e["score"] for e in expected], atol=1e-5)
    assert all(r["text"] == docs[r["corpus_id"]] for r in ranked)
    assert len(ce.rank(query, docs)) == len(docs)


def test_predict_batches_and_single_pairs_agree():
    ce, ref, pairs = load_ce("bert-ce")
    together = ce.predict(pairs, batch_size=32)
    one_by_one = ce.predict(pairs, batch_size=1)
    np.testing.assert_allclose(one_by_one, together, atol=1e-5)
    single = ce.predict(list(pairs[3]))
    assert isinstance(single, float)
    assert single == pytest.approx(float(together[3]), abs=1e-5)
    assert ce.predict(pairs, convert_to_numpy=False) == pytest.approx(list(together), abs=1e-6)
    assert ce.predict([]).shape == (0,)


def test_predict_rejects_bad_input():
    ce, _, _ = load_ce("bert-ce")
    with pytest.raises(winnow.InvalidArgumentError) as err:
        ce.predict([("only a query",)])
    assert isinstance(err.value, ValueError) and err.value.code == "invalid_argument"
    with pytest.raises(winnow.InvalidArgumentError):
        ce.predict([("q", "d")], batch_size=0)
    with pytest.raises(winnow.UnsupportedError):
        ce.predict([("q", "d")], convert_to_tensor=True)


def test_max_length_and_precision_are_reported():
    ce = winnow.CrossEncoder(model_dir("bert-ce"), max_length=32, precision="fp32")
    assert ce.max_length == 32 and ce.precision == "fp32"
    with pytest.raises(winnow.InvalidArgumentError):
        winnow.CrossEncoder(model_dir("bert-ce"), precision="fp8")


@pytest.mark.parametrize("name", EMBEDDERS)
def test_encode_matches_sentence_transformers(name):
    ref = reference(name, "expected_embeddings.json")
    st = winnow.SentenceTransformer(model_dir(name), precision="fp32")
    assert st.max_seq_length == ref["max_seq_length"]
    vectors = st.encode(ref["texts"])
    expected = np.asarray(ref["embeddings"], dtype=np.float32)
    assert vectors.dtype == np.float32 and vectors.shape == expected.shape
    assert st.get_sentence_embedding_dimension() == expected.shape[1]
    cos = np.sum(vectors * expected, axis=1) / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(expected, axis=1))
    assert np.all(cos >= 0.99999), cos
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), np.linalg.norm(expected, axis=1), rtol=1e-4)


def test_encode_normalize_batch_and_single():
    ref = reference("bert-embed-cls", "expected_embeddings.json")  # CLS pooling, not normalized
    st = winnow.SentenceTransformer(model_dir("bert-embed-cls"), precision="fp32")
    raw = st.encode(ref["texts"], batch_size=32)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-3)
    unit = st.encode(ref["texts"], normalize_embeddings=True, batch_size=3)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(unit, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-5)
    one = st.encode(ref["texts"][5])
    assert one.shape == (raw.shape[1],)
    np.testing.assert_allclose(one, raw[5], atol=1e-5)
    assert st.encode([]).shape == (0, raw.shape[1])
    sims = st.similarity(unit[:2], unit)
    assert sims.shape == (2, len(ref["texts"]))
    assert sims[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_encode_truncate_dim(mean_embedder):
    full = mean_embedder.encode(["a sentence", "another one"])
    cut = mean_embedder.encode(["a sentence", "another one"], truncate_dim=8)
    assert cut.shape == (2, 8)
    # the model normalizes, so the truncated vectors are renormalized (Matryoshka)
    np.testing.assert_allclose(np.linalg.norm(cut, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(cut, full[:, :8] / np.linalg.norm(full[:, :8], axis=1, keepdims=True), atol=1e-5)
    with pytest.raises(winnow.InvalidArgumentError):
        mean_embedder.encode("x", truncate_dim=100000)
    with pytest.raises(winnow.InvalidArgumentError):
        mean_embedder.encode("x", prompt_name="passage")


def test_threads_share_one_model():
    # The model is shared by threads (the GIL is released while it works); each thread's scores
    # equal the single-threaded ones.
    ce, ref, pairs = load_ce("bert-ce")
    expected = ce.predict(pairs)
    results = [None] * 4

    def work(i):
        results[i] = ce.predict(pairs, batch_size=2)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-5)


def test_model_load_releases_the_gil(tmp_path):
    # The model folder's config.json is a FIFO: loading blocks in open() until this thread writes
    # it. Were the GIL held during the load, this thread could never run to write it.
    folder = tmp_path / "ce"
    folder.mkdir()
    source = MODELS / "bert-ce"
    for entry in source.iterdir():
        if entry.name != "config.json":
            os.symlink(entry, folder / entry.name)
    config = (source / "config.json").read_bytes()
    os.mkfifo(folder / "config.json")
    loaded = {}

    def load():
        try:
            loaded["model"] = winnow.CrossEncoder(str(folder), max_length=64, precision="fp32")
        except Exception as e:  # reported below
            loaded["error"] = e

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    while True:  # until the loader opens the FIFO (a non-blocking open fails with ENXIO before)
        try:
            fd = os.open(folder / "config.json", os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:
            assert worker.is_alive(), loaded
            worker.join(timeout=0.01)
    # Later reads of config.json (if any) get a plain file; the FIFO's reader still sees one copy.
    (folder / "config.tmp").write_bytes(config)
    os.replace(folder / "config.tmp", folder / "config.json")
    os.set_blocking(fd, True)
    os.write(fd, config)
    os.close(fd)
    worker.join(timeout=120)
    assert not worker.is_alive()
    assert "error" not in loaded, loaded.get("error")
    ce, ref, pairs = load_ce("bert-ce")
    np.testing.assert_allclose(loaded["model"].predict(pairs), ce.predict(pairs), atol=1e-6)
