"""fashion_overfit: every variant composes; one smoke sweep of all ten on generated IDX files gives one summary row
each and writes the figures; the L1 term checked by hand; bad settings give one clear line."""

import csv
import shutil

import numpy as np
import pytest
import torch

from conftest import CONF, Cli, read_metrics, summary_rows
from formats import write_idx_set

EXP = "experiment=fashion_overfit"
VARIANTS = sorted(p.stem for p in (CONF / "experiment_groups" / "fashion_overfit" / "variant").glob("*.yaml"))
REMEDIES = {"augment": ("augment",), "l1": ("l1",), "l2": ("l2",), "dropout": ("dropout",),
            "l2_augment": ("l2", "augment"), "dropout_augment": ("dropout", "augment"),
            "l2_dropout": ("l2", "dropout"), "all": ("l2", "dropout", "augment"), "l1_l2": ("l1", "l2"),
            "dropout_maxnorm": ("dropout", "max_norm")}
BASE_REMEDIES = {"base": (), "base_l2": ("l2",)}  # on the assignment's first model
FIGURES = ("loss_gap", "predictions", "confusion_matrix", "weights")
SUMMARY = ("train_loss", "train_loss_clean", "test_loss", "min_test_loss", "gap", "gap_clean", "test_acc", "epochs",
           "train_s")


def test_the_variants_are_the_assignments():
    assert VARIANTS == sorted([*BASE_REMEDIES, "overfit", *REMEDIES])


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_variant_composes_and_validates(compose, variant):
    from nnx.experiments.fashion_overfit.config import FashionOverfitConfig
    from nnx.runner import validate

    assert compose(EXP, f"variant={variant}", hydra=True).hydra.runtime.choices.variant == variant
    cfg = compose(EXP, f"variant={variant}")
    validate(cfg, FashionOverfitConfig)
    assert cfg.data.name == "fashion_mnist" and cfg.model.name == "mlp"
    assert cfg.optim.name == "sgd" and cfg.optim.lr == 0.01 and cfg.data.batch_size == 64
    assert not cfg.trainer.restore_best and cfg.trainer.early_stopping.monitor == "train_loss"
    if variant in BASE_REMEDIES:
        assert list(cfg.model.hidden) == [128, 128] and cfg.data.limit_train is None and cfg.optim.momentum == 0
    else:
        assert list(cfg.model.hidden) == [1024, 512] and cfg.data.limit_train == 10000
    used = {**BASE_REMEDIES, **REMEDIES}.get(variant, ())
    assert (len(cfg.data.augment) >= 2) == ("augment" in used)
    assert (cfg.optim.weight_decay > 0) == ("l2" in used)
    assert (cfg.model.dropout > 0) == ("dropout" in used)
    assert (cfg.regularization.l1 > 0) == ("l1" in used)
    assert (cfg.regularization.max_norm > 0) == ("max_norm" in used)


@pytest.fixture(scope="module")
def smoke_sweep(tmp_path_factory):
    """`variant=glob(*)` with smoke=true on generated Fashion-MNIST-format IDX files: one process, ten jobs."""
    root = tmp_path_factory.mktemp("fashion")
    write_idx_set(root, n_train=60, n_test=40)
    cli = Cli(root / "outputs")
    result = cli("run", "-m", EXP, "variant=glob(*)", "smoke=true", f"data.root={root}", "device=cpu")
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = cli.sweep_dirs("fashion_overfit")
    return sweep


def test_sweep_gives_one_summary_row_per_variant(smoke_sweep):
    rows = summary_rows(smoke_sweep)
    assert sorted(row["variant"] for row in rows) == VARIANTS
    assert all(row["status"] == "ok" for row in rows)
    for row in rows:
        assert all(row[key] not in ("", None) for key in SUMMARY), row
        assert float(row["gap"]) == pytest.approx(float(row["test_loss"]) - float(row["train_loss"]))
        assert float(row["min_test_loss"]) <= float(row["test_loss"]) + 1e-5 and row["epochs"] == "2"
    assert all(variant in (smoke_sweep / "summary.md").read_text() for variant in VARIANTS)


def test_resuming_with_a_glob_over_variants_keeps_the_finished_jobs(smoke_sweep, tmp_path):
    sweep = shutil.copytree(smoke_sweep, tmp_path / "sweep")
    result = Cli(tmp_path / "outputs")("run", f"resume_sweep={sweep}", "variant=glob(l2*)")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("kept from the earlier sweep") == 3  # l2, l2_augment, l2_dropout: nothing re-ran
    assert sorted(row["variant"] for row in summary_rows(sweep)) == ["l2", "l2_augment", "l2_dropout"]
    assert len(list((sweep / "earlier").iterdir())) == len(VARIANTS) - 3  # the other variants, set aside


def test_each_job_logs_train_and_test_per_epoch_and_draws_its_figures(smoke_sweep):
    from omegaconf import OmegaConf

    jobs = sorted(p for p in smoke_sweep.iterdir() if (p / "metrics.json").is_file())
    assert len(jobs) == len(VARIANTS)
    for job in jobs:
        metrics, cfg = read_metrics(job), OmegaConf.load(job / "config.yaml")
        variant = OmegaConf.load(job / ".hydra" / "hydra.yaml").hydra.runtime.choices.variant
        with (job / "history.csv").open() as handle:
            history = list(csv.DictReader(handle))
        assert len(history) == 2 and all(row["train_loss"] and row["test_loss"] for row in history)
        assert not any(row["val_loss"] for row in history)  # no validation split: the test set is only logged
        assert float(history[-1]["test_loss"]) == pytest.approx(metrics["test_loss"], rel=1e-4)
        for figure in FIGURES:
            assert (job / f"{figure}.png").stat().st_size > 5000, (variant, figure)
        assert ("l1_penalty" in metrics) == (cfg.regularization.l1 > 0) == (variant in ("l1", "l1_l2"))
        assert 0 <= metrics["sparsity"] <= 1 and {"sparsity_layer1", "sparsity_layer3"} <= set(metrics)
    # every job's test loss per epoch on one plot: the sweep summary's test_loss.png
    assert (smoke_sweep / "test_loss.png").stat().st_size > 5000
    assert "![test_loss](test_loss.png)" in (smoke_sweep / "summary.md").read_text()


