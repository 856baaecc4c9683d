"""cifar_cnn_sweep: the CIFAR-10 CNN study of HW3, one small configurable CNN and its variants, one job each.

    nnx run -m experiment=cifar_cnn_sweep 'variant=glob(*)'          # the whole study; summary.md is its table
    nnx run experiment=cifar_cnn_sweep variant=batch4 data=fashion_mnist

Each job trains as the report did (Adam lr 0.01, batch 32, up to 50 epochs, early stopping on the training loss
with patience 3, 15 % of the training set held out for validation) and records the report's table as metrics:
min train loss, min val loss, epochs run, training time, max val accuracy, and the test accuracy the report never
measured. Figures: the engine's curves and confusion matrix, the first conv layer's kernels, one test image's
feature maps after every conv block. A sweep's summary.md (nnx.report.summary) is the report's table, one row per
job, with each variant's reference numbers and every job's validation loss on one plot (val_loss.png).
"""
