"""Questions asked of the core: frontier and budget sweeps, screening and vendor pitches,
explanations, alternatives, robustness, scenario comparison, the evidence-stance check."""
