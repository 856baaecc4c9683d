"""Small tabular data sets held in memory as numpy arrays: scikit-learn's iris (embedded) and make_moons.

Both give a stratified train/test split seeded by the run's seed, with features standardized on the training split.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from nnx.errors import NnxError
from nnx.registry import DATASETS
from nnx.schemas import IRIS_FEATURES, DataConfig, IrisConfig, MoonsConfig


@dataclasses.dataclass
class TabularData:
    x_train: np.ndarray  # (n_train, n_features), standardized
    y_train: np.ndarray  # (n_train,) integer class labels
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: list[str]
    class_names: list[str]

    @property
    def x_all(self) -> np.ndarray:
        return np.concatenate([self.x_train, self.x_test])

    @property
    def y_all(self) -> np.ndarray:
        return np.concatenate([self.y_train, self.y_test])


def split_and_standardize(x, y, test_fraction: float, seed: int, feature_names, class_names) -> TabularData:
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    if not 0 < test_fraction < 1:
        raise NnxError(f"data.test_fraction={test_fraction} must lie strictly between 0 and 1")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, stratify=y, random_state=seed)
    scaler = StandardScaler().fit(x_train)  # statistics of the training split only: the test split stays unseen
    return TabularData(scaler.transform(x_train), y_train, scaler.transform(x_test), y_test,
                       list(feature_names), list(class_names))


@DATASETS.register("iris", schema=IrisConfig)
def iris(features: list[str], test_fraction: float, seed: int = 0) -> TabularData:
    """The 150 iris flowers (scikit-learn ships them, no download): 0 setosa, 1 versicolor, 2 virginica."""
    from sklearn.datasets import load_iris

    unknown = [name for name in features if name not in IRIS_FEATURES]
    if unknown or not features:
        raise NnxError(f"data.features={features}: unknown or empty", fix=f"choose from {IRIS_FEATURES}")
    bunch = load_iris()
    columns = [IRIS_FEATURES.index(name) for name in features]
    return split_and_standardize(bunch.data[:, columns], bunch.target, test_fraction, seed,
                                 features, bunch.target_names)


@DATASETS.register("moons", schema=MoonsConfig)
def moons(n_samples: int, noise: float, test_fraction: float, seed: int = 0) -> TabularData:
    """Two interleaving half circles (scikit-learn's make_moons), drawn with the run's seed."""
    from sklearn.datasets import make_moons

    if n_samples < 10 or noise < 0:
        raise NnxError(f"data.n_samples={n_samples}, data.noise={noise}: need n_samples >= 10 and noise >= 0")
    x, y = make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return split_and_standardize(x, y, test_fraction, seed, ["x1", "x2"], ["moon 0", "moon 1"])


def arrays_bundle(name: str, data, device: str, seed: int):
    """A DataBundle over in-memory features (`x_train`, `y_train`, `x_test`, `y_test`, `class_names`): tabular sets."""
    import torch

    from nnx.data.bundle import DataBundle, TensorSplit

    def split(x, y):
        return TensorSplit(torch.as_tensor(x, dtype=torch.float32, device=device),
                           torch.as_tensor(y, dtype=torch.int64, device=device))

    options = DataConfig(normalize="none")  # the tabular readers standardize already
    return DataBundle(split(data.x_train, data.y_train), None, split(data.x_test, data.y_test),
                      list(data.class_names), tuple(data.x_train.shape[1:]), device, seed, options, name)
