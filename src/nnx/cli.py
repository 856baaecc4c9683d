"""`nnx run|list|report`: the one command. `list` and `report` never import torch."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from nnx.errors import NnxError
from nnx.outputs import HYDRA_INFO_FLAGS, check_output_dir
from nnx.overrides import override_key
from nnx.paths import conf_dir

USAGE = """usage: nnx run experiment=NAME [Hydra overrides...]    run one experiment (-m for a sweep)
       nnx run resume_sweep=PATH [overrides...]      finish a killed sweep: re-run only its unfinished jobs
       nnx list                                      the experiments, their descriptions and data
       nnx data [NAME...] [--from DIR] [--copy]      put data sets in data/: link (or copy) a local copy, or
                                                     download them (mnist, fashion_mnist, cifar10, cats_vs_dogs)
       nnx report PATH [--readme [--force]]          rebuild report.md (run) or summary.md (sweep); --readme also
                                                     puts the results in experiments/<name>/README.md
       nnx eval RUN [--last] [data overrides]        score a run's best (or last) checkpoint again, on its test
                                                     split or on other data (e.g. data=fashion_mnist)
       nnx reproduce [NAME...] [--smoke] [--out DIR] the whole course (or some experiments) as the READMEs report
                                                     it, resuming, then the course table (--smoke: minutes)
       nnx --version                                 the installed nnx's version"""

REPORT_FLAGS = ("--readme", "--force")


def experiments() -> dict[str, dict]:
    """name -> {description, source}, read from conf/experiment/*.yaml without composing anything."""
    from omegaconf import OmegaConf

    found = {}
    for path in sorted((conf_dir() / "experiment").glob("*.yaml")):
        raw = OmegaConf.load(path)
        found[path.stem] = {"description": raw.get("description", ""), "source": raw.get("source", "")}
    return found


def cmd_list(args: list[str]) -> int:
    if args:
        raise NnxError(f"`nnx list` takes no arguments (got {' '.join(args)})\n{USAGE}")
    from rich.console import Console
    from rich.table import Table

    found = experiments()
    if not found:
        raise NnxError(f"no experiment configs under {conf_dir() / 'experiment'}",
                       fix="reinstall nnx (its configs ship inside the package), or unset NNX_CONF_DIR")
    table = Table(title="nnx experiments", show_lines=False)
    for column in ("experiment", "description", "data"):
        table.add_column(column, overflow="fold")
    for name, info in found.items():
        table.add_row(name, info["description"], info["source"])
    Console().print(table)
    return 0


def with_names(message: str) -> NnxError:
    names = "\n".join(f"  {name:22s} {info['description']}" for name, info in experiments().items())
    return NnxError(f"{message}\nvalid experiments:\n{names}", fix="e.g. nnx run experiment=mcp_seven_segment")


def chosen_experiment(args: list[str]) -> str | None:
    """The value of the last `experiment=` override, as typed (may be a sweep: `a,b` or `glob(*)`)."""
    chosen = [m.group(1) for arg in args if (m := re.fullmatch(r"\+{0,2}experiment=(.*)", arg))]
    return chosen[-1] if chosen else None


def experiment_groups(args: list[str]) -> list[str]:
    """Config groups that belong to one experiment (conf/experiment_groups/<name>/, e.g. its `variant/` options)
    join Hydra's search path when that experiment is chosen. Hydra's sweeper cannot see such groups, so a
    `group=glob(...)` over one of them is expanded here into the explicit list of that experiment's options."""
    folder = conf_dir() / "experiment_groups" / str(chosen_experiment(args))
    if not folder.is_dir() or any(arg.startswith("hydra.searchpath") for arg in args):
        return args
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import Glob

    expanded = []
    for arg in args:
        key, _, value = arg.partition("=")
        group = folder / override_key(key)
        if value.startswith("glob(") and group.is_dir():
            glob = OverridesParser.create().parse_override(arg).value()
            if isinstance(glob, Glob):
                arg = f"{key}={','.join(glob.filter(sorted(p.stem for p in group.glob('*.yaml'))))}"
        expanded.append(arg)
    # Beside the experiment= override: Hydra's parser wants the overrides together, before or after its flags.
    at = max(i for i, arg in enumerate(expanded) if re.fullmatch(r"\+{0,2}experiment=.*", arg)) + 1
    return [*expanded[:at], f"hydra.searchpath=[file://{folder}]", *expanded[at:]]


