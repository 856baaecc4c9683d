"""gradient_flow: vanishing and exploding gradients, symmetry breaking and clipping in a deep plain MLP (HW3, q1).

Every activation x initialisation x clipping setting trains the same deep MLP from its own initial weights. Hooks on
each Linear layer's weight add up its gradient's squared norm over the epoch's batches (before clipping: the raw
gradient); after each epoch a fixed probe batch gives each hidden layer's activation statistics and the fraction of
units whose activation has a derivative below 0.01 ("flat": saturated sigmoid/tanh, inactive ReLU).
"""
