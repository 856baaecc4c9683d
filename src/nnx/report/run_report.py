"""report.md for one run folder, rebuilt from what is on disk: metrics.json, the composed config, PNGs, tables."""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import OmegaConf

from nnx.errors import NnxError
from nnx.report.markdown import fmt, markdown_table

BOOKKEEPING = ("experiment", "status", "error", "duration_s", "device", "seed", "git_commit")


def read_metrics(run_dir: Path) -> dict:
    path = run_dir / "metrics.json"
    if not path.is_file():
        raise NnxError(f"{run_dir} has no metrics.json", fix="pass a run folder written by `nnx run`")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise NnxError(f"{path} is not valid JSON ({err})") from None


def read_config(run_dir: Path) -> dict:
    path = run_dir / ".hydra" / "config.yaml"
    return OmegaConf.to_container(OmegaConf.load(path), resolve=False) if path.is_file() else {}


def read_overrides(run_dir: Path) -> list[str]:
    path = run_dir / ".hydra" / "overrides.yaml"
    return list(OmegaConf.load(path)) if path.is_file() else []


def metrics_beside_reference(metrics: dict, reference: dict) -> list[dict]:
    keys = [key for key in metrics if key not in BOOKKEEPING]
    keys += [key for key in reference if key not in keys]
    return [{"metric": key, "ours": metrics.get(key), "reference": reference.get(key)} for key in keys]


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
    lines += [markdown_table([facts]), ""]
    if metrics.get("error"):
        lines += ["**Error:** " + fmt(metrics["error"]), ""]
    lines += ["## Metrics", "", markdown_table(metrics_beside_reference(metrics, reference)), ""]
    tables = sorted(p for p in run_dir.glob("*.md") if p.name not in ("report.md", "exploration.md"))
    if tables:
        lines += ["## Tables", ""]
        for path in tables:
            lines += [f"**{path.stem}**", "", path.read_text().strip(), ""]
    figures = sorted(run_dir.glob("*.png"))
    if figures:
        lines += ["## Figures", ""]
        lines += [f"![{path.stem}]({path.name})\n" for path in figures]
    out = run_dir / "report.md"
    out.write_text("\n".join(lines).rstrip() + "\n")
    return out
