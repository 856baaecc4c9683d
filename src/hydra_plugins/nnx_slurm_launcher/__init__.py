"""nnx's SLURM launcher (`hydra/launcher=slurm` / `slurm_cpu`): hydra-submitit-launcher's, made safe for any cluster.

Hydra finds launchers only in the `hydra_plugins` package, hence this one's home; the work is in `launcher.py`.
"""