def test_the_l1_term_adds_exactly_l1_times_the_sum_of_absolute_weights():
    from nnx.engine import supervised_step
    from nnx.experiments.fashion_overfit.experiment import l1_penalized

    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1)).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, -2.0], [3.0, -4.0]]))
        model[2].weight.copy_(torch.tensor([[0.5, -0.5]]))
        model[0].bias.fill_(7.0)  # biases are not penalised
        model[2].bias.fill_(-7.0)
    x, y = torch.tensor([[0.1, 0.2]], dtype=torch.float64), torch.tensor([0])
    plain = supervised_step(torch.nn.MSELoss())
    step = l1_penalized(lambda m, x, y: plain(m, x, y.double()[:, None]), l1=0.1)
    model.train()
    penalized, _ = step(model, x, y)
    unpenalized, _ = plain(model, x, y.double()[:, None])
    assert penalized.item() - unpenalized.item() == pytest.approx(0.1 * (1 + 2 + 3 + 4 + 0.5 + 0.5), abs=1e-12)
    penalty_grad = torch.autograd.grad(penalized - unpenalized, model[0].weight)[0]
    assert torch.allclose(penalty_grad, 0.1 * torch.sign(model[0].weight))  # d/dw l1 * |w| = l1 * sign(w)
    model.eval()  # evaluation passes stay the plain loss
    assert step(model, x, y)[0].item() == pytest.approx(plain(model, x, y.double()[:, None])[0].item())


def test_sparsity_counts_small_weights_per_layer_and_max_norm_caps_every_unit():
    from nnx.experiments.fashion_overfit.experiment import max_norm_after_each_step, sparsity

    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[0.0, 1e-4, 1.0, 2.0]] * 3))
        model[2].weight.fill_(5.0)
    assert sparsity(model, 1e-3) == {"sparsity": 6 / 18, "sparsity_layer1": 0.5, "sparsity_layer2": 0.0}
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    max_norm_after_each_step(optimizer, model, 3.0)
    model(torch.randn(8, 4)).pow(2).sum().backward()
    optimizer.step()
    for w in (model[0].weight, model[2].weight):
        assert (w.norm(dim=1) <= 3.0 + 1e-5).all()
    assert float(model[2].weight.detach().norm(dim=1).max()) == pytest.approx(3.0, rel=1e-5)  # 7.07+ cut to 3


def test_the_prediction_grid_marks_the_wrong_ones():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nnx.experiments.fashion_overfit.figures import WRONG, prediction_grid

    fig = plt.figure()
    prediction_grid(fig, np.zeros((5, 1, 4, 4)), np.array([0, 1, 2, 3, 4]), np.array([0, 1, 9, 3, 5]),
                    [f"class{i}" for i in range(10)], columns=3)
    titles = [ax.title for ax in fig.axes if ax.get_title()]
    wrong = [t.get_text() for t in titles if t.get_color() == WRONG]
    assert wrong == ["✗ class9\ntrue: class2", "✗ class5\ntrue: class4"] and len(titles) == 5
    assert "2 of 5 wrong" in fig._suptitle.get_text()
    plt.close(fig)


def test_a_negative_l1_is_one_clear_error(cli):
    result = cli("run", EXP, "smoke=true", "regularization.l1=-1")
    assert result.returncode == 2
    assert "regularization.l1=-1" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("overrides, message", [
    (["trainer.restore_best=true", "data.val_fraction=0.1"], "compares the last epoch's model"),
    (["optim.weight_decay=-0.1"], "optim.weight_decay=-0.1"),
    (["grid_images=0"], "grid_images=0"),
])
def test_settings_that_make_no_sense_are_refused(compose, overrides, message):
    from nnx.engine import OptimizerRecipe
    from nnx.errors import NnxError
    from nnx.experiments.fashion_overfit.config import FashionOverfitConfig
    from nnx.experiments.fashion_overfit.experiment import check
    from nnx.runner import validate

    cfg = compose(EXP, "variant=l2", *overrides)
    with pytest.raises(NnxError, match=message.replace(".", r"\.")):
        validate(cfg, FashionOverfitConfig)  # each group's ranges, before anything runs
        OptimizerRecipe.from_config(cfg.optim)  # optim's, as the runner binds it to its torch.optim class
        check(cfg)  # the rule across groups


def test_early_stopping_may_watch_a_validation_split_but_never_the_test_set(cli, tmp_path):
    write_idx_set(tmp_path / "fashion", n_train=60, n_test=40)  # generated: the fast suite needs no real data
    result = cli("run", EXP, "smoke=true", "data.val_fraction=0.2", "trainer.early_stopping.monitor=val_loss",
                 "trainer.early_stopping.patience=1", f"data.root={tmp_path / 'fashion'}")
    assert result.returncode == 0, result.stderr
    result = cli("run", EXP, "smoke=true", "trainer.early_stopping.monitor=test_loss",
                 "trainer.early_stopping.patience=1", f"data.root={tmp_path / 'fashion'}")
    assert result.returncode == 2 and "the test split never chooses a model" in result.stderr
    assert "Traceback" not in result.stderr
