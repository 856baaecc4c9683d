"""dropout_arithmetic's run (its settings: config.py; what it does: the package's docstring)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from nnx.errors import NnxError
from nnx.experiments.dropout_arithmetic import figures

TABLES = ("standard_train", "standard_test", "inverted_train", "inverted_test")


def as_matrix(value, name: str, shape: tuple | None = None) -> np.ndarray:
    try:
        matrix = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise NnxError(f"{name} must be rows of numbers of equal length, got {value!r}") from None
    if matrix.ndim != 2 or matrix.size == 0 or (shape is not None and matrix.shape != shape):
        want = f"shape {shape[0]}x{shape[1]}, like outputs" if shape else "a non-empty table (rows of numbers)"
        raise NnxError(f"{name} has shape {'x'.join(map(str, matrix.shape))}; it must be {want}")
    return matrix


def dropout_tables(x: np.ndarray, mask: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    keep = float(mask.mean())
    tables = {"standard_train": x * mask, "standard_test": x * keep, "inverted_train": x * mask / keep,
              "inverted_test": x.copy()}
    return keep, {name: table + 0.0 for name, table in tables.items()}  # + 0.0: a dropped -0.7 shows as 0, not -0


def torch_agrees_on_inverted(x: np.ndarray, keep: float) -> bool:
    """torch's F.dropout keeps each unit scaled by 1/keep: its output, read through its own mask, is our formula."""
    xt = torch.tensor(x)
    dropped = F.dropout(xt.expand(64, *x.shape), p=1 - keep, training=True)
    kept = (dropped != 0).double()
    return torch.allclose(dropped, xt * kept / keep)


def sampled_means(x: np.ndarray, keep: float, samples: int, generator: torch.Generator) -> list[dict]:
    """Mean training output over `samples` random masks (kept with probability `keep`), at doubling sample counts."""
    xt = torch.tensor(x)
    masks = torch.bernoulli(torch.full((samples, *x.shape), keep, dtype=torch.float64), generator=generator)
    standard, inverted = (xt * masks).cumsum(0), (xt * masks / keep).cumsum(0)
    counts = sorted({*(2 ** k for k in range(int(np.log2(samples)) + 1)), samples})
    return [{"samples": n,
             "standard_max_abs_error": float((standard[n - 1] / n - xt * keep).abs().max()),
             "inverted_max_abs_error": float((inverted[n - 1] / n - xt).abs().max())} for n in counts]


def key_mistakes(ours: dict[str, np.ndarray], key: dict, tolerance: float) -> list[dict]:
    unknown = sorted(set(key) - set(TABLES))
    if unknown:
        raise NnxError(f"answer_key.{unknown[0]} is not a table", fix=f"use: {', '.join(TABLES)}")
    rows = []
    for table, values in key.items():
        given = as_matrix(values, f"answer_key.{table}", ours[table].shape)
        for r, c in zip(*np.nonzero(np.abs(given - ours[table]) > tolerance)):
            rows.append({"table": table, "row": int(r) + 1, "column": int(c) + 1,
                         "key": float(given[r, c]), "right": round(float(ours[table][r, c]), 10)})
    return rows


def matrix_rows(matrix: np.ndarray) -> list[dict]:
    return [{"row": r + 1, **{f"c{c + 1}": round(float(v), 10) for c, v in enumerate(row)}}
            for r, row in enumerate(matrix)]


def run(cfg, run) -> None:
    x = as_matrix(cfg.outputs, "outputs")
    mask = as_matrix(cfg.mask, "mask", x.shape)
    if not np.isin(mask, (0, 1)).all() or not mask.any():
        raise NnxError("mask must hold only 0 (dropped) and 1 (kept), with at least one 1")
    if cfg.samples < 1:
        raise NnxError(f"samples={cfg.samples} must be at least 1")
    keep, ours = dropout_tables(x, mask)
    generator = torch.Generator().manual_seed(run.seed)
    convergence = sampled_means(x, keep, cfg.samples, generator)
    mistakes = key_mistakes(ours, dict(cfg.answer_key), cfg.tolerance)

    run.metrics_update({"keep_prob": keep, "drop_prob": 1 - keep,
                        "inverted_matches_torch": torch_agrees_on_inverted(x, keep),
                        "key_tables_checked": len(cfg.answer_key), "key_mistakes": len(mistakes),
                        **convergence[-1]})
    run.log.info("keep probability %.3g (%d of %d units kept); answer key: %d wrong entries", keep, int(mask.sum()),
                 mask.size, len(mistakes))
    for wrong in mistakes:
        run.log.info("  %s row %d column %d: the key says %g, it is %g", wrong["table"], wrong["row"], wrong["column"],
                     wrong["key"], wrong["right"])
    for name, matrix in ours.items():
        run.table(name, matrix_rows(matrix), title=name.replace("_", " "))
    run.table("key_mistakes", mistakes or [{"table": "none"}], title="answer key entries that are wrong")
    run.table("expectation", convergence, title="mean training output over random masks vs the test output")
    with run.figure("tables", figsize=(13, 6.5)) as fig:
        figures.tables_figure(fig, {"outputs": x, "mask": mask} | ours, mistakes)
    with run.figure("expectation", figsize=(6, 4)) as fig:
        figures.expectation_figure(fig, convergence)
