"""kd_mnist: knowledge distillation from a wide MLP teacher to a small MLP student (Hinton, Vinyals & Dean 2015).

Three models on one data set: the teacher (784-1200-1200-10 with dropout, cross-entropy, jittered images), the
student alone (cross-entropy) and the distilled student, trained on α·T²·KL(teacher‖student at temperature T) +
(1−α)·CE (+ an optional hint term). Both students start from the same weights and see the same batches (and the same
augmentations when kd.student_augment is on): only the loss differs, so `kd/gain` = kd − student test accuracy
measures distillation alone, and α = 0 reproduces the plain student exactly.
"""