def check_experiment_arg(args: list[str]) -> None:
    """NnxError with the valid names when the experiment is missing or unknown."""
    if any(arg in HYDRA_INFO_FLAGS or arg.startswith("--shell-completion") for arg in args):
        return
    value = chosen_experiment(args)
    if value is None:
        raise with_names("no experiment given")
    if re.search(r"[()*?\[\]]", value):  # a sweep function such as glob(*): Hydra expands it
        return
    unknown = [name for name in value.split(",") if name not in experiments()]
    if unknown:
        raise with_names(f"unknown experiment {', '.join(map(repr, unknown))}")


def completion_line() -> None:
    """Hydra completes COMP_LINE as `APP overrides...`: drop our `run` word, and let the chosen experiment's own
    groups (e.g. `variant=`) join the search path, as they do for a run."""
    line = os.environ.get("COMP_LINE")
    if line is None:
        return  # installing the completion script
    words = line.split(" ")  # the last word is the one being completed ("" after a space)
    words = [word for i, word in enumerate(words) if not (i == 1 and word == "run")]
    done = [word for word in words[1:-1] if word]
    if chosen_experiment(done):
        done = experiment_groups(done)
    os.environ["COMP_LINE"] = " ".join([words[0], *done, words[-1]])


def cmd_run(args: list[str]) -> int:
    from nnx import sweep_resume, sweeps

    args, resumed = sweep_resume.resume_args(args)
    check_experiment_arg(args)
    check_output_dir(args, resumed=resumed is not None)
    import logging

    import hydra
    from omegaconf import DictConfig

    from nnx import callbacks, console, schemas

    schemas.register_schemas()  # before Hydra composes (a run, a sweep, a TAB completion)

    logging.getLogger("alembic").setLevel(logging.WARNING)  # Optuna's storage imports it: 20 lines of plugin setup

    run_codes: list[int] = []  # a single run's exit code (a sweep's comes from its jobs' statuses, below)

    @hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
    def hydra_main(cfg: DictConfig) -> str | float:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        from nnx.runner import execute

        hydra_cfg = HydraConfig.get()
        run_dir, multirun = Path(hydra_cfg.runtime.output_dir), hydra_cfg.mode == RunMode.MULTIRUN
        if multirun:
            sweeps.share_machine(cfg, hydra_cfg)
        to_run = sweep_resume.job_to_run(cfg, run_dir) if os.environ.get(sweep_resume.RESUME_ENV) else cfg
        if to_run is None:
            status = "ok"  # a resumed sweep keeps the jobs that finished ok (and continues the stopped ones)
        else:
            status, code = execute(to_run, run_dir, multirun)
            if not multirun:
                run_codes.append(code)
        if not (multirun and cfg.get("optimize_metric")):
            return status
        try:  # an Optuna sweeper optimises what the task returns; the other launchers and sweepers ignore it
            return sweeps.objective(run_dir, cfg.optimize_metric)
        except NnxError as err:  # a misspelt metric: stop at the first trial, not after every one has run
            callbacks.SweepSummary().write(run_dir.parent, final=False)  # the trial that ran is listed
            console.error(str(err), run_dir)
            sys.exit(2)

    completing = any(arg in ("-sc", "--shell-completion") or arg.startswith("--shell-completion=") for arg in args)
    if completing:
        completion_line()
    args = experiment_groups(args)
    sys.argv = ["nnx" if completing else "nnx run", *args]
    if resumed:
        sweep_resume.prepare_resume(resumed, args)
        os.environ[sweep_resume.RESUME_ENV] = str(resumed)  # inherited by joblib / submitit workers
    with callbacks.sweep_dir_channel() as sweep_dir:
        try:
            hydra_main()
        except KeyboardInterrupt:
            if sweep_dir():  # the summary as Ctrl-C left it (parallel workers may each have written an older one)
                callbacks.SweepSummary().write(sweep_dir(), final=False)
            raise
        except SystemExit as stop:  # Hydra refused the command line (a key, a type, an option) before any run:
            from nnx.report.summary import job_dirs

            if stop.code == 1 and not run_codes and not ((sweep := sweep_dir()) and job_dirs(sweep)):
                sys.exit(2)  # a user-fixable error, like nnx's own (Hydra printed why)
            raise
        finally:
            os.environ.pop(sweep_resume.RESUME_ENV, None)
            if sweep := sweep_dir():
                sweep_resume.clear_running(sweep)
    if run_codes or sweep is None:
        return run_codes[0] if run_codes else 0
    jobs = callbacks.unfinished_jobs(sweep)
    if jobs:
        console.error(f"{len(jobs)} sweep job(s) did not finish: {', '.join(jobs)} (see summary.md)\n"
                      f"  fix: once the cause is fixed, run only those again: nnx run resume_sweep={sweep}")
        return 1
    return 0


