"""From inputs to a checked plan: the solver-free ``Problem``, the PuLP model (the only code
that touches the solver), solving, the independent verifier, the greedy baseline, diagnosis."""
