"""What overlaying one layer gives: its village statistics and level, each household's
value, and, by source, the map's image and the hazard sites' reach."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from hazardmap.results import MapImage


@dataclass(frozen=True)
class SiteReach:
    """A layer's hazard sites over households and villages."""

    site: np.ndarray
    """Per household: the site that set its x (index into the layer's sites; -1: none)."""
    sites_inside: np.ndarray
    """Per village: the sites inside it."""
    exposed: np.ndarray
    """Per village: households within a site's radius or named by its register."""
    threatened: np.ndarray
    """Per site: households within its radius or named by its register."""
    monitored: np.ndarray
    """Per site: those of them that are monitored (any category but none)."""


@dataclass(frozen=True)
class LayerOverlay:
    """One layer over the villages (mean, max, level), the households (value), and as the
    map's image (a raster's; None for zones and sites, which the map draws as shapes)."""

    mean: np.ndarray
    maximum: np.ndarray
    level: np.ndarray
    value: np.ndarray
    image: MapImage | None = None
    class_shares: np.ndarray | None = None
    """A class layer's (villages x classes) share of each village's area with data in each
    class (its mean is then NaN: a mean class means nothing); None for other layers."""
    sites: SiteReach | None = None
    """The layer's hazard sites (its source, or its [sites] table); None without any."""

    def arrays(self) -> dict[str, np.ndarray]:
        """The overlay as named arrays, for the cache."""
        arrays = {
            "mean": self.mean,
            "max": self.maximum,
            "level": self.level,
            "value": self.value,
        }
        if self.class_shares is not None:
            arrays["class_shares"] = self.class_shares
        if self.image is not None:
            arrays |= image_arrays(self.image)
        if self.sites is not None:
            arrays |= {f"sites_{f.name}": getattr(self.sites, f.name) for f in fields(SiteReach)}
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> LayerOverlay:
        sites = None
        if "sites_site" in arrays:
            sites = SiteReach(**{f.name: arrays[f"sites_{f.name}"] for f in fields(SiteReach)})
        return cls(
            arrays["mean"],
            arrays["max"],
            arrays["level"],
            arrays["value"],
            image_from_arrays(arrays) if "image" in arrays else None,
            arrays.get("class_shares"),
            sites,
        )


def image_arrays(image: MapImage) -> dict[str, np.ndarray]:
    return {"image": image.pixels, "image_bounds": np.asarray(image.bounds, dtype=np.float64)}


def image_from_arrays(arrays: dict[str, np.ndarray]) -> MapImage:
    (south, west), (north, east) = arrays["image_bounds"].tolist()
    return MapImage(arrays["image"], ((south, west), (north, east)))
