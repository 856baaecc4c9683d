"""dac_mnist's maths: eq. (5) against a double loop and hand values, the Hungarian accuracy, the weighted loss, the
autoencoder's shape, KMeans helpers."""

import itertools

import numpy as np
import pytest
import torch

from nnx.engine.cpu import flush_subnormals, torch_threads
from nnx.errors import NnxError
from nnx.experiments.dac_mnist.clustering import (
    cluster_scores,
    contingency,
    hungarian_accuracy,
    kmeans_labels,
    pca_features,
    standardize,
)
from nnx.experiments.dac_mnist.experiment import pixel_weights, weighted_loss_step
from nnx.registry import MODELS


def pixel_weights_loop(x: torch.Tensor, y: torch.Tensor, bandwidth: float = 1.0) -> torch.Tensor:
    """Eq. (5) literally: a double loop over the ordered pairs p != q, for every pixel."""
    weights = []
    for i in range(x.shape[1]):
        same, different = [], []
        for p, q in itertools.permutations(range(len(y)), 2):
            similarity = float(np.exp(-((float(x[p, i]) - float(x[q, i])) / bandwidth) ** 2))
            (same if y[p] == y[q] else different).append(similarity)
        weights.append(np.mean(same) * (1 - np.mean(different)))
    return torch.tensor(weights, dtype=torch.float64)


@pytest.mark.parametrize("levels", [5, 256])
def test_eq5_vectorized_equals_the_double_loop(levels):
    generator = torch.Generator().manual_seed(levels)
    x = torch.randint(0, levels, (14, 9), generator=generator).float() / (levels - 1)
    y = torch.tensor([0, 0, 0, 1, 1, 1, 1, 2, 2, 0, 1, 2, 3, 3])
    assert torch.allclose(pixel_weights(x, y), pixel_weights_loop(x, y), atol=1e-12)
    shuffled = torch.randperm(len(y), generator=generator)
    assert torch.allclose(pixel_weights(x[shuffled], y[shuffled]), pixel_weights(x, y), atol=1e-12)


def test_eq5_bandwidth_measures_differences_in_grey_levels():
    generator = torch.Generator().manual_seed(7)
    x = torch.randint(0, 256, (12, 6), generator=generator).float() / 255
    y = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 1, 2])
    grey = pixel_weights(x, y, bandwidth=1 / 255)
    assert torch.allclose(grey, pixel_weights_loop(x, y, bandwidth=1 / 255), atol=1e-12)
    assert torch.allclose(grey, pixel_weights(x * 255, y), atol=1e-12)  # the same as eq. (5) on levels 0..255
    assert not torch.allclose(grey, pixel_weights(x, y), atol=1e-3)
    with pytest.raises(NnxError, match="dac.bandwidth"):
        pixel_weights(x, y, bandwidth=0)


def test_eq5_hand_values_a_constant_pixel_is_worthless_a_label_pixel_is_not():
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    constant = torch.full((6,), 0.3)
    indicator = (y == 0).float()      # on for class 0 only: classes 1 and 2 agree with each other
    per_class = y.float() / 2         # 0, 0.5, 1: every class is alike within, different without
    w = pixel_weights(torch.stack([constant, indicator, per_class], 1), y)
    assert w[0] == 0  # same-label similarity 1, different-label dissimilarity 0
    # indicator: same-label pairs all match (1); of the 24 ordered different-label pairs, 16 differ by 1, 8 by 0
    assert w[1].item() == pytest.approx(16 / 24 * (1 - np.exp(-1)))
    # per_class: 16 different-label pairs differ by 0.5 (classes 0-1 and 1-2, both orders) and 8 by 1 (0-2)
    assert w[2].item() == pytest.approx((16 * (1 - np.exp(-0.25)) + 8 * (1 - np.exp(-1))) / 24)


