"""dac_mnist's settings and its own models', torch-free: Hydra's ConfigStore holds them, and
its experiment YAML and model YAMLs extend them."""

from __future__ import annotations

import dataclasses

from nnx.errors import NnxError
from nnx.schemas import TrainerConfig, check_activation


@dataclasses.dataclass
class AutoencoderConfig:
    """The DAC paper's fully connected autoencoder: input -> hidden -> code (linear), mirrored decoder."""
    hidden: list[int] = dataclasses.field(default_factory=lambda: [512, 128, 32])  # encoder widths; decoder mirrors
    code: int = 10             # the code's size; the code layer is linear (what KMeans clusters)
    activation: str = "relu"   # after every hidden layer of encoder and decoder

    def __post_init__(self):
        if self.code <= 0 or any(width <= 0 for width in self.hidden):
            raise NnxError(f"model.hidden={list(self.hidden)} and model.code={self.code} must be positive widths")
        check_activation(self.activation)


@dataclasses.dataclass
class DacSettings:
    n_labelled: int = 1000     # labelled training samples the pixel weights (eq. 5) are computed from
    bandwidth: float = 1 / 255 # eq. (5)'s similarity exp(-((x_p - x_q) / bandwidth)^2); 1/255: on 8-bit grey levels
    epsilon: float = 0.01      # added to every weight: border pixels (w = 0) are still reconstructed
    scale: float = 10.0        # multiplies the weights: w <- scale * (w + epsilon)
    beta: float = 1e-5         # L2 penalty on the weight matrices (eq. 6)
    n_init: int = 10           # KMeans initialisations per clustering (the lowest inertia wins)
    standardize: bool = True   # z-score each learned feature (PCA axes, code units) before KMeans; not raw pixels
    pca_components: int = 10
    ablation: bool = True      # also train the autoencoder on the unweighted loss (ae_kmeans)
    scatter_points: int = 3000 # test codes drawn in the 3-D scatter

    def __post_init__(self) -> None:
        for key, ok, rule in (("scale", self.scale > 0, "> 0"), ("epsilon", self.epsilon >= 0, ">= 0"),
                              ("bandwidth", self.bandwidth > 0, "> 0"), ("n_init", self.n_init >= 1, ">= 1"),
                              ("n_labelled", self.n_labelled >= 1, ">= 1")):
            if not ok:
                raise NnxError(f"dac.{key}={getattr(self, key):g} must be {rule}")


@dataclasses.dataclass
class DacConfig:
    trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)
    dac: DacSettings = dataclasses.field(default_factory=DacSettings)


SCHEMA = DacConfig
MODEL_SCHEMAS = {"autoencoder": AutoencoderConfig}  # its own models' (conf/model/)
