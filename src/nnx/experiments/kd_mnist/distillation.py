"""Knowledge distillation (Hinton, Vinyals & Dean 2015) and a FitNets-style hint term, as a step for `fit`.

    loss = α · T² · KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α) · CE(s, y)  [+ β · MSE(W h_s, h_t)]

t, s: teacher and student logits; T: the temperature; α: the weight of the soft targets. The soft term's gradient
shrinks as 1/T², so T² keeps its size comparable to the hard term's when T changes (Hinton et al., section 2).
The optional hint term (β = `feature_weight`) pulls the student's last hidden layer h_s, through a learned linear
projection W, towards the teacher's h_t.

    distiller = Distiller(student, projection=None)       # what fit() trains: the student (+ the projection)
    fit(distiller, bundle, trainer, optim, run, step=distillation_step(teacher, 4.0, 0.9), name="kd")

Not a `trainer.loss` entry of LOSSES: those are losses of (logits, labels), and this one also needs the teacher.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, targets: torch.Tensor,
            temperature: float, alpha: float) -> torch.Tensor:
    """α · T² · KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α) · CE(s, y), both averaged over the batch."""
    hard = F.cross_entropy(student_logits, targets)
    if alpha == 0:
        return hard
    log_q = F.log_softmax(student_logits / temperature, dim=1)  # the student's softened distribution
    log_p = F.log_softmax(teacher_logits / temperature, dim=1)  # the teacher's: the soft targets
    soft = F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)  # KL(p ‖ q), averaged over the batch
    return alpha * temperature**2 * soft + (1 - alpha) * hard


def hint_loss(projected_student: torch.Tensor, teacher_features: torch.Tensor) -> torch.Tensor:
    """Mean squared distance between the projected student features and the teacher's."""
    return F.mse_loss(projected_student, teacher_features)


def features_and_logits(model: nn.Sequential, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(last hidden layer, logits) of a Sequential whose last module maps features to logits (the `mlp` model)."""
    features = model[:-1](x)
    return features, model[-1](features)


class Distiller(nn.Module):
    """The student and what distillation trains beside it (the hint projection); it predicts as the student."""

    def __init__(self, student: nn.Sequential, projection: nn.Module | None = None):
        super().__init__()
        self.student, self.projection = student, projection

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.student(x)


def hint_projection(student: nn.Sequential, teacher: nn.Sequential) -> nn.Linear:
    """The learned map from the student's last hidden width to the teacher's."""
    return nn.Linear(student[-1].in_features, teacher[-1].in_features)


class CachedTeacherLogits:
    """The frozen teacher's logits for every training sample, computed once. A student trained on plain (not
    augmented) tensor batches sees the same inputs every epoch, so repeating the teacher's forward pass, which costs
    more than the small student's whole step, changes nothing. `lookup()` reads the rows of the batch the bundle just
    yielded (`bundle.batch_origin`), or gives None for a batch of another split (validation)."""

    def __init__(self, teacher: nn.Module, bundle):
        if not self.usable(bundle):
            raise ValueError("teacher logits can be cached only for un-augmented tensor batches")
        self.bundle, self.split = bundle, bundle.train
        teacher.eval()
        with torch.no_grad():
            self.logits = torch.cat([teacher(x) for x, _ in bundle.batches("train", shuffle=False, train=False)])

    @staticmethod
    def usable(bundle) -> bool:
        return bundle.augment is None and hasattr(bundle.train, "x")  # a TensorSplit, not a DataLoader split

    def lookup(self) -> torch.Tensor | None:
        split, index = self.bundle.batch_origin or (None, None)
        return self.logits[index] if split is self.split else None


def distillation_step(teacher: nn.Sequential, temperature: float, alpha: float, feature_weight: float = 0.0,
                      cache: CachedTeacherLogits | None = None):
    """A `fit` step for a `Distiller`: the frozen teacher (in eval mode: no dropout) gives logits and features,
    or `cache` gives the logits of a training batch (without the hint term, which needs the teacher's features)."""
    teacher.eval().requires_grad_(False)

    def step(distiller: Distiller, x: torch.Tensor, y: torch.Tensor):
        teacher_logits = cache.lookup() if cache is not None and not feature_weight else None
        if teacher_logits is None:
            with torch.no_grad():
                teacher_features, teacher_logits = features_and_logits(teacher, x)
        student_features, logits = features_and_logits(distiller.student, x)
        loss = kd_loss(logits, teacher_logits, y, temperature, alpha)
        if feature_weight:
            loss = loss + feature_weight * hint_loss(distiller.projection(student_features), teacher_features)
        return loss, logits

    return step
