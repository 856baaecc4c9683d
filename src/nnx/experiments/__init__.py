"""One module per assignment, each registering `run(cfg, run)` in `nnx.registry.EXPERIMENTS`."""