def test_eq5_needs_two_classes_and_a_pair():
    with pytest.raises(NnxError, match="dac.n_labelled"):
        pixel_weights(torch.rand(4, 3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(NnxError, match="dac.n_labelled"):
        pixel_weights(torch.rand(3, 3), torch.tensor([0, 1, 2]))


def test_hungarian_accuracy_is_one_for_a_permuted_perfect_clustering():
    labels = np.repeat(np.arange(5), 4)
    permutation = np.array([3, 0, 4, 1, 2])
    assert hungarian_accuracy(labels, permutation[labels] + 10) == 1.0  # any cluster ids


def test_hungarian_accuracy_hand_example():
    labels = np.array([0, 0, 0, 1, 1, 2])
    clusters = np.array([1, 1, 0, 0, 0, 2])
    # cluster 1 -> label 0 (2 right), cluster 0 -> label 1 (2 right), cluster 2 -> label 2 (1 right): 5 of 6.
    # Greedy "majority label per cluster" would give cluster 0 label 1 too, but it cannot match two clusters to one.
    assert contingency(labels, clusters).tolist() == [[1, 2, 0], [2, 0, 0], [0, 0, 1]]
    assert hungarian_accuracy(labels, clusters) == pytest.approx(5 / 6)
    assert hungarian_accuracy(labels, np.zeros(6)) == pytest.approx(3 / 6)  # one cluster matches one label


def test_hungarian_accuracy_equals_the_best_permutation():
    rng = np.random.default_rng(0)
    labels, clusters = rng.integers(0, 4, 60), rng.integers(0, 4, 60)
    best = max(np.mean(np.array(perm)[clusters] == labels) for perm in itertools.permutations(range(4)))
    assert hungarian_accuracy(labels, clusters) == pytest.approx(best)


def test_cluster_scores_and_kmeans_on_separated_blobs():
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 10, (4, 5))
    labels = np.repeat(np.arange(4), 25)
    features = centres[labels] + rng.normal(0, 0.1, (100, 5))
    found = kmeans_labels(features, 4, n_init=3, seed=0)
    assert cluster_scores(labels, found) == {"ari": 1.0, "nmi": 1.0, "acc": 1.0}
    assert (kmeans_labels(features, 4, n_init=3, seed=0) == found).all()
    projected = pca_features(features[:60], features, 2)
    assert projected.shape == (100, 2)
    with pytest.raises(NnxError):
        kmeans_labels(features[:3], 4)


def test_standardize_z_scores_columns_and_lets_a_small_axis_decide():
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1], 100)
    # column 0 carries the two clusters (0 vs 1, tight); column 1 is wide noise that swamps Euclidean distances
    features = np.stack([labels + rng.normal(0, 0.05, 200), rng.normal(0, 50, 200), np.full(200, 7.0)], 1)
    z = standardize(features)
    assert np.allclose(z.mean(0), 0) and np.allclose(z.std(0), [1, 1, 0]) and (z[:, 2] == 0).all()
    assert cluster_scores(labels, kmeans_labels(features, 2, n_init=3, seed=0))["ari"] < 0.1
    assert cluster_scores(labels, kmeans_labels(z, 2, n_init=3, seed=0))["ari"] == 1.0


def test_autoencoder_matches_the_paper_layout():
    model = MODELS.build({"name": "autoencoder"}, input_shape=(1, 28, 28))
    linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [
        (784, 512), (512, 128), (128, 32), (32, 10), (10, 32), (32, 128), (128, 512), (512, 784)]
    assert isinstance(model.encoder[-1], torch.nn.Linear)   # a linear code
    assert isinstance(model.decoder[-1], torch.nn.Sigmoid)  # pixels in [0, 1]
    x = torch.rand(3, 1, 28, 28)
    assert model.encode(x).shape == (3, 10) and model(x).shape == (3, 784)
    with pytest.raises(NnxError, match="model.activation"):
        MODELS.build({"name": "autoencoder", "activation": "swish"}, input_shape=(64,))


def test_weighted_loss_is_eq4_plus_the_l2_term():
    torch.manual_seed(0)
    model = MODELS.build({"name": "autoencoder", "hidden": [6], "code": 2}, input_shape=(5,))
    x, weights = torch.rand(4, 5), torch.tensor([0.0, 1.0, 2.0, 0.5, 0.0])
    loss, logits = weighted_loss_step(weights, beta=0.0)(model, x, None)
    error = (model(x) - x) ** 2
    assert logits is None
    assert loss.item() == pytest.approx(sum((error[n] * weights).sum().item() for n in range(4)) / 4)
    with_l2, _ = weighted_loss_step(weights, beta=0.5)(model, x, None)
    l2 = sum((m.weight ** 2).sum().item() for m in model.modules() if isinstance(m, torch.nn.Linear))
    assert with_l2.item() == pytest.approx(loss.item() + 0.5 * l2)


def test_subnormals_are_flushed_and_threads_set_only_for_the_block():
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush subnormals (torch.set_flush_denormal needs x86 SSE3)")
    threads, subnormal = torch.get_num_threads(), torch.tensor([1e-40])
    assert (subnormal * 1.5).item() != 0  # subnormals are kept by default...
    with torch_threads("cpu", 1), flush_subnormals("cpu"):
        assert torch.get_num_threads() == 1
        assert (subnormal * 1.5).item() == 0  # ...and flushed to zero while an autoencoder trains
    assert torch.get_num_threads() == threads and (subnormal * 1.5).item() != 0
    with flush_subnormals("cuda"):
        assert (subnormal * 1.5).item() != 0  # nothing changes for another device
