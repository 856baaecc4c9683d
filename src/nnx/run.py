"""The run handle an experiment writes through: metrics, figures, tables, histories, named by stem (`run.dir` is
there for the few files an experiment writes itself, e.g. a teacher checkpoint)."""

from __future__ import annotations

import csv
import logging
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

from nnx.report.markdown import markdown_table


def plain(value: Any) -> Any:
    """numpy/torch scalars -> Python numbers, so metrics.json stays plain JSON."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf
    return value


class History:
    """A per-epoch CSV: the header comes from the first row; every row is flushed at once, then handed to
    `on_row` (the run's TensorBoard / MLflow loggers, when any are on)."""

    def __init__(self, path: Path, on_row: Callable[[dict], None] | None = None):
        self.path = path
        self.rows: list[dict] = []
        self.on_row = on_row
        self._file = None
        self._writer = None

    def log(self, **row: Any) -> None:
        row = {key: plain(value) for key, value in row.items()}
        if self._writer is None:
            self._file = self.path.open("w", newline="")
            self._writer = csv.DictWriter(self._file, fieldnames=list(row), extrasaction="ignore")
            self._writer.writeheader()
        self._writer.writerow(row)
        self._file.flush()
        self.rows.append(row)
        if self.on_row is not None:
            self.on_row(row)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class Run:
    def __init__(self, run_dir: Path, device: str = "cpu", seed: int = 0, log: logging.Logger | None = None):
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.device = device
        self.seed = seed
        self.log = log or logging.getLogger("nnx")
        self.metrics: dict[str, Any] = {}
        self.status = "ok"
        self.loggers = None  # nnx.loggers.Loggers, set by the runner when logger= chooses any
        self.settings: Any = None  # the experiment's typed settings (its schema's dataclass), set by the runner
        self.optimizer = None  # the `optim:` group as an nnx.engine.optim.OptimizerRecipe, set by the runner
        self.choices: dict[str, str] = {}  # the config groups' chosen options (e.g. variant: base), set by the runner
        self._histories: dict[str, History] = {}

    def metric(self, key: str, value: Any) -> None:
        self.metrics[key] = plain(value)

    def metrics_update(self, values: dict[str, Any], prefix: str = "") -> None:
        for key, value in values.items():
            self.metric(f"{prefix}{key}", value)

    @contextmanager
    def figure(self, name: str, **figure_kw):
        """`with run.figure("loss") as fig:` draw on `fig`; it is saved as loss.png and closed."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig = plt.figure(**figure_kw)
        try:
            yield fig
            fig.savefig(self.dir / f"{name}.png", dpi=110, bbox_inches="tight")
        finally:
            plt.close(fig)

    def table(self, name: str, rows: list[dict], title: str | None = None) -> None:
        """Write `<name>.csv` and `<name>.md` from a list of dicts (columns: every row's keys, in first-seen order)."""
        rows = [{key: plain(value) for key, value in row.items()} for row in rows]
        columns = list(dict.fromkeys(key for row in rows for key in row))
        with (self.dir / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(rows)
        text = (f"### {title}\n\n" if title else "") + markdown_table(rows, columns) + "\n"
        (self.dir / f"{name}.md").write_text(text)

    def history(self, name: str = "history") -> History:
        if name not in self._histories:
            on_row = None if self.loggers is None else lambda row: self.loggers.log_row(name, row)
            self._histories[name] = History(self.dir / f"{name}.csv", on_row)
        return self._histories[name]

    def close(self) -> None:
        for history in self._histories.values():
            history.close()
