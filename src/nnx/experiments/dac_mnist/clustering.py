"""Clustering scores and KMeans helpers: ARI and NMI (scikit-learn) and the Hungarian-matched accuracy (scipy).

    labels = kmeans_labels(features, n_clusters=10, n_init=10, seed=0)
    labels = kmeans_labels(standardize(codes), 10)   # z-scored columns: no one axis dominates the distances
    scores = cluster_scores(y_true, labels)          # {"ari": ..., "nmi": ..., "acc": ...}
"""

from __future__ import annotations

import numpy as np

from nnx.errors import NnxError


def contingency(y_true: np.ndarray, y_cluster: np.ndarray) -> np.ndarray:
    """counts[c, k]: how many samples of cluster c carry true label k (rows and columns: the distinct values)."""
    _, clusters = np.unique(y_cluster, return_inverse=True)
    _, labels = np.unique(y_true, return_inverse=True)
    counts = np.zeros((clusters.max() + 1, labels.max() + 1), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    return counts


def hungarian_accuracy(y_true, y_cluster) -> float:
    """The accuracy of the best one-to-one matching of clusters to labels (Hungarian algorithm). With more clusters
    than labels (or fewer), the unmatched ones count as wrong."""
    from scipy.optimize import linear_sum_assignment

    y_true, y_cluster = np.asarray(y_true).ravel(), np.asarray(y_cluster).ravel()
    if len(y_true) != len(y_cluster) or len(y_true) == 0:
        raise ValueError(f"need equally many labels and cluster ids, got {len(y_true)} and {len(y_cluster)}")
    counts = contingency(y_true, y_cluster)
    rows, columns = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, columns].sum() / len(y_true))


def cluster_scores(y_true, y_cluster) -> dict[str, float]:
    """ari, nmi (scikit-learn) and acc (Hungarian) of one clustering against the true labels."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return {"ari": float(adjusted_rand_score(y_true, y_cluster)),
            "nmi": float(normalized_mutual_info_score(y_true, y_cluster)),
            "acc": hungarian_accuracy(y_true, y_cluster)}


def kmeans_labels(features: np.ndarray, n_clusters: int, n_init: int = 10, seed: int = 0) -> np.ndarray:
    """The best of `n_init` seeded k-means++ runs (lowest inertia): one cluster id per row of `features`."""
    from sklearn.cluster import KMeans

    if n_init < 1:
        raise NnxError(f"the number of KMeans initialisations must be >= 1, got {n_init}")
    if not 1 < n_clusters <= len(features):
        raise NnxError(f"cannot make {n_clusters} clusters of {len(features)} samples")
    features = np.asarray(features, dtype=np.float64)
    return KMeans(n_clusters, n_init=n_init, random_state=seed).fit_predict(features)


def standardize(features: np.ndarray) -> np.ndarray:
    """Each column shifted to mean 0 and scaled to standard deviation 1 (a constant column stays 0), so that KMeans'
    Euclidean distances weigh every feature alike rather than by the scale a network or PCA happened to give it."""
    features = np.asarray(features, dtype=np.float64)
    spread = features.std(0)
    return (features - features.mean(0)) / np.where(spread > 0, spread, 1.0)


def pca_features(train: np.ndarray, test: np.ndarray, n_components: int, seed: int = 0) -> np.ndarray:
    """`test` projected on the first `n_components` principal axes of `train`."""
    from sklearn.decomposition import PCA

    if not 0 < n_components <= min(train.shape):
        raise NnxError(f"PCA to {n_components} components needs 0 < n <= {min(train.shape)} here")
    return PCA(n_components, random_state=seed).fit(train).transform(test)
