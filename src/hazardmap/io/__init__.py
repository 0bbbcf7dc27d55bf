"""Reading and checking the inputs: villages, households, hazard rasters."""

from hazardmap.io.households import read_households
from hazardmap.io.villages import read_villages

__all__ = ["read_households", "read_villages"]
