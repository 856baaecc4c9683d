"""dac_mnist's run (its settings: config.py; what it does: the package's docstring)."""

from __future__ import annotations

import numpy as np
import torch

from nnx.engine import fit
from nnx.engine.cpu import flush_subnormals
from nnx.errors import NnxError
from nnx.experiments.dac_mnist import autoencoder, figures
from nnx.experiments.dac_mnist.clustering import cluster_scores, kmeans_labels, pca_features, standardize
from nnx.experiments.dac_mnist.config import DacSettings
from nnx.registry import MODELS

__all__ = ["autoencoder", "run"]   # importing this package registers model=autoencoder and the run

METHODS = {"kmeans_raw": "KMeans (raw pixels)", "pca_kmeans": "PCA + KMeans", "ae_kmeans": "AE + KMeans (unweighted)",
           "dac_kmeans": "DAC + KMeans"}
MAX_LEVELS = 4096  # distinct input values eq. (5) accepts (8-bit images have 256)


def pixel_weights(x: torch.Tensor, y: torch.Tensor, bandwidth: float = 1.0) -> torch.Tensor:
    """Paper eq. (5), per pixel i, over the ordered pairs p != q of the labelled samples:
    w_i = mean over same-label pairs of exp(-(x_ip - x_iq)^2) * mean over different-label pairs of
    (1 - exp(-(x_ip - x_iq)^2)): high where a class agrees with itself and differs from the others.
    `bandwidth` is the unit the differences are measured in, exp(-((x_ip - x_iq) / bandwidth)^2): 1 reads eq. (5)
    on pixels in [0, 1], 1/255 on the 8-bit grey levels 0..255 the images are stored as (see dac.bandwidth).

    Computed from grey-level counts instead of the m^2 pairs: with n[c, i, l] the samples of class c whose pixel i
    is at level l and K[l, l'] = exp(-(level_l - level_l')^2), the sum over the ordered same-class pairs is
    sum_c n[c, i] K n[c, i]^T minus the m pairs p = q (each exp(0) = 1). Exact; 0.4 s for m = 1000 MNIST images,
    where the m x m x 784 pair tensor takes 6 s in chunks."""
    if not bandwidth > 0:
        raise NnxError(f"dac.bandwidth={bandwidth}: eq. (5)'s Gaussian needs a positive width")
    x = x.flatten(1)
    levels, level_of = torch.unique(x, return_inverse=True)
    if len(levels) > MAX_LEVELS:
        raise NnxError(f"eq. (5) is computed on grey levels; these inputs take {len(levels)} distinct values",
                       fix="use 8-bit images (256 grey levels)")
    classes, class_of, class_sizes = torch.unique(y, return_inverse=True, return_counts=True)
    n_samples, n_pixels = x.shape
    n_same = int((class_sizes * (class_sizes - 1)).sum())
    n_different = n_samples * (n_samples - 1) - n_same
    if n_same == 0 or n_different == 0:
        raise NnxError(f"eq. (5) needs two samples of some class and two classes; got {n_samples} labelled samples",
                       fix="raise dac.n_labelled")
    counts = torch.zeros(len(classes), n_pixels, len(levels), dtype=torch.float64, device=x.device)
    pixel = torch.arange(n_pixels, device=x.device).expand_as(x)
    counts.index_put_((class_of[:, None].expand_as(x), pixel, level_of), torch.ones((), dtype=torch.float64),
                      accumulate=True)
    similarity = torch.exp(-((levels[:, None] - levels[None, :]).double() / bandwidth).square())

    def pair_sum(n: torch.Tensor) -> torch.Tensor:  # over ordered pairs p != q counted in n
        return ((n @ similarity) * n).sum(-1) - n.sum(-1)

    same = pair_sum(counts).sum(0)
    different = pair_sum(counts.sum(0)) - same
    return (same / n_same) * (1 - different / n_different)


def weighted_loss_step(weights: torch.Tensor, beta: float):
    """Eq. (4) + (6): sum over pixels of w_i (x_i - x̂_i)^2, averaged over the batch, + beta * ||W||^2."""
    def step(model, x, y):
        error = (model(x) - x.flatten(1)).square() @ weights
        l2 = sum(matrix.square().sum() for matrix in model.weight_matrices())
        return error.mean() + beta * l2, None

    return step


@torch.no_grad()
def encode_and_reconstruct(model, x: torch.Tensor, batch_size: int = 4096) -> tuple[np.ndarray, torch.Tensor]:
    model.eval()
    codes, reconstructions = [], []
    for part in x.split(batch_size):
        code = model.encode(part)
        codes.append(code)
        reconstructions.append(model.decoder(code))
    return torch.cat(codes).cpu().numpy(), torch.cat(reconstructions)


def check_data(cfg, bundle, settings: DacSettings) -> None:
    """What only the data can tell: the settings' own ranges are checked in DacSettings.__post_init__."""
    if settings.n_labelled < bundle.num_classes:
        raise NnxError(f"dac.n_labelled={settings.n_labelled} must be >= the {bundle.num_classes} classes")
    if cfg.data.get("normalize", "none") != "none" or bundle.mean is not None:
        raise NnxError(f"data.normalize={cfg.data.normalize}: the sigmoid decoder reconstructs pixels in [0, 1]",
                       fix="use data.normalize=none")
    if bundle.test is None or len(bundle.test) < bundle.num_classes:
        raise NnxError("dac_mnist clusters the test split, and it has fewer samples than classes")


