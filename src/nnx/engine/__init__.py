"""The training engine shared by every deep experiment: optimizers, the fit loop, checkpoints, evaluation.

    from nnx.data import load
    from nnx.engine import evaluate, fit
    from nnx.registry import MODELS

    bundle = load(cfg.data, device=run.device, seed=run.seed)
    model = MODELS.build(cfg.model, input_shape=bundle.input_shape, num_classes=bundle.num_classes)
    result = fit(model, bundle, run.settings.trainer, run.optimizer, run)  # history.csv, last.pt, best.pt, curves
    run.metrics_update(result.metrics())
    if not result.diverged:
        run.metrics_update(evaluate(model, bundle, "test", run))        # test_acc, test_errors, confusion_matrix.*

Several models in one run: `fit(..., name="teacher")` writes teacher_history.csv, teacher_last.pt, ...; a custom
loss: `fit(..., step=lambda model, x, y: (loss, logits_or_None))`. Schemas: `TrainerConfig` (put it in an
experiment's schema as `trainer`), `OptimConfig` (the runner binds it once: `run.optimizer`, an OptimizerRecipe),
`DataConfig`: all in `nnx.schemas`.
"""

from nnx.engine import losses  # importing it registers the losses
from nnx.engine.checkpoint import load_state
from nnx.engine.config import required, trainer_config
from nnx.engine.evaluate import evaluate, plot_curves, predict
from nnx.engine.fit import FitResult, fit, scoring_step, supervised_step
from nnx.engine.optim import OptimizerRecipe
from nnx.schemas import EarlyStoppingConfig, OptimConfig, SchedulerConfig, TrainerConfig

__all__ = ["EarlyStoppingConfig", "FitResult", "OptimConfig", "OptimizerRecipe", "SchedulerConfig", "TrainerConfig",
           "evaluate", "fit", "load_state", "losses", "plot_curves", "predict", "scoring_step", "required",
           "supervised_step", "trainer_config"]
