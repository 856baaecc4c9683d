"""dac_mnist: DAC (Lu & Li 2021, arXiv:2102.07472) — an autoencoder trained on a pixel-weighted reconstruction loss,
its 10-d codes clustered by KMeans — against KMeans on raw pixels, KMeans on PCA-10 and the same autoencoder
trained on an unweighted loss (the ablation: do the eq. (5) weights help?).

Every method clusters the same test images; every representation (PCA axes, autoencoders) is learned on the
training images. The pixel weights are the only place labels enter, from `dac.n_labelled` training samples.
"""
