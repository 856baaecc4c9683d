"""Run every benchmark in turn."""

from benchmarks import cifar, cifar_tree, pipeline, startup

for bench in (startup, pipeline, cifar, cifar_tree):
    bench.main()
