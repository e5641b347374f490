# Shared by the winnow Python tests: where the reference fixtures live, and the fixture models.
# Run through ctest (`python:<file>`, label unit), which puts <build>/python on PYTHONPATH and
# sets WINNOW_SHARED_DIR; by hand: PYTHONPATH=build/release/python /usr/bin/python3 -m pytest python/tests
import json
import os
import pathlib

import pytest

HERE = pathlib.Path(__file__).resolve().parent
SHARED = pathlib.Path(os.environ.get("WINNOW_SHARED_DIR", HERE.parents[2] / "shared"))
MODELS = SHARED / "fixtures" / "models"
SOURCE = pathlib.Path(os.environ.get("WINNOW_SOURCE_DIR", HERE.parents[1]))


def model_dir(name):
    path = MODELS / name
    assert path.is_dir(), f"fixture {path} is missing (set WINNOW_SHARED_DIR)"
    return str(path)


def reference(name, file):
    with open(os.path.join(model_dir(name), file), encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def bert_ce():
    import winnow
    return winnow.CrossEncoder(model_dir("bert-ce"))


@pytest.fixture(scope="session")
def mean_embedder():
    import winnow
    return winnow.SentenceTransformer(model_dir("bert-embed-mean"), precision="fp32")
