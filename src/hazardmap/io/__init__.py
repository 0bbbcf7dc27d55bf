"""Reading and checking the input files: villages, households and their coordinates."""

from hazardmap.io.households import read_households
from hazardmap.io.villages import read_villages

__all__ = ["read_households", "read_villages"]
