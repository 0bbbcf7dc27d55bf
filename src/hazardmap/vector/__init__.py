"""Hazard zones and sites over villages and households, computed exactly on polygons and
points (no rasterizing)."""
