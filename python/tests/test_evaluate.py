# winnow.evaluate: trec_eval's measures on hand-computed runs, TREC files, and a Pipeline.
import math

import pytest

import winnow

QRELS = {"q1": {"b": 1, "d": 2}, "q2": {"a": 1}}
RUN = {"q1": {"a": 3.0, "b": 2.0, "c": 1.0, "d": 0.5}, "q2": [("a", 1.0), ("x", 0.5)]}


def test_hand_computed_measures():
    means, per_query = winnow.evaluate(RUN, QRELS, ["recip_rank", "P_1", "ndcg_cut_10", "num_rel_ret"],
                                       per_query=True)
    assert per_query["q1"]["recip_rank"] == pytest.approx(0.5)
    assert per_query["q2"]["recip_rank"] == pytest.approx(1.0)
    assert means["recip_rank"] == pytest.approx(0.75)
    assert means["P_1"] == pytest.approx(0.5)
    dcg = 1 / math.log2(3) + 2 / math.log2(5)
    ideal = 2 / math.log2(2) + 1 / math.log2(3)
    assert per_query["q1"]["ndcg_cut_10"] == pytest.approx(dcg / ideal, abs=1e-6)
    assert means["num_rel_ret"] == 3  # a sum, not a mean


def test_files_round_trip(tmp_path):
    run_path = tmp_path / "run.trec"
    winnow.write_run({q: list(e.items()) if isinstance(e, dict) else e for q, e in RUN.items()}, str(run_path))
    qrels_path = tmp_path / "qrels.trec"
    qrels_path.write_text("".join(f"{q} 0 {d} {g}\n" for q, judged in QRELS.items() for d, g in judged.items()))
    assert winnow.read_qrels(str(qrels_path)) == QRELS
    assert winnow.evaluate(run_path, qrels_path, "official") == winnow.evaluate(RUN, QRELS, "official")
    assert {"map", "P_5", "P_10", "recip_rank", "Rprec", "num_rel_ret"} <= set(winnow.evaluate(RUN, QRELS))


def test_bad_measure_and_missing_file(tmp_path):
    with pytest.raises(winnow.InvalidArgumentError) as err:
        winnow.evaluate(RUN, QRELS, "ndcg_at_everything")
    assert err.value.code == "invalid_argument"
    with pytest.raises(winnow.NotFoundError):
        winnow.evaluate(RUN, str(tmp_path / "missing.qrels"))


def test_evaluate_a_pipeline(tmp_path):
    idx = winnow.Index.create(str(tmp_path / "idx"))
    idx.add([
        {"id": "d1", "title": "BM25", "text": "BM25 ranks documents by term frequency."},
        {"id": "d2", "title": "Travel", "text": "Book flights through the travel desk."},
        {"id": "d3", "title": "Expenses", "text": "Expenses need a manager's approval."},
    ])
    pipe = winnow.Pipeline(idx, "bm25(k=10)")
    queries = {"q1": "term frequency", "q2": "travel flights", "q3": "manager approval"}
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d1": 1}}
    means = winnow.evaluate(pipe, qrels, ["recip_rank", "P_1"], queries=queries)
    assert means["P_1"] == pytest.approx(2 / 3)  # q3's relevant document does not match at all
    assert means["recip_rank"] == pytest.approx(2 / 3)
    with pytest.raises(winnow.InvalidArgumentError):
        winnow.evaluate(pipe, qrels)
