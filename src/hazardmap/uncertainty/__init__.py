"""``hazardmap uncertainty``: the model re-run on the stored overlays for samples of the
uncertain parameters; percentiles, the robustness of the ranking and of the portfolio,
and Sobol or Morris indices (docs/model.md, "Uncertainty and sensitivity")."""
