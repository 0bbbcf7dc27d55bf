"""The project file (``hazardmap.toml``) and the layer files (``layers/*.toml``).

Both are validated strictly: unknown keys are errors that name the key and the file, and
paths are resolved relative to the file that names them. One module per part: the
building blocks (``fields``), ``[households]`` (``households``), the other sections of
the project file (``project``), layer files (``layers``), the loaded project
(``loaded``) and the reading of the files (``reading``).
"""

from hazardmap.config.event import EventConfig, EventFile
from hazardmap.config.households import (
    DERIVED_FIELDS,
    SPLIT_TOLERANCE,
    HouseholdsSection,
    HouseholdValues,
    IncomeSection,
    check_split,
)
from hazardmap.config.layers import FrequencyConfig, LayerFile, ReduceSection
from hazardmap.config.loaded import Config, LayerConfig, with_sidecars
from hazardmap.config.project import (
    ChangesSection,
    InterventionConfig,
    LayersSection,
    MapSection,
    OutputsSection,
    PlanningSection,
    ProjectFile,
    ProjectSection,
    RiskSection,
    VillagesSection,
)
from hazardmap.config.reading import (
    ConfigDraft,
    load_config,
    load_event,
    load_layer,
    read_project,
)

__all__ = [
    "DERIVED_FIELDS",
    "SPLIT_TOLERANCE",
    "ChangesSection",
    "Config",
    "ConfigDraft",
    "EventConfig",
    "EventFile",
    "FrequencyConfig",
    "HouseholdValues",
    "HouseholdsSection",
    "IncomeSection",
    "InterventionConfig",
    "LayerConfig",
    "LayerFile",
    "LayersSection",
    "MapSection",
    "OutputsSection",
    "PlanningSection",
    "ProjectFile",
    "ProjectSection",
    "ReduceSection",
    "RiskSection",
    "VillagesSection",
    "check_split",
    "load_config",
    "load_event",
    "load_layer",
    "read_project",
    "with_sidecars",
]
