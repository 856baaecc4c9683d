"""`mobilenet_v2`: torchvision's MobileNetV2 (ImageNet weights when available) adapted to small images.

    model = MODELS.build(cfg.model, input_shape=bundle.input_shape, num_classes=bundle.num_classes)

At 224x224 MobileNetV2 shrinks its input 32-fold to a 7x7 map; a 32x32 CIFAR image would end as one pixel. So
`total_stride` (8, 16 or 32) turns the first strided layers into stride 1: 16 keeps the stem conv at full
resolution, 8 also the first inverted-residual stage (the usual CIFAR adaptation: 32x32 ends as 4x4). A stride
changes no weight's shape, so the ImageNet weights still load. Grey images get a one-channel stem whose pretrained
kernels are the RGB kernels summed (the same response to a grey image as the RGB stem gives to its colour copy).
The classifier is a new Dropout + Linear to `num_classes`.

`weights: imagenet` loads torchvision's IMAGENET1K_V1 weights from the torch hub cache ($TORCH_HOME), downloading
them when a network allows; when neither works the model trains from scratch with a warning, and
`model.pretrained` (recorded as a metric) says which happened. `weights: null` always trains from scratch.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from nnx.errors import NnxError
from nnx.experiments.cifar_cnn_sweep.config import MobileNetConfig
from nnx.registry import MODELS

log = logging.getLogger("nnx")


def imagenet_state(name: str) -> dict | None:
    """The ImageNet state dict from the hub cache or a download; None when neither is possible."""
    from torchvision.models import MobileNet_V2_Weights

    try:
        return MobileNet_V2_Weights.IMAGENET1K_V1.get_state_dict(progress=False)
    except Exception as err:  # no network, a proxy, a bad file: all mean "not available here"
        log.warning("%s: ImageNet weights not available (%s); training from scratch. Put %s in %s to use them.",
                    name, str(err).splitlines()[0] if str(err) else type(err).__name__,
                    MobileNet_V2_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[1],
                    f"{torch.hub.get_dir()}/checkpoints")
        return None


def grey_stem(stem: nn.Conv2d) -> nn.Conv2d:
    """The RGB stem conv as a one-channel conv, its kernels summed over the colour channels."""
    conv = nn.Conv2d(1, stem.out_channels, stem.kernel_size, stem.stride, stem.padding, bias=False)
    with torch.no_grad():
        conv.weight.copy_(stem.weight.sum(1, keepdim=True))
    return conv


@MODELS.register("mobilenet_v2", schema=MobileNetConfig)
def mobilenet_v2(input_shape: tuple, num_classes: int, *, weights: str | None, total_stride: int, dropout: float,
                 width_mult: float) -> nn.Module:
    from torchvision.models import MobileNetV2

    if len(input_shape) != 3 or input_shape[0] not in (1, 3):
        raise NnxError(f"model=mobilenet_v2 needs grey or RGB images, got input shape {tuple(input_shape)}")
    model = MobileNetV2(width_mult=width_mult)
    state = imagenet_state("mobilenet_v2") if weights == "imagenet" and width_mult == 1.0 else None
    if weights == "imagenet" and width_mult != 1.0:
        log.warning("mobilenet_v2: ImageNet weights exist for width_mult=1.0 only; training from scratch")
    if state is not None:
        model.load_state_dict(state)
    stem = model.features[0][0]
    if total_stride <= 16:
        stem.stride = (1, 1)
    if total_stride <= 8:
        model.features[2].conv[1][0].stride = (1, 1)  # the depthwise conv of stage 2's first (strided) block
    if input_shape[0] == 1:
        model.features[0][0] = grey_stem(stem)
    model.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(model.last_channel, num_classes))
    model.pretrained = state is not None
    model.feature_blocks = [model.features[i] for i in (0, 1, 3, 6, 10, 13, 16, 17)]  # each stage's output
    return model
