"""transfer_catsdogs: ImageNet backbones fine-tuned over trainable fractions on cats vs dogs; a random forest on their
penultimate features; a PCA view of those features.

Part 1: `model.trainable_fraction` of the backbone's layers (from its output end) train with the head, at
`model.backbone_lr_scale` x the head's learning rate; the rest stays frozen, BatchNorm included. A fully frozen
backbone is run once over the images and the head trains on the cached features (`feature_cache`).
Part 2: the trained model's penultimate features -> scikit-learn RandomForestClassifier and LogisticRegression.

The data's val/ folder is the report's validation set (Keras `validation_data`): like Keras we log it every epoch, but
nothing is selected on it (no best-epoch restore), so its accuracy stays an honest held-out number.
"""
