"""dropout_arithmetic: the question's tables by formula and by torch, the expectation check, the key's mistakes."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from conftest import CONF, read_metrics
from nnx.errors import NnxError
from nnx.experiments.dropout_arithmetic import experiment as da

QUESTION = OmegaConf.load(CONF / "experiment" / "dropout_arithmetic.yaml")
X, MASK = np.array(QUESTION.outputs, dtype=float), np.array(QUESTION.mask, dtype=float)
WRONG_IN_THE_KEY = [("standard_test", 1, 4, 1.9, 0.95), ("inverted_train", 1, 1, 2.3, 3.2),
                    ("inverted_train", 3, 2, 7.4, 6.4), ("inverted_train", 3, 3, 6.4, 7.4),
                    ("inverted_train", 4, 1, 2.4, 2.6), ("inverted_train", 4, 4, 2.6, 2.4)]


def test_the_tables_follow_the_two_definitions():
    keep, tables = da.dropout_tables(X, MASK)
    assert keep == 0.5
    assert tables["standard_train"][2, 1] == 3.2 and tables["standard_train"][0, 1] == 0.0
    assert tables["standard_test"][0, 3] == pytest.approx(0.95)
    assert tables["inverted_train"][2, 1] == pytest.approx(6.4) and tables["inverted_train"][0, 0] == 3.2
    np.testing.assert_array_equal(tables["inverted_test"], X)
    assert not np.signbit(tables["standard_train"][MASK == 0]).any()  # a dropped unit reads 0, never -0


def test_torch_dropout_is_the_inverted_form():
    torch.manual_seed(0)
    assert da.torch_agrees_on_inverted(X, 0.5) and da.torch_agrees_on_inverted(X, 0.8)
    out = F.dropout(torch.tensor(X), p=0.5, training=True)
    np.testing.assert_allclose(out.numpy(), X * (out != 0).numpy() / 0.5)  # the formula of our inverted_train


def test_the_mean_training_output_approaches_the_test_output():
    rows = da.sampled_means(X, 0.5, 20_000, torch.Generator().manual_seed(0))
    assert rows[0]["samples"] == 1 and rows[-1]["samples"] == 20_000
    assert rows[-1]["inverted_max_abs_error"] < 0.1 < rows[0]["inverted_max_abs_error"]
    assert rows[-1]["standard_max_abs_error"] == pytest.approx(rows[-1]["inverted_max_abs_error"] / 2)


def test_every_wrong_key_entry_is_found_and_only_those():
    _, tables = da.dropout_tables(X, MASK)
    found = da.key_mistakes(tables, OmegaConf.to_container(QUESTION.answer_key), 0.005)
    assert [(m["table"], m["row"], m["column"], m["key"], pytest.approx(m["right"])) for m in found] == [
        (t, r, c, k, pytest.approx(v)) for t, r, c, k, v in WRONG_IN_THE_KEY]
    assert da.key_mistakes(tables, {name: table.tolist() for name, table in tables.items()}, 0.005) == []
    with pytest.raises(NnxError, match="answer_key.train is not a table"):
        da.key_mistakes(tables, {"train": X.tolist()}, 0.005)
    with pytest.raises(NnxError, match="shape 2x2"):
        da.key_mistakes(tables, {"standard_train": [[1, 2], [3, 4]]}, 0.005)


def test_smoke_run_writes_the_tables_and_counts_the_mistakes(cli):
    result = cli("run", "experiment=dropout_arithmetic", "smoke=true")
    assert result.returncode == 0, result.stderr[-2000:]
    (run_dir,) = cli.run_dirs("dropout_arithmetic")
    metrics = read_metrics(run_dir)
    assert metrics["keep_prob"] == 0.5 and metrics["key_mistakes"] == 6 and metrics["inverted_matches_torch"]
    assert metrics["samples"] == 1000 and metrics["standard_max_abs_error"] < 0.5
    assert {"tables.png", "expectation.png", "key_mistakes.md", "inverted_train.csv"} <= {
        p.name for p in run_dir.iterdir()}
    assert "| standard_test | 1 | 4 | 1.9 | 0.95 |" in (run_dir / "key_mistakes.md").read_text()


@pytest.mark.parametrize("override, message", [
    ("mask=[[1,0],[0,1]]", "mask has shape 2x2"),
    ("mask=[[1,0,0,2],[0,1,1,0],[0,1,1,0],[1,0,0,1]]", "only 0 (dropped) and 1 (kept)"),
    ("samples=0", "samples=0 must be at least 1"),
])
def test_bad_input_is_one_clear_message(cli, override, message):
    result = cli("run", "experiment=dropout_arithmetic", "smoke=true", override)
    assert result.returncode != 0 and message in result.stderr and "Traceback" not in result.stderr
