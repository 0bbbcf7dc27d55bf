"""Layers over villages and households: the one costly step of a run, cached."""

from hazardmap.overlay.layers import overlay_layers, relief
from hazardmap.overlay.rasters import Overlayer
from hazardmap.overlay.result import LayerOverlay, SiteReach

__all__ = ["LayerOverlay", "Overlayer", "SiteReach", "overlay_layers", "relief"]