def one_folder(args: list[str], known: tuple[str, ...], what: str) -> tuple[Path, list[str]]:
    """The one folder a command takes, and its flags; NnxError for anything else or a folder that is not there."""
    paths = [arg for arg in args if not arg.startswith("-")]
    flags = [arg for arg in args if arg.startswith("-")]
    unknown = [flag for flag in flags if flag not in known]
    if len(paths) != 1 or unknown:
        raise NnxError(f"{f'unknown option {unknown[0]}' if unknown else f'give one {what}'}\n{USAGE}")
    if not Path(paths[0]).is_dir():
        raise NnxError(f"{paths[0]}: no such folder", fix=f"pass a {what} under outputs/")
    return Path(paths[0]), flags


def cmd_report(args: list[str]) -> int:
    from nnx.report.readme import update_readme
    from nnx.report.run_report import build_run_report, is_killed_run
    from nnx.report.summary import job_dirs
    from nnx.sweeps import write_sweep_summary

    path, flags = one_folder(args, REPORT_FLAGS, "run or sweep folder")
    if (path / "metrics.json").is_file() or is_killed_run(path):
        out = build_run_report(path)
    elif path.is_dir() and job_dirs(path):
        out = write_sweep_summary(path)
    else:
        raise NnxError(f"{path} is neither a run folder (metrics.json) nor a sweep folder (job folders)")
    print(f"wrote {out}")
    if "--readme" in flags:
        print(f"updated {update_readme(path, force='--force' in flags)}")
    return 0


def cmd_data(args: list[str]) -> int:
    from nnx.data.prepare import data_command

    return data_command(args, USAGE)


def cmd_eval(args: list[str]) -> int:
    from nnx.evaluation import evaluate_run

    path, flags = one_folder([arg for arg in args if "=" not in arg], ("--last",), "run folder")
    out = evaluate_run(path, [arg for arg in args if "=" in arg], "last" if "--last" in flags else "best")
    print(f"wrote {out}")
    return 0


def cmd_reproduce(args: list[str]) -> int:
    from nnx.reproduce import reproduce_command

    return reproduce_command(args, USAGE)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        sys.exit(0 if argv else 2)
    if argv[0] in ("--version", "-V", "version"):
        from importlib.metadata import version

        print(f"nnx {version('nnx')}")
        sys.exit(0)
    command, rest = argv[0], argv[1:]
    if command in ("-sc", "--shell-completion") or command.startswith("--shell-completion="):
        command, rest = "run", argv  # `eval "$(nnx -sc install=bash)"`, and the installed function's queries
    if command in ("report", "data", "eval", "reproduce") and any(arg in ("-h", "--help") for arg in rest):
        print(USAGE)
        sys.exit(0)
    commands = {"run": cmd_run, "list": cmd_list, "report": cmd_report, "data": cmd_data, "eval": cmd_eval,
                "reproduce": cmd_reproduce}
    try:
        if command not in commands:
            raise NnxError(f"unknown command {command!r}\n{USAGE}")
        sys.exit(commands[command](rest))
    except NnxError as err:  # every user-fixable problem: one screen, exit 2
        from nnx import console

        console.error(str(err))
        sys.exit(2)
    except KeyboardInterrupt:  # a sweep stopped by Ctrl-C: its finished jobs and summary are on disk
        print("nnx: interrupted (Ctrl-C); finish a sweep with: nnx run resume_sweep=<its folder>", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
