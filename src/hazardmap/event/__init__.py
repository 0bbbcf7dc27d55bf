"""One event that has happened (``hazardmap event``): its footprint over the households,
the households to check today, and the villages most affected, every figure given this
event (CONTRACT.md, "One event")."""
