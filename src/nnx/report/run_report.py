"""report.md for one run folder, rebuilt from what is on disk: metrics.json, the composed config, PNGs, tables."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from omegaconf import OmegaConf

from nnx.errors import NnxError
from nnx.report.markdown import fmt, markdown_table

BOOKKEEPING = ("experiment", "status", "error", "duration_s", "device", "seed", "git_commit", "data")
STOPPED = ("interrupted", "killed")  # statuses of a run stopped from outside (Ctrl-C; killed: read_metrics says so)


def read_metrics(run_dir: Path) -> dict:
    path = run_dir / "metrics.json"
    if not path.is_file() and is_killed_run(run_dir):  # killed before its end (SIGKILL, power): what it left
        return {"status": "killed", "error": "the run ended without writing metrics.json; its history and "
                                             "checkpoints are as it left them (continue with trainer.resume)"}
    if not path.is_file():
        raise NnxError(f"{run_dir} has no metrics.json", fix="pass a run folder written by `nnx run`")
    try:
        metrics = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise NnxError(f"{path} is not valid JSON ({err})") from None
    if not isinstance(metrics, dict):
        raise NnxError(f"{path} holds {json.dumps(metrics)[:40]}, not the JSON object `nnx run` writes")
    return metrics


def is_killed_run(run_dir: Path) -> bool:
    """A run folder Hydra started (its .hydra/config.yaml) that wrote no metrics.json."""
    return (run_dir / ".hydra" / "config.yaml").is_file() and not (run_dir / "metrics.json").is_file()


def read_yaml(path: Path, kind: type):
    """A YAML file written by Hydra, as a plain dict or list (NnxError when it is damaged)."""
    try:
        loaded = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    except Exception as err:  # yaml's parser and scanner errors, OmegaConf's
        raise NnxError(f"{path} is not readable YAML: {str(err).splitlines()[0]}") from None
    if not loaded:  # an empty file
        return kind()
    if not isinstance(loaded, kind):
        raise NnxError(f"{path} holds a YAML {type(loaded).__name__}, not the {kind.__name__} Hydra writes")
    return loaded


def read_config(run_dir: Path) -> dict:
    path = run_dir / ".hydra" / "config.yaml"
    return read_yaml(path, dict) if path.is_file() else {}


def read_overrides(run_dir: Path) -> list[str]:
    path = run_dir / ".hydra" / "overrides.yaml"
    return read_yaml(path, list) if path.is_file() else []


def read_sweep_overrides(sweep_dir: Path) -> list[str]:
    """The overrides a sweep was started with (its multirun.yaml's task overrides); [] without that file."""
    path = Path(sweep_dir) / "multirun.yaml"
    return list(read_yaml(path, dict).get("hydra", {}).get("overrides", {}).get("task", [])) if path.is_file() else []


def metrics_beside_reference(metrics: dict, reference: dict) -> list[dict]:
    keys = [key for key in metrics if key not in BOOKKEEPING]
    keys += [key for key in reference if key not in keys]
    return [{"metric": key, "ours": metrics.get(key), "reference": reference.get(key)} for key in keys]


def number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def history_rows(paths: list[Path]) -> list[dict]:
    """One row per history file: its rows, and the last row's losses, accuracies, costs and error counts."""
    rows = []
    for path in paths:
        with path.open(newline="") as handle:
            logged = list(csv.DictReader(handle))
        last = logged[-1] if logged else {}
        shown = {key: number(value) for key, value in last.items()
                 if value not in (None, "") and any(part in key for part in ("loss", "acc", "cost", "error"))}
        rows.append({"file": path.name, "rows": len(logged), "last epoch": number(last.get("epoch") or "")} | shown)
    return rows


def data_name(cfg: dict) -> str | None:
    return cfg["data"].get("name") if isinstance(cfg.get("data"), dict) else None


def incomparable(cfg: dict) -> str | None:
    """Why a run's numbers cannot be set beside the reference's (a smoke run, other data), or None."""
    if cfg.get("smoke") and cfg.get("smoke_overrides"):
        return "A smoke run (tiny data, few epochs): its numbers are not comparable with the reference's"
    if cfg.get("reference_data") not in (None, data_name(cfg)):
        return (f"The reference numbers were measured on {cfg['reference_data']}, this run on {data_name(cfg)}: "
                "they are not comparable")
    return None


def build_run_report(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    metrics = read_metrics(run_dir)
    cfg = read_config(run_dir)
    reference = cfg.get("reference") or {}
    name = cfg.get("name", metrics.get("experiment", run_dir.name))
    typed = [o for o in read_overrides(run_dir) if not o.startswith("experiment=")]
    command = " ".join(["nnx run", f"experiment={name}", *typed])
    lines = [f"# {name}: {metrics.get('status', '?')}", ""]
    if cfg.get("description"):
        lines += [cfg["description"], ""]
    lines += [f"`{command}`", ""]
    facts = {key: metrics.get(key) for key in BOOKKEEPING[2:] if key in metrics}
    facts |= {"data": metrics.get("data") or data_name(cfg)} | ({"smoke": True} if cfg.get("smoke") else {})
    lines += [markdown_table([facts]), ""]
    if metrics.get("error"):
        lines += ["**Error:** " + fmt(metrics["error"]), ""]
    caveat = incomparable(cfg) if reference else None
    if caveat:
        lines += [f"_{caveat}._", ""]
    lines += ["## Metrics", "", markdown_table(metrics_beside_reference(metrics, reference)), ""]
    histories = sorted(run_dir.glob("*history.csv"))
    if histories:
        lines += ["## Training", "", markdown_table(history_rows(histories)), ""]
    tables = sorted((p for p in run_dir.glob("*.md") if p.name not in ("report.md", "exploration.md")),
                    key=lambda p: ("confusion_matrix" in p.stem, p.stat().st_mtime))  # as written; matrices last
    if tables:
        lines += ["## Tables", ""]
        for path in tables:
            text = path.read_text().strip()
            lines += [text if text.startswith("#") else f"**{path.stem}**\n\n{text}", ""]
    figures = sorted(run_dir.glob("*.png"))
    if figures:
        lines += ["## Figures", ""]
        lines += [f"![{path.stem}]({path.name})\n" for path in figures]
    out = run_dir / "report.md"
    out.write_text("\n".join(lines).rstrip() + "\n")
    return out
