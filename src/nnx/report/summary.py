"""summary.csv / summary.md (and a comparison plot) for a sweep folder, from each job's files on disk."""

from __future__ import annotations

import csv
import io
import math
import statistics
from pathlib import Path

from nnx.errors import NnxError
from nnx.fileio import atomic_path, write_text_atomic
from nnx.overrides import parse_override, sweep_grid
from nnx.report.markdown import markdown_table
from nnx.report.run_report import (
    BOOKKEEPING,
    STOPPED,
    incomparable,
    read_config,
    read_metrics,
    read_overrides,
    read_sweep_overrides,
)

HIDDEN_IN_MARKDOWN = ("experiment", "device", "git_commit")  # in summary.md only when they vary between jobs


def job_dirs(sweep_dir: Path) -> list[Path]:
    jobs = [p for p in Path(sweep_dir).iterdir() if p.is_dir() and (p / ".hydra").is_dir()]
    return sorted(jobs, key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0, p.name))


def collect(sweep_dir: Path) -> tuple[list[dict], list[str], dict]:
    """One row per job (job, overrides..., status, duration_s, metrics...), the override keys, a job config."""
    rows, override_keys, config = [], [], {}
    for job in job_dirs(sweep_dir):
        overrides = dict(parse_override(o) for o in read_overrides(job))
        override_keys += [key for key in overrides if key not in override_keys]
        try:
            metrics = read_metrics(job)
        except NnxError as err:  # a job killed before it wrote anything, or a damaged metrics.json
            metrics = {"status": "missing", "error": str(err).splitlines()[0]}
        config = config or read_config(job)
        rows.append({"job": job.name, **overrides, **metrics})
    return rows, override_keys, config


def planned_jobs(sweep_dir: Path) -> int | None:
    """How many jobs the sweep's command asked for (the grid of multirun.yaml's task overrides); None if unknown."""
    from hydra.errors import HydraException

    try:
        task = read_sweep_overrides(sweep_dir)
        return len(sweep_grid(task)) if task else None
    except (HydraException, NnxError):  # no grid (a sweep function only Hydra expands) or a damaged file
        return None


def varying(rows: list[dict], keys: list[str]) -> list[str]:
    return [key for key in keys if len({str(row.get(key)) for row in rows}) > 1]


def metric_columns(rows: list[dict], skip: list[str]) -> list[str]:
    columns = []
    for row in rows:
        columns += [k for k in row if k not in columns and k not in skip and k not in BOOKKEEPING]
    return columns


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def seed_means(rows: list[dict], override_keys: list[str], metrics: list[str]) -> list[dict]:
    """Mean and sample std (n - 1) over seeds of each group of jobs that differ only in `seed`; a non-finite value
    (a diverged job's loss) is left out, and `<metric> n` then says how many seeds a mean holds."""
    group_keys = [key for key in override_keys if key != "seed"]
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        if row.get("status") in ("ok", "diverged"):
            groups.setdefault(tuple(str(row.get(k)) for k in group_keys), []).append(row)
    out = []
    for key, members in groups.items():
        line = dict(zip(group_keys, key)) | {"n_seeds": len(members)}
        for metric in metrics:
            values = [m[metric] for m in members if is_number(m.get(metric)) and math.isfinite(m[metric])]
            if values:
                line[f"{metric} mean"] = statistics.fmean(values)
                line[f"{metric} std"] = statistics.stdev(values) if len(values) > 1 else 0.0
                if len(values) < len(members):
                    line[f"{metric} n"] = len(values)
        out.append(line)
    return out


