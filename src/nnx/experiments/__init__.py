"""One package per assignment, `<name>/`: `config.py` (its settings' schema, `SCHEMA`; no torch) and `experiment.py`
(its `run(cfg, run)`), found by name (`nnx.runner.load_experiment`); nothing registers them."""
