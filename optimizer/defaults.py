"""Solver defaults shared by the API, the command line and the app."""

#: Relative optimality gap at which a plan counts as optimal: 0.1% of the risk reduction,
#: far below the uncertainty of the effectiveness scores themselves.
DEFAULT_GAP = 1e-3

#: Seconds the solve of a first look at a changed scenario may take (the app shows that plan,
#: verified and marked with its proven gap, while the final plan is refined).
FIRST_LOOK_SECONDS = 1.0