def collapse_groups(rows: list[dict], metrics: list[str]) -> tuple[list[dict], list[str]]:
    """When each job reports its own metric group (`mcp_single/...` in one job, `mcp_two_layer/...` in the next;
    `momentum/lr_0.04/...` in one trial of a search), show one `group` column and the metric names without their
    prefix, instead of a sparse table. Groups every job reports (e.g. `init/...`) stay as they are."""
    groups = [{m.rpartition("/")[0] for m in metrics if m in row} for row in rows]
    reported = [g for g in groups if g]
    shared = set.intersection(*reported) | {""} if reported else {""}
    own = [g - shared for g in groups]
    if not rows or any(len(g) > 1 for g in own) or len(set().union(*own)) < 2:
        return rows, metrics
    out, short = [], []
    for row, group in zip(rows, own):
        group = next(iter(group), None)
        mine = [m for m in metrics if m in row and m.rpartition("/")[0] == group]
        kept = {k: v for k, v in row.items() if k not in mine}
        named = {m.rpartition("/")[2]: row[m] for m in mine}
        short += [m for m in named if m not in short]
        out.append(kept | {"group": group} | named)
    return out, [*(m for m in metrics if m.rpartition("/")[0] in shared), "group", *short]


def plot_comparison(sweep_dir: Path, rows: list[dict], key: str, metrics: list[str]) -> Path | None:
    ok_rows = [row for row in rows if row.get("status") in ("ok", "diverged")]
    metrics = [m for m in metrics if any(is_number(row.get(m)) for row in ok_rows)]
    if not ok_rows or not metrics:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [str(row.get(key)) for row in ok_rows]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        values = [row[metric] if is_number(row.get(metric)) else math.nan for row in ok_rows]  # none: no bar, not 0
        bars = ax.bar(range(len(labels)), values, color="tab:blue", tick_label=labels)
        ax.bar_label(bars, labels=["" if math.isnan(v) else f"{v:.3g}" for v in values], fontsize=8)
        ax.set_title(metric)
        ax.set_xlabel(key)
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    out = Path(sweep_dir) / "comparison.png"
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return out


def job_label(row: dict, keys: list[str]) -> str:
    return ", ".join(f"{key}={row.get(key)}" for key in keys) or f"job {row['job']}"


def history_column(path: Path, column: str) -> tuple[list[int], list[float]]:
    """(epochs, values) of one history.csv column; empty and non-finite values are left out."""
    epochs, values = [], []
    with path.open() as handle:
        for row in csv.DictReader(handle):
            try:
                value = float(row.get(column) or "nan")
            except ValueError:
                continue
            if math.isfinite(value):
                epochs.append(int(row["epoch"]))
                values.append(value)
    return epochs, values


def plot_histories(sweep_dir: Path, rows: list[dict], keys: list[str], column: str = "val_loss") -> Path | None:
    """Every job's `column` from its history.csv (jobs that train per epoch) on one plot: `<column>.png`."""
    curves = {}
    for row in rows:
        path = Path(sweep_dir) / row["job"] / "history.csv"
        points = history_column(path, column) if path.is_file() else ([], [])
        if points[1]:
            curves[job_label(row, keys)] = points
    if not curves:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(9, 5))
    palette = plt.get_cmap("tab20" if len(curves) > 10 else "tab10")
    for index, (label, (epochs, values)) in enumerate(curves.items()):
        ax.plot(epochs, values, "-o", markersize=2, linewidth=1.2, color=palette(index % palette.N), label=label)
    ax.set(xlabel="epoch", ylabel=column, title=f"{column} of every job")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    out = Path(sweep_dir) / f"{column}.png"
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out


def reference_lines(sweep_dir: Path, rows: list[dict], keys: list[str], reference: dict) -> list[str]:
    """The reference numbers: one table, or one row per job when the jobs' configs hold different ones."""
    per_job = {row["job"]: read_config(Path(sweep_dir) / row["job"]).get("reference") or {} for row in rows}
    if len({repr(ref) for ref in per_job.values()}) <= 1:
        reference_rows = [{"metric": key, "reference": value} for key, value in reference.items()]
        return ["## Reference numbers", "", markdown_table(reference_rows), ""] if reference else []
    columns = ["job", *keys, *dict.fromkeys(key for ref in per_job.values() for key in ref)]
    table = [{"job": row["job"], **{k: row.get(k) for k in keys}, **per_job[row["job"]]}
             for row in rows if per_job[row["job"]]]
    return ["## Reference numbers (each job's own)", "", markdown_table(table, columns), ""]


