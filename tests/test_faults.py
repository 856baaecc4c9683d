"""Fault injection: bad input and unlucky folders each give one clear message and exit 2, and lose nothing."""

import pytest

from conftest import read_metrics
from formats import IDX_NAMES, write_idx, write_idx_set, write_image_folder

MADALINE = ("experiment=madaline_moons", "smoke=true")


def assert_clear(result, *phrases):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) <= 12, result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


def test_a_run_folder_holding_a_run_is_never_written_again(cli, tmp_path):
    folder = tmp_path / "R"
    assert cli("run", *MADALINE, f"hydra.run.dir={folder}").returncode == 0
    before = {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    result = cli("run", "experiment=adaline_iris", "smoke=true", f"hydra.run.dir={folder}")
    assert_clear(result, "already holds files of an earlier run", "trainer.resume=")
    assert {p.name: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_a_sweep_folder_holding_a_sweep_is_never_written_again(cli, tmp_path):
    folder = tmp_path / "D"
    assert cli("run", "-m", *MADALINE, "model.hidden=3,5", f"hydra.sweep.dir={folder}").returncode == 0
    first = read_metrics(folder / "0")
    result = cli("run", "-m", *MADALINE, "model.hidden=8", f"hydra.sweep.dir={folder}")
    assert_clear(result, "already holds files of an earlier sweep", f"resume_sweep={folder}")
    assert read_metrics(folder / "0") == first and not (folder / "2").exists()


@pytest.mark.parametrize("key", ["hydra.run.dir", "paths.output_dir"])
def test_an_output_folder_under_a_file_is_one_message(cli, tmp_path, key):
    (tmp_path / "file").write_text("x")
    result = cli("run", *MADALINE, f"{key}={tmp_path / 'file' / 'below'}")
    assert_clear(result, "cannot be written", str(tmp_path / "file"))


def test_idx_labels_beyond_the_classes_are_called_corrupt(cli, tmp_path):
    written = write_idx_set(tmp_path / "mnist", n_train=30, n_test=10)
    write_idx(tmp_path / "mnist" / (IDX_NAMES[3] + ".gz"), written["test_y"] + 5)
    result = cli("run", "experiment=kd_mnist", "smoke=true", f"data.root={tmp_path / 'mnist'}")
    assert_clear(result, "truncated or corrupt", "labels run from 5 to 14", "t10k-labels-idx1-ubyte")


def test_an_image_folder_of_one_class_is_refused_before_training(cli, tmp_path):
    write_image_folder(tmp_path / "pets", {"train": 3, "val": 2}, classes=("cat",))
    result = cli("run", "experiment=transfer_catsdogs", "smoke=true", f"data.root={tmp_path / 'pets'}")
    assert_clear(result, "one class folder (cat)", "two or more")


def test_an_empty_data_root_is_not_taken_for_the_default(cli):
    result = cli("run", "experiment=kd_mnist", "smoke=true", "data.root=")
    assert_clear(result, "data.root is empty")


def test_a_misspelt_key_lists_the_valid_ones(cli):
    result = cli("run", *MADALINE, "+model.hiden=3")
    assert_clear(result, "'hiden'", "valid keys: hidden, rule, max_flips, init_scale")


def test_report_names_a_missing_folder_and_reports_a_killed_run(cli, tmp_path):
    assert_clear(cli("report", str(tmp_path / "nowhere")), "no such folder")
    folder = tmp_path / "R"
    assert cli("run", "experiment=kd_mnist", "smoke=true", "data=digits", f"hydra.run.dir={folder}").returncode == 0
    (folder / "metrics.json").unlink()  # as a run killed with SIGKILL leaves it: history and checkpoints, no metrics
    (folder / "report.md").unlink()
    result = cli("report", str(folder))
    assert result.returncode == 0, result.stderr
    report = (folder / "report.md").read_text()
    assert report.startswith("# kd_mnist: killed") and "trainer.resume" in report and "teacher_history" in report


def test_an_interrupted_job_is_counted_as_interrupted_not_failed(cli, tmp_path):
    import json

    folder = tmp_path / "D"
    assert cli("run", "-m", *MADALINE, "model.hidden=3,5", f"hydra.sweep.dir={folder}").returncode == 0
    metrics = read_metrics(folder / "1") | {"status": "interrupted"}
    (folder / "1" / "metrics.json").write_text(json.dumps(metrics))
    assert cli("report", str(folder)).returncode == 0
    assert "(1 finished, 0 failed, 1 interrupted)" in (folder / "summary.md").read_text().splitlines()[0]


def test_an_optimizer_torch_refuses_is_refused_before_any_data_is_read(cli, tmp_path):
    result = cli("run", "experiment=kd_mnist", "smoke=true", "optim=nesterov", "optim.momentum=0",
                 f"data.root={tmp_path / 'absent'}")  # the data would be the first error if it were read first
    assert_clear(result, "optim.name=nesterov: Nesterov momentum requires a momentum", "optim.momentum=0.9")
