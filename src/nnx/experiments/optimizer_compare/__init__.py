"""optimizer_compare: hand-written SGD, momentum, Nesterov, RMSProp and Adam on a two-layer MLP of plain tensors.

The assignment's protocol: for each learning rate, train from the same initial weights until the training loss is
below the target (0.1) or `protocol.max_iters` (1000) steps have been taken. A run whose loss blows up is stopped and
recorded as diverged (and where), never plotted as NaN.
"""