def pivot_lines(rows: list[dict], keys: list[str], metrics: list[str]) -> list[str]:
    """`summary_pivot: [metric, ...]` in an experiment's config: one row per metric, one column per finished job
    (headed by the values of the overrides that vary), as the reference reports lay out their tables."""
    done = [row for row in rows if row.get("status") in ("ok", "diverged")]
    if not metrics or not done:
        return []
    heads = [" / ".join(str(row.get(key)) for key in keys) or f"job {row['job']}" for row in done]
    table = [{"metric": metric, **{head: row.get(metric) for head, row in zip(heads, done)}} for metric in metrics]
    return [f"## By job ({' / '.join(keys) or 'job'})", "", markdown_table(table, ["metric", *heads]), ""]


def write_summary(sweep_dir: Path) -> Path:
    sweep_dir = Path(sweep_dir)
    rows, override_keys, config = collect(sweep_dir)
    metrics = metric_columns(rows, ["job", *override_keys])
    columns = ["job", *override_keys, "status", "duration_s", *metrics, "error"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(sweep_dir / "summary.csv", buffer.getvalue())
    name = config.get("name", sweep_dir.parent.parent.name)
    failed = [row for row in rows if row.get("status") not in ("ok", "diverged")]
    stopped = [row for row in failed if row.get("status") in STOPPED]  # did not fail: were stopped
    not_run = max(0, (planned_jobs(sweep_dir) or 0) - len(rows))  # killed before they started
    counts = f"{len(rows) - len(failed)} finished, {len(failed) - len(stopped)} failed" + "".join(
        f", {n} {status}" for status in STOPPED
        if (n := sum(row.get("status") == status for row in stopped))) + (f", {not_run} not run" if not_run else "")
    lines = [f"# {name}: sweep of {len(rows) + not_run} jobs ({counts})", ""]
    shown_rows, shown_metrics = collapse_groups(rows, metrics)
    shown = ["job", *override_keys, "status", "duration_s", *shown_metrics] + (["error"] if failed else [])
    shown = [c for c in shown if c not in HIDDEN_IN_MARKDOWN or varying(rows, [c])]
    lines += [markdown_table(shown_rows, shown), ""]
    if "seed" in varying(rows, override_keys) and len(override_keys) >= 1:
        lines += ["## Mean over seeds", "", markdown_table(seed_means(rows, override_keys, metrics)), ""]
    changing = varying(rows, override_keys)
    references = reference_lines(sweep_dir, rows, changing, config.get("reference") or {})
    lines += references + ([f"_{incomparable(config)}._", ""] if references and incomparable(config) else [])
    primary = config.get("primary_metric")
    chosen = [m for m in shown_metrics if primary and (m == primary or m.endswith("/" + primary))]
    if len(changing) == 1 and plot_comparison(sweep_dir, shown_rows, changing[0], chosen or shown_metrics[-1:]):
        lines += ["## Comparison", "", "![comparison](comparison.png)", ""]
    else:
        (sweep_dir / "comparison.png").unlink(missing_ok=True)  # drawn by an earlier, partial summary
    for column, title in (("val_loss", "Validation loss"), ("test_loss", "Test loss")):  # the first one logged
        if plot_histories(sweep_dir, rows, changing, column):
            lines += [f"## {title} of every job", "", f"![{column}]({column}.png)", ""]
            break
    lines += pivot_lines(rows, changing, config.get("summary_pivot") or [])
    out = sweep_dir / "summary.md"
    write_text_atomic(out, "\n".join(lines).rstrip() + "\n")
    return out
