"""kd_mnist's maths and pieces: the distillation loss (α = 0, T², a hand computation), the hint term, the teacher
checkpoint round trip (weights_only=True) and the checks on bad settings."""

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from nnx.errors import NnxError
from nnx.experiments.kd_mnist import experiment as kd_mnist
from nnx.experiments.kd_mnist.distillation import (
    CachedTeacherLogits,
    Distiller,
    distillation_step,
    hint_projection,
    kd_loss,
)
from nnx.registry import MODELS


def mlp(input_shape, num_classes, **model):
    """model=mlp through its schema (defaults and range checks), as a run builds it."""
    return MODELS.build({"name": "mlp", **model}, input_shape=input_shape, num_classes=num_classes)


@pytest.fixture
def logits():
    generator = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(6, 4, generator=generator), 3 * torch.randn(6, 4, generator=generator)
    return student, teacher, torch.tensor([0, 1, 2, 3, 0, 1])


def kl_by_hand(student, teacher, temperature):
    """mean over the batch of sum_k p_k (log p_k - log q_k), p = softmax(t/T), q = softmax(s/T)."""
    p, q = F.softmax(teacher / temperature, 1), F.softmax(student / temperature, 1)
    return (p * (p.log() - q.log())).sum(1).mean()


def test_alpha_zero_is_plain_cross_entropy(logits):
    student, teacher, y = logits
    for temperature in (1.0, 4.0, 20.0):
        assert torch.equal(kd_loss(student, teacher, y, temperature, alpha=0.0), F.cross_entropy(student, y))


@pytest.mark.parametrize("temperature", [1.0, 2.5, 8.0])
def test_soft_term_is_kl_at_temperature_times_t_squared(logits, temperature):
    student, teacher, y = logits
    soft_only = kd_loss(student, teacher, y, temperature, alpha=1.0)
    assert torch.allclose(soft_only, temperature**2 * kl_by_hand(student, teacher, temperature), atol=1e-6)
    mixed = kd_loss(student, teacher, y, temperature, alpha=0.3)
    assert torch.allclose(mixed, 0.3 * soft_only + 0.7 * F.cross_entropy(student, y), atol=1e-6)


def test_t_squared_keeps_the_soft_gradient_size_as_t_grows(logits):
    """Hinton et al.: the soft term's gradient shrinks as 1/T² for large T; times T² it tends to (s - t) / N."""
    student, teacher, y = logits
    centred_student, centred_teacher = student - student.mean(1, keepdim=True), teacher - teacher.mean(1, keepdim=True)
    student = centred_student.clone().requires_grad_(True)
    kd_loss(student, centred_teacher, y, temperature=1000.0, alpha=1.0).backward()
    limit = (centred_student - centred_teacher) / (len(y) * student.shape[1])
    assert torch.allclose(student.grad, limit, atol=1e-3)  # without T²: 1e6 times smaller


def test_tiny_example_by_hand():
    """One sample, two classes, T = 2: teacher logits (2 ln 3, 0) soften to (3/4, 1/4), the student's (0, 0) to
    (1/2, 1/2); KL = 3/4 ln(3/2) + 1/4 ln(1/2); CE with label 0 = ln 2; loss = α T² KL + (1 − α) CE."""
    student, teacher, y = torch.tensor([[0.0, 0.0]]), torch.tensor([[2 * math.log(3), 0.0]]), torch.tensor([0])
    kl = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    expected = 0.5 * 4 * kl + 0.5 * math.log(2)
    assert kd_loss(student, teacher, y, temperature=2.0, alpha=0.5).item() == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx(0.608198, abs=1e-6)


def test_hint_term_adds_weighted_mse_through_a_learned_projection():
    torch.manual_seed(0)
    teacher = mlp((1, 4, 4), 3, hidden=[12, 10], dropout=0.5)
    student = mlp((1, 4, 4), 3, hidden=[5])
    projection = hint_projection(student, teacher)
    assert (projection.in_features, projection.out_features) == (5, 10)
    distiller = Distiller(student, projection)
    x, y = torch.randn(8, 1, 4, 4), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    loss, logits = distillation_step(teacher, 3.0, 0.7, feature_weight=0.25)(distiller, x, y)

    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())  # frozen, no dropout
    teacher_features, teacher_logits = teacher[:-1](x), teacher(x)
    student_features = student[:-1](x)
    expected = (kd_loss(student(x), teacher_logits, y, 3.0, 0.7)
                + 0.25 * ((projection(student_features) - teacher_features) ** 2).mean())
    assert torch.allclose(loss, expected) and torch.equal(logits, student(x))
    loss.backward()
    assert projection.weight.grad.abs().sum() > 0 and student[1].weight.grad.abs().sum() > 0
    without_hint, _ = distillation_step(teacher, 3.0, 0.7)(Distiller(student), x, y)
    assert torch.allclose(without_hint, kd_loss(student(x), teacher_logits, y, 3.0, 0.7))
    assert distiller(x).equal(student(x))


def test_cached_teacher_logits_train_the_same_student_as_the_live_teacher(tmp_path):
    """Plain batches: the teacher's logits computed once give the same training as its forward pass per batch, and
    a batch of another split (here the validation one) falls back to the live teacher."""
    from nnx.data import load
    from nnx.engine import fit
    from nnx.run import Run

    histories = []
    for cached in (False, True):
        bundle = load({"name": "digits", "batch_size": 64, "val_fraction": 0.2}, seed=0)
        teacher, student = make_teacher(0), make_teacher(1)
        cache = CachedTeacherLogits(teacher, bundle) if cached else None
        step = distillation_step(teacher, 4.0, 0.9, cache=cache)
        result = fit(Distiller(student), bundle, {"epochs": 3, "progress": False, "plots": False},
                     {"name": "adam", "lr": 0.01}, Run(tmp_path / str(cached)), step=step)
        histories.append([row[key] for row in result.history for key in ("train_loss", "val_loss")])
    assert histories[1] == pytest.approx(histories[0], rel=1e-5)
    assert cache.logits.shape == (len(bundle.train), 10)
    assert cache.lookup() is None  # the last batch fit drew was a validation one
    bundle.augment = lambda x, generator: x
    assert not CachedTeacherLogits.usable(bundle)  # augmented batches change every epoch: no cache
    with pytest.raises(ValueError):
        CachedTeacherLogits(teacher, bundle)


