"""The CIFAR study's models (model=cnn with every option, model=mobilenet_v2 adapted to small images) on CIFAR and
Fashion-MNIST shapes, and early stopping on a plateau of the training loss as the study configures it."""

import pytest
import torch
from torch import nn

from formats import write_cifar
from nnx.engine import fit
from nnx.engine.early_stopping import EarlyStopping
from nnx.errors import NnxError
from nnx.experiments.cifar_cnn_sweep import mobilenet
from nnx.registry import MODELS
from nnx.runner import load_experiment
from nnx.schemas import EarlyStoppingConfig

CIFAR, FASHION = (3, 32, 32), (1, 28, 28)
load_experiment("cifar_cnn_sweep")  # registers model=cnn and model=mobilenet_v2


@pytest.fixture(autouse=True)
def one_thread():
    """As the experiment runs on CPU: on a busy 2-core machine two threads wait on each other (10x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def build(input_shape, **options):
    return MODELS.build({"name": "cnn", **options}, input_shape=input_shape, num_classes=10)


def convs(model) -> list[nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


@pytest.mark.parametrize("input_shape", [CIFAR, FASHION], ids=["cifar", "fashion"])
@pytest.mark.parametrize("options, filters, kernels", [
    ({}, [7, 9], [3, 3]),
    ({"conv_layers": 3}, [7, 7, 9], [3, 3, 3]),
    ({"conv_layers": 4}, [7, 7, 7, 9], [3, 3, 3, 3]),
    ({"conv_layers": [16, 32]}, [16, 32], [3, 3]),
    ({"kernel_size": 5}, [7, 9], [5, 3]),
    ({"kernel_size": 7, "kernel_size2": 5}, [7, 9], [7, 5]),
    ({"conv_layers": 1, "kernel_size": 5}, [7], [5]),
    ({"activation": "tanh"}, [7, 9], [3, 3]),
    ({"activation": "leaky_relu"}, [7, 9], [3, 3]),
    ({"batchnorm_first": True, "dropout": 0.0, "pool": 3}, [7, 9], [3, 3]),
], ids=["base", "conv3", "conv4", "filters", "kernel5", "kernel7_5", "single_conv5", "tanh", "leaky", "bn_pool3"])
def test_every_option_gives_ten_logits(input_shape, options, filters, kernels):
    model = build(input_shape, **options)
    assert [c.out_channels for c in convs(model)] == filters
    assert [c.kernel_size[0] for c in convs(model)] == kernels
    assert convs(model)[0].in_channels == input_shape[0] and convs(model)[0].padding == (kernels[0] // 2,) * 2
    assert all(c.padding == (0, 0) for c in convs(model)[1:])  # Keras' "valid" after the first
    assert isinstance(model.norm, nn.BatchNorm2d if options.get("batchnorm_first") else nn.Identity)
    model.train()
    out = model(torch.randn(4, *input_shape))
    assert out.shape == (4, 10) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("input_shape, expected", [
    # conv1 (in*9*7 + 7) + conv2 (7*9*9 + 9) + linear over the pooled map (9 * side^2 * 10 + 10)
    (CIFAR, (3 * 9 * 7 + 7) + (7 * 9 * 9 + 9) + (9 * 15 * 15 * 10 + 10)),   # 32 -> 30 -> 15
    (FASHION, (1 * 9 * 7 + 7) + (7 * 9 * 9 + 9) + (9 * 13 * 13 * 10 + 10)),  # 28 -> 26 -> 13
])
def test_the_report_model_has_the_hand_counted_parameters(input_shape, expected):
    assert sum(p.numel() for p in build(input_shape).parameters()) == expected


def test_activation_and_dropout_are_the_reports():
    model = build(CIFAR, activation="leaky_relu")
    slopes = [m.negative_slope for m in model.modules() if isinstance(m, nn.LeakyReLU)]
    assert slopes == [0.3, 0.3]  # Keras' LeakyReLU default, after every conv
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.3]
    assert len(model.feature_blocks) == 2 and all(isinstance(b[1], nn.ReLU) for b in build(CIFAR).feature_blocks)


def test_the_combined_model_doubles_its_filters_after_every_pool_and_normalises_every_conv():
    model = build(CIFAR, conv_layers=4, filters=16, pool_every=2, batchnorm=True)
    assert [c.out_channels for c in convs(model)] == [16, 16, 32, 32]
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert [n.num_features for n in norms] == [16, 16, 32, 32]
    pools = [m for block in model.feature_blocks for m in block if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 1  # after conv 2; the last conv is followed by the model's own pool
    # 32 -> 32 -> 30 -> pool 15 -> 13 -> 11 -> pool 5: the head sees 32 x 5 x 5
    assert model.head[-1].in_features == 32 * 5 * 5
    assert build(CIFAR, conv_layers=[8, 8], pool_every=1).head[-1].in_features == 8 * 7 * 7  # 32 -> 16 -> 14 -> 7
    assert build(CIFAR, conv_layers=3, filters=8).head[-1].in_features == 8 * 14 * 14  # no pool_every: no doubling


@pytest.mark.parametrize("options, message", [
    ({"kernel_size": 4}, "must be odd"),
    ({"conv_layers": 0}, "at least 1"),
    ({"conv_layers": [7, -1]}, "positive filter count"),
    ({"conv_layers": "deep"}, "depth or a list"),
    ({"conv_layers": 15}, "leave nothing"),
    ({"dropout": 1.0}, "model.dropout"),
    ({"pool_every": -1}, "pool_every"),
    ({"conv_layers": 3, "filters": 0}, "model.filters"),
    ({"conv_layers": 6, "pool_every": 1}, "leave nothing"),
])
def test_bad_options_are_one_clear_error(options, message):
    with pytest.raises(NnxError, match=message):
        build(FASHION, **options)


@pytest.mark.parametrize("input_shape, stride, side", [(CIFAR, 8, 4), (FASHION, 16, 2)], ids=["cifar", "fashion"])
@torch.no_grad()
def test_mobilenet_is_adapted_to_small_images(input_shape, stride, side):
    model = MODELS.build({"name": "mobilenet_v2", "weights": None, "total_stride": stride}, input_shape=input_shape,
                         num_classes=10)
    model.eval()
    x = torch.randn(2, *input_shape)
    assert model(x).shape == (2, 10) and model.pretrained is False
    assert model.features(x).shape[-2:] == (side, side)  # torchvision's stride 32 would leave 1x1
    assert model.features[0][0].in_channels == input_shape[0]


def test_mobilenet_grey_stem_answers_a_grey_image_as_the_rgb_stem_its_colour_copy():
    rgb = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
    grey = mobilenet.grey_stem(rgb)
    image = torch.rand(1, 1, 12, 12)
    assert torch.allclose(grey(image), rgb(image.expand(1, 3, 12, 12)), atol=1e-5)


def test_mobilenet_rejects_unknown_settings():
    with pytest.raises(NnxError, match="total_stride"):
        MODELS.build({"name": "mobilenet_v2", "weights": None, "total_stride": 4}, input_shape=CIFAR, num_classes=10)
    with pytest.raises(NnxError, match="model.weights"):
        MODELS.build({"name": "mobilenet_v2", "weights": "cifar"}, input_shape=CIFAR, num_classes=10)


def test_keras_rule_stops_after_patience_epochs_without_a_lower_training_loss():
    stopper = EarlyStopping(EarlyStoppingConfig(monitor="train_loss", patience=3, mode="min"), {"train_loss"})
    losses = [2.0, 1.5, 1.4, 1.4, 1.41, 1.4, 1.3]
    stopped_at = None
    for epoch, loss in enumerate(losses, start=1):
        stopper.update({"epoch": epoch, "train_loss": loss})
        if stopper.should_stop:
            stopped_at = epoch
            break
    assert stopped_at == 6 and stopper.best_epoch == 3  # 1.4 at epoch 3, then three epochs no lower


def test_a_plateau_of_the_training_loss_stops_the_study_trainer(tmp_path, compose):
    from nnx.data import load
    from nnx.run import Run

    cfg = compose("experiment=cifar_cnn_sweep", "variant=base")
    assert cfg.trainer.early_stopping.monitor == "train_loss" and cfg.trainer.early_stopping.patience == 3
    write_cifar(tmp_path / "cifar", n_per_batch=4, n_test=4)
    bundle = load({"name": "cifar10", "root": str(tmp_path / "cifar"), "val_fraction": 0.0, "batch_size": 8})
    model = build(CIFAR)

    def flat_step(model, x, y):  # the same loss every batch: a plateau from the first epoch on
        return torch.tensor(1.0) + 0 * sum(p.sum() for p in model.parameters()), None

    run = Run(tmp_path / "run")
    trainer = {**cfg.trainer, "epochs": 20, "plots": False, "checkpoint": False}
    result = fit(model, bundle, trainer, cfg.optim, run, step=flat_step)
    run.close()
    assert result.stopped_early and result.last_epoch == 4 and result.best_epoch == 1
    assert (tmp_path / "run" / "history.csv").read_text().count("\n") == 5  # header + 4 epochs


def test_weights_start_as_keras_does_or_as_torch_does():
    keras, torch_default = build(CIFAR), build(CIFAR, init="torch")
    for layer in (m for m in keras.modules() if isinstance(m, (nn.Conv2d, nn.Linear))):
        fan_in = layer.weight[0].numel()
        fan_out = layer.weight.shape[0] * layer.weight[0, 0].numel()
        bound = (6 / (fan_in + fan_out)) ** 0.5
        assert layer.weight.abs().max() <= bound and layer.weight.abs().max() > 0.8 * bound
        assert (layer.bias == 0).all()
    assert all((m.bias != 0).any() for m in torch_default.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    with pytest.raises(NnxError, match="model.init"):
        build(CIFAR, init="he")
