"""fashion_overfit: HW2 question 5, an MLP on Fashion-MNIST made to overfit, and the remedies, one variant each.

    nnx run experiment=fashion_overfit                                # base: 784-128-128-10, SGD lr 0.01, batch 64
    nnx run -m experiment=fashion_overfit 'variant=glob(*)'           # all ten; summary.md is the comparison
    nnx run experiment=fashion_overfit variant=l1 regularization.l1=1e-4   # a stronger L1

The test set is the held-out curve the assignment plots: the engine scores it after each epoch
(`trainer.test_each_epoch`), so history.csv logs train and test loss per epoch (its `test_*` columns). Nothing is
chosen on it: no early stopping on it, no restoring of the best epoch; every number is the final epoch's model.
Remedies: data augmentation (`data.augment`, batched on the device), L2 (`optim.weight_decay`), L1
(`regularization.l1`, added to the training loss through fit's `step` hook), dropout (`model.dropout`).
"""