def make_teacher(seed: int):
    torch.manual_seed(seed)
    return mlp((1, 8, 8), 10, hidden=[20, 20], dropout=0.3)


BUNDLE = SimpleNamespace(name="digits", classes=[str(i) for i in range(10)], input_shape=(1, 8, 8))
CFG = OmegaConf.create({"teacher": {"name": "mlp", "hidden": [20, 20], "activation": "relu", "dropout": 0.3}})


def test_teacher_checkpoint_round_trip_loads_with_weights_only(tmp_path, monkeypatch):
    kd_mnist.save_teacher(make_teacher(0), BUNDLE, CFG, tmp_path / "teacher.pt")
    seen = []
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    fresh = make_teacher(1)
    kd_mnist.load_teacher(fresh, BUNDLE, str(tmp_path), "cpu")  # a run folder: its teacher.pt
    assert seen == [True]
    for name, value in make_teacher(0).state_dict().items():
        assert torch.equal(fresh.state_dict()[name], value), name
    saved = real_load(tmp_path / "teacher.pt", weights_only=True)
    assert saved["data"] == "digits" and saved["input_shape"] == [1, 8, 8] and saved["teacher"]["hidden"] == [20, 20]


def test_a_bare_state_dict_loads_too(tmp_path):
    torch.save(make_teacher(2).state_dict(), tmp_path / "weights.pt")
    fresh = make_teacher(3)
    kd_mnist.load_teacher(fresh, BUNDLE, str(tmp_path / "weights.pt"), "cpu")
    assert torch.equal(fresh[1].weight, make_teacher(2)[1].weight)


@pytest.mark.parametrize("case, message", [
    ("missing", "no teacher checkpoint"),
    ("other data", "trained on digits, not mnist"),
    ("other architecture", r"teacher=.*does not fit this model: Missing key"),
])
def test_teacher_checkpoint_mismatches_are_clear(tmp_path, case, message):
    kd_mnist.save_teacher(make_teacher(0), BUNDLE, CFG, tmp_path / "teacher.pt")
    teacher, bundle, where = make_teacher(1), BUNDLE, str(tmp_path)
    if case == "missing":
        where = str(tmp_path / "nowhere")
    elif case == "other data":
        bundle = SimpleNamespace(**{**vars(BUNDLE), "name": "mnist"})
    else:
        teacher = mlp((1, 8, 8), 10, hidden=[30])
    with pytest.raises(NnxError, match=message):
        kd_mnist.load_teacher(teacher, bundle, where, "cpu")


@pytest.mark.parametrize("settings, message", [
    ({"alpha": 2.0}, "kd.alpha=2 must be in [0, 1]"),
    ({"alpha": -0.1}, "kd.alpha=-0.1"),
    ({"temperature": 0.0}, "kd.temperature=0 must be > 0"),
    ({"feature_weight": -1.0}, "kd.feature_weight=-1 must"),
    ({"teacher_epochs": 0}, "kd.teacher_epochs=0"),
])
def test_bad_settings_raise(settings, message):
    with pytest.raises(NnxError, match=message.replace("[", r"\[").replace("]", r"\]")):
        kd_mnist.KdSettings(**settings)
    kd_mnist.KdSettings()  # the defaults pass


def test_hint_term_needs_linear_last_layers():
    kd_mnist.check_hint_layers(make_teacher(0), mlp((1, 8, 8), 10, hidden=[4]))
    with pytest.raises(NnxError, match="student whose last layer is Linear"):
        kd_mnist.check_hint_layers(make_teacher(0), torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Identity()))


def test_input_dropout_drops_pixels_in_training_only():
    model = mlp((1, 8, 8), 10, hidden=[16], input_dropout=0.5)
    assert isinstance(model[1], torch.nn.Dropout) and model[1].p == 0.5
    x = torch.ones(4, 1, 8, 8)
    model.train()
    assert (model[:2](x) == 0).any()
    model.eval()
    assert torch.equal(model[:2](x), x.flatten(1))
    with pytest.raises(NnxError, match=r"model.input_dropout=1.0 must be in \[0, 1\)"):
        mlp((1, 8, 8), 10, input_dropout=1.0)


def test_the_hinton_variant_is_the_papers_mnist_setup(compose):
    cfg = compose("experiment=kd_mnist", "variant=hinton")
    assert (cfg.teacher.hidden, cfg.teacher.dropout, cfg.teacher.input_dropout) == ([1200, 1200], 0.5, 0.2)
    assert (cfg.student.hidden, cfg.student.dropout, cfg.kd.temperature) == ([800, 800], 0.0, 20.0)
    assert cfg.data.augment == [{"name": "affine", "degrees": 0, "translate": 0.0714}]  # 2 of 28 pixels
    assert cfg.reference["teacher/test_errors"] == 67 and cfg.reference["kd/test_errors"] == 74
    default = compose("experiment=kd_mnist", hydra=True)
    assert default.hydra.runtime.choices.variant == "assignment"
    assert default.student.hidden == [64, 64] and default.kd.temperature < 3
