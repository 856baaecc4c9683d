"""The kd_mnist run: the teacher, the student alone and the distilled student, their metrics and figures."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import torch
from omegaconf import OmegaConf

from nnx.engine import TrainerConfig, evaluate, fit, load_state, required, scoring_step
from nnx.engine.checkpoint import rng_state, set_rng_state
from nnx.engine.cpu import flush_subnormals
from nnx.engine.evaluate import metric_name
from nnx.errors import NnxError
from nnx.experiments.kd_mnist import figures
from nnx.experiments.kd_mnist.config import KdSettings
from nnx.experiments.kd_mnist.distillation import CachedTeacherLogits, Distiller, distillation_step, hint_projection
from nnx.models import count_parameters, load_weights
from nnx.registry import MODELS
from nnx.report.exploration import explore

RECORDED = ("test_acc", "test_errors", "test_loss")  # per model in metrics.json; per-class accuracies go to a table


def check_hint_layers(teacher: torch.nn.Module, student: torch.nn.Module) -> None:
    """The hint term reads the input of each model's last layer: both must end in a Linear layer (model=mlp)."""
    for role, model in (("teacher", teacher), ("student", student)):
        if not isinstance(model, torch.nn.Sequential) or not isinstance(model[-1], torch.nn.Linear):
            raise NnxError(f"kd.feature_weight > 0 needs a {role} whose last layer is Linear (an mlp)",
                           fix=f"use {role}.name=mlp, or kd.feature_weight=0")


def train(model, bundle, trainer: TrainerConfig, run, name: str, step=None) -> list[float] | None:
    """fit() scoring the test set after each epoch (the accuracy-per-epoch figure; no model is chosen on it);
    the per-epoch test accuracies, or None when training diverged. A validation split is scored with the plain
    loss whatever the training loss, so both students' best epochs are chosen on one yardstick."""
    result = fit(model, bundle, trainer, run.optimizer, run, step=step, val_step=scoring_step(trainer), name=name)
    summary = result.metrics()  # val_acc too when data.val_fraction > 0 (what a search may choose on)
    run.metrics_update({key: summary[key] for key in ("train_acc", "val_acc") if key in summary}
                       | {"epochs": result.last_epoch}, f"{name}/")
    return None if result.diverged else [row["test_acc"] for row in result.history]


def record(model, bundle, run, name: str, per_class: dict) -> dict:
    metrics = evaluate(model, bundle, "test", run, name=name)
    run.metrics_update({key: metrics[key] for key in RECORDED}, prefix=f"{name}/")
    per_class[name] = {key.removeprefix("test_acc_"): value for key, value in metrics.items()
                       if key.startswith("test_acc_")}  # a class the test split lacks has none
    return metrics


def save_teacher(teacher, bundle, cfg, path: Path) -> None:
    torch.save({"model": teacher.state_dict(), "data": bundle.name, "classes": bundle.classes,
                "input_shape": list(bundle.input_shape), "teacher": OmegaConf.to_container(cfg.teacher)}, path)


def load_teacher(teacher, bundle, where: str, device: str) -> None:
    """Load weights saved by a kd_mnist run (teacher.pt) or any state dict of the same architecture."""
    path = Path(where).expanduser()
    path = path / "teacher.pt" if path.is_dir() else path
    if not path.is_file():
        raise NnxError(f"kd.teacher_ckpt={where}: no teacher checkpoint at {path}",
                       fix="give a teacher.pt (or the kd_mnist run folder holding it), or drop kd.teacher_ckpt")
    saved = load_state(path, device)  # torch.load(..., weights_only=True)
    if "model" in saved and "data" in saved and saved["data"] != bundle.name:
        raise NnxError(f"{path}: this teacher was trained on {saved['data']}, not {bundle.name}",
                       fix=f"use data={saved['data']}, or a teacher trained on {bundle.name}")
    load_weights(teacher, saved.get("model", saved), f"{path} (teacher={dict(saved.get('teacher', {}))})",
                 fix="set teacher.hidden (etc.) to the architecture it was trained with")


def run(cfg, run) -> None:
    kd = run.settings.kd
    for role in ("teacher", "student"):
        MODELS.validate(cfg[role], where=role)  # one clear line for a bad key, before any data is read
    with flush_subnormals(run.device):
        teacher_student_and_distilled(cfg, run, kd)