def run(cfg, run) -> None:
    from nnx.data import load
    from nnx.data.bundle import limit

    settings = run.settings.dac
    bundle = load(cfg.data, device=run.device, seed=run.seed, run=run)
    check_data(cfg, bundle, settings)
    x_train, x_test = (bundle.prepare(split.x).flatten(1) for split in (bundle.train, bundle.test))
    y_train, y_test = bundle.train.y, bundle.test.y.cpu().numpy()
    k = bundle.num_classes

    # Eq. (5) from a seeded, stratified labelled sample, then w <- scale * (w + epsilon).
    labelled = torch.as_tensor(limit(y_train.cpu().numpy(), settings.n_labelled, run.seed))
    raw_weights = pixel_weights(x_train[labelled.to(x_train.device)], y_train[labelled.to(y_train.device)],
                                settings.bandwidth)
    weights = (settings.scale * (raw_weights + settings.epsilon)).float().to(x_train.device)
    run.metrics_update({"n_labelled": len(labelled), "raw_max": raw_weights.max(), "raw_mean": raw_weights.mean(),
                        "mean": weights.mean()}, prefix="pixel_weights/")

    # Baselines on the same test images.
    x_train_np, x_test_np = x_train.cpu().numpy(), x_test.cpu().numpy()

    def learned(features: np.ndarray) -> np.ndarray:  # PCA and both codes alike, so the comparison stays fair
        return standardize(features) if settings.standardize else features

    clusters = {"kmeans_raw": kmeans_labels(x_test_np, k, settings.n_init, run.seed),
                "pca_kmeans": kmeans_labels(learned(pca_features(x_train_np, x_test_np, settings.pca_components,
                                                                 run.seed)), k, settings.n_init, run.seed)}

    # The autoencoders: DAC's weights, and (ablation) a uniform weight with the same mean, so both losses have
    # the same size next to the L2 term and only where the weight falls differs.
    losses = {"dac": weights} | ({"ae": torch.full_like(weights, weights.mean().item())} if settings.ablation else {})
    histories, reconstructions, codes = {}, {}, {}
    data_rng = bundle.rng_state()
    for name, pixel_weight in losses.items():
        torch.manual_seed(run.seed)  # the same initial weights and the same batches for both autoencoders
        bundle.set_rng_state(data_rng)
        model = MODELS.build(cfg.model, input_shape=bundle.input_shape)
        with flush_subnormals(run.device):
            result = fit(model, bundle, run.settings.trainer, run.optimizer, run,
                         step=weighted_loss_step(pixel_weight, settings.beta), name=name)
        run.metrics_update(result.metrics(), prefix=f"{name}/")
        histories[name] = result.history
        if result.diverged:
            run.log.warning("%s: training diverged; its codes are not clustered", name)
            continue
        codes[name], reconstructions[name] = encode_and_reconstruct(model, x_test)
        run.metric(f"{name}/test_mse", (reconstructions[name] - x_test).square().mean())
        clusters[f"{name}_kmeans"] = kmeans_labels(learned(codes[name]), k, settings.n_init, run.seed)

    # Score, tabulate, draw.
    rows = []
    for method in METHODS:
        if method in clusters:
            scores = cluster_scores(y_test, clusters[method])
            run.metrics_update(scores, prefix=f"{method}/")
            rows.append({"method": method, **scores})
            run.log.info("%-11s ARI %.4f  NMI %.4f  ACC %.4f", method, scores["ari"], scores["nmi"], scores["acc"])
    run.table("clustering", rows, title=f"Clustering the {len(y_test)} test images of {bundle.name} into {k} clusters")

    image_shape = bundle.input_shape[1:] if len(bundle.input_shape) == 3 else bundle.input_shape
    with run.figure("pixel_importance", figsize=(4.2, 3.6)) as fig:
        figures.pixel_importance(fig, raw_weights.cpu().numpy().reshape(image_shape), len(labelled))
    with run.figure("reconstructions", figsize=(10, 1.1 * (1 + len(reconstructions)))) as fig:
        figures.reconstructions(fig, x_test.cpu().numpy(), y_test,
                                    {n: r.cpu().numpy() for n, r in reconstructions.items()}, image_shape)
    if "dac" in codes and codes["dac"].shape[1] >= 3:  # a smaller code has no 3-D view
        with run.figure("codes_3d", figsize=(6, 5.5)) as fig:
            figures.codes_scatter(fig, codes["dac"], y_test, bundle.classes, settings.scatter_points, run.seed)
    with run.figure("ari", figsize=(6.5, 3.6)) as fig:
        figures.ari_bars(fig, {METHODS[row["method"]]: row["ari"] for row in rows},
                             {METHODS[m]: cfg.reference.get(f"{m}/ari") for m in METHODS
                              if bundle.name == cfg.get("reference_data")}, bundle.name)  # MNIST's beside MNIST
    with run.figure("loss_curve", figsize=(5.5, 3.6)) as fig:
        figures.loss_curves(fig, histories)