def teacher_student_and_distilled(cfg, run, kd: KdSettings) -> None:
    from nnx.data import load

    trainer = required(run.settings.trainer, "kd_mnist", "its figure is the test accuracy per epoch",
                       test_each_epoch=True)
    bundle = load(cfg.data, device=run.device, seed=run.seed, run=run)
    explore(run, bundle)
    fresh_data_rng = bundle.rng_state()  # the students start here whether the teacher was trained or loaded

    def build(role: str) -> torch.nn.Sequential:
        return MODELS.build(cfg[role], input_shape=bundle.input_shape, num_classes=bundle.num_classes).to(run.device)

    per_class, curves = {}, {}
    teacher = build("teacher")
    if kd.feature_weight:
        with torch.random.fork_rng(devices=[run.device] if run.device.startswith("cuda") else []):
            check_hint_layers(teacher, build("student"))  # this student's draws must not change the teacher's
    if kd.teacher_ckpt:
        load_teacher(teacher, bundle, kd.teacher_ckpt, run.device)
        run.log.info("teacher: loaded from %s", kd.teacher_ckpt)
    else:
        epochs = trainer.epochs if kd.teacher_epochs is None else kd.teacher_epochs
        teacher_trainer = dataclasses.replace(trainer, epochs=epochs)
        if train(teacher, bundle, teacher_trainer, run, "teacher") is None:
            return
    save_teacher(teacher, bundle, cfg, run.dir / "teacher.pt")  # also when reused: this run folder can be reused
    teacher_acc = record(teacher, bundle, run, "teacher", per_class)["test_acc"]

    # The plain and the distilled student start from the same weights and see the same batches in the same order,
    # and the same ones again when the teacher is reused (kd.teacher_ckpt) instead of trained.
    torch.manual_seed(run.seed)
    bundle.set_rng_state(fresh_data_rng)
    if not kd.student_augment:
        bundle.augment = None  # as in Hinton et al.: a jittered teacher, students on the plain images
    student = build("student")
    initial_weights = copy.deepcopy(student.state_dict())
    data_rng, torch_rng = bundle.rng_state(), rng_state(run.device)  # dropout draws on the GPU there
    curves["student (cross-entropy)"] = train(student, bundle, trainer, run, "student")
    if curves["student (cross-entropy)"] is None:
        return
    student_acc = record(student, bundle, run, "student", per_class)["test_acc"]

    distilled = build("student")
    distilled.load_state_dict(initial_weights)
    projection = hint_projection(distilled, teacher).to(run.device) if kd.feature_weight else None
    bundle.set_rng_state(data_rng)  # after the projection's initial draws: the same dropout draws as the student
    set_rng_state(torch_rng, run.device)
    # Plain batches: the teacher's logits are the same every epoch, so they are computed once (same result, faster).
    cache = CachedTeacherLogits(teacher, bundle) if CachedTeacherLogits.usable(bundle) and kd.cache_teacher else None
    step = distillation_step(teacher, kd.temperature, kd.alpha, kd.feature_weight, cache)
    label = f"distilled (T={kd.temperature:g}, α={kd.alpha:g})"
    curves[label] = train(Distiller(distilled, projection), bundle, trainer, run, "kd", step=step)
    if curves[label] is None:
        return
    kd_acc = record(distilled, bundle, run, "kd", per_class)["test_acc"]
    run.metric("kd/gain", kd_acc - student_acc)

    sizes = {name: count_parameters(model.parameters())
             for name, model in (("teacher", teacher), ("student", student), ("kd", distilled))}
    for name, size in sizes.items():
        run.metric(f"{name}/n_params", size)
    if sizes["student"] > 0.1 * sizes["teacher"]:
        run.log.warning("the student has %.0f %% of the teacher's parameters (the assignment asks for <= 10 %%)",
                        100 * sizes["student"] / sizes["teacher"])
    run.log.info("test accuracy: teacher %.4f, student %.4f, distilled %.4f (gain %+.4f)", teacher_acc, student_acc,
                 kd_acc, kd_acc - student_acc)

    run.table("models", [{"model": name, "hidden": cfg["teacher" if name == "teacher" else "student"].get("hidden"),
                          "n_params": size, "of_teacher": size / sizes["teacher"],
                          **{key: run.metrics.get(f"{name}/{key}") for key in ("epochs", "train_acc", *RECORDED)}}
                         for name, size in sizes.items()], title="Teacher, student and distilled student (test set)")
    run.table("per_class_accuracy", [{"class": c, **{name: acc.get(metric_name(c)) for name, acc in per_class.items()}}
                                     for c in bundle.classes], title="Test accuracy per class")
    with run.figure("accuracy_per_epoch", figsize=(6.5, 4)) as fig:
        figures.accuracy_per_epoch(fig, curves, teacher_acc)
