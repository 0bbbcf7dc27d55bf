"""Class layers (`[frequency] type = "classes"`): a class is its probability, never
interpolated; every value the layer can take is one of its classes; villages report the
area share of each class, and households placed by their village take a class, not a
mean of classes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hazardmap.config import LayerFile
from hazardmap.model.hazard import Frequency
from hazardmap.model.villages import village_class
from tests.helpers import invoke, set_key, slope_transform, tree_digest, write_raster

POINTS = ((1.0, 0.001), (2.0, 0.01), (3.0, 0.03), (4.0, 0.1))
CLASSES = Frequency(type="classes", points=POINTS)


def test_a_class_is_its_probability_and_nothing_between() -> None:
    p = CLASSES.annual_probability(np.array([1, 2, 3, 4, 2.5, 0, 5, np.nan]))
    assert p[:4].tolist() == [0.001, 0.01, 0.03, 0.1]
    assert np.isnan(p[4:]).all()  # never interpolated, never clamped to an end
    assert CLASSES.outside_domain(np.array([2.0, 2.5, np.nan])).tolist() == [False, True, False]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4), st.floats(0.01, 1.0))
def test_a_village_value_is_always_a_class(weights: list[float], min_share: float) -> None:
    shares = np.array([weights]) / max(sum(weights), 1e-12)
    value = village_class(shares, CLASSES.class_values(), min_share)[0]
    assert np.isnan(value) or value in CLASSES.class_values()


def test_the_village_class_is_the_highest_reaching_the_share() -> None:
    shares = np.array([[0.6, 0.0, 0.35, 0.05], [0.95, 0.05, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    assert village_class(shares, CLASSES.class_values(), 0.1).tolist()[:2] == [3.0, 1.0]
    assert np.isnan(village_class(shares, CLASSES.class_values(), 0.1)[2])
    # 5% of class 4 and 35% of class 3: 40% at class 3 or above, 5% at 4
    assert village_class(shares[:1], CLASSES.class_values(), 0.05)[0] == 4.0


def test_bilinear_sampling_of_classes_is_a_config_error() -> None:
    with pytest.raises(ValueError, match=r"sampling = 'bilinear' would blend classes"):
        LayerFile(
            name="slope",
            title="t",
            path=Path("x.tif"),
            sampling="bilinear",
            levels=(2, 3, 4),
            frequency={"type": "classes", "points": POINTS},
        )


CLASS_FREQUENCY = """[frequency]
type = "classes"
points = [[1, 0.001], [2, 0.01], [3, 0.03], [4, 0.1]]
"""


def _class_layer(project: Path) -> Path:
    """The tiny slope layer as classes 1-4 with 0 where the survey has nothing: village A
    (rows 1-3, cols 1-3) class 4 on its first row, 2 elsewhere; B class 3 with a 0 cell
    under household b2; C class 1 with one class-4 cell (1/16 of it)."""
    classes = np.ones((10, 10))
    classes[1:4, 1:4] = 2
    classes[1, 1:4] = 4
    classes[1:5, 5:9] = 3
    classes[4, 8] = 0
    classes[8, 5] = 4
    write_raster(project.parent / "data" / "slope.tif", classes, slope_transform(), "EPSG:32648")
    layer = project.parent / "layers" / "slope.toml"
    text = layer.read_text(encoding="utf-8")
    start, end = text.index("[frequency]"), text.index("[damage]")
    layer.write_text(text[:start] + CLASS_FREQUENCY + text[end:], encoding="utf-8")
    set_key(layer, "", "levels", "[2, 3, 4]")
    return layer


def test_a_class_that_is_not_mapped_is_one_line_and_nothing_is_written(
    tiny_project: Path,
) -> None:
    _class_layer(tiny_project)
    before = tree_digest(tiny_project.parent)
    code, out, err = invoke("run", "--config", str(tiny_project))
    assert code == 1 and "Traceback" not in out + err and err.count("error:") == 1, err
    assert (
        "slope.tif: values that are no class of [frequency] points cover 2.4% of the "
        "villages' area in 1 village(s) (households sit on [0.0]); every value must be one "
        "of the classes [1.0, 2.0, 3.0, 4.0]"
    ) in err
    assert "nodata in slope.toml" in err
    after = tree_digest(tiny_project.parent)  # the run's lock aside, nothing is written
    assert {k: v for k, v in after.items() if not k.startswith("outputs")} == before
    assert not (tiny_project.parent / "outputs" / "latest").exists()
    code, _, err = invoke("validate", "--config", str(tiny_project))
    assert code == 1 and "values that are no class of [frequency] points" in err


def test_class_layer_end_to_end(tiny_project: Path, tmp_path: Path) -> None:
    layer = _class_layer(tiny_project)
    set_key(layer, "", "nodata", "0")
    code, _, err = invoke("run", "--config", str(tiny_project), "--out", str(tmp_path / "o"))
    assert code == 0, err
    villages = pd.read_csv(tmp_path / "o" / "villages.csv", encoding="utf-8-sig").set_index(
        "village_code"
    )
    shares = villages[[f"slope_share_{c}" for c in (1, 2, 3, 4)]]
    assert shares.loc["A"].tolist() == pytest.approx([0, 6 / 9, 0, 3 / 9])
    assert shares.loc["B"].tolist() == pytest.approx([0, 0, 1, 0])  # the 0 cell is no data
    assert shares.loc["C"].tolist() == pytest.approx([15 / 16, 0, 0, 1 / 16])
    assert villages["slope_mean"].isna().all()  # a mean class means nothing
    assert villages["slope_max"].tolist() == [4, 3, 4]
    assert villages["slope_level"].tolist() == [4, 3, 1]  # C's class 4 is 6% < 10%
    households = pd.read_csv(tmp_path / "o" / "households.csv", encoding="utf-8-sig").set_index(
        "household_id"
    )
    assert households.loc["h1", "slope_value"] == 2 and households.loc["h1", "slope_p"] == 0.01
    # h2 has no coordinates: village A's highest class covering 10% of it, not a mean (2.7)
    assert households.loc["h2", "slope_value"] == 4 and households.loc["h2", "slope_p"] == 0.1
    assert np.isnan(households.loc["h4", "slope_value"])  # on the 0 cell: missing, not class 1
    assert "1 households and 0 villages have no slope value" in err
    page = (tmp_path / "o" / "map.html").read_text(encoding="utf-8")
    assert "class 2 67%, class 4 33%; max class 4" in page  # shares, not a mean class


def test_a_village_value_from_a_class_layer_never_interpolates(
    tiny_project: Path, tmp_path: Path
) -> None:
    """Every household's value, placed by GPS or by its village, is one of the classes."""
    layer = _class_layer(tiny_project)
    set_key(layer, "", "nodata", "0")
    code, _, err = invoke("run", "--config", str(tiny_project), "--out", str(tmp_path / "o"))
    assert code == 0, err
    values = pd.read_csv(tmp_path / "o" / "households.csv", encoding="utf-8-sig")["slope_value"]
    assert set(values.dropna()) <= {1.0, 2.0, 3.0, 4.0}


def test_fractional_classes_in_a_float32_raster() -> None:
    """A float32 raster stores the class 0.1 as 0.10000000149: it is still class 0.1."""
    fractional = Frequency(type="classes", points=((0.1, 0.01), (0.2, 0.05)))
    stored = np.array([0.1, 0.2, 0.15], dtype=np.float32).astype(np.float64)
    assert fractional.annual_probability(stored)[:2].tolist() == [0.01, 0.05]
    assert np.isnan(fractional.annual_probability(stored)[2])
    assert fractional.outside_domain(stored).tolist() == [False, False, True]


@pytest.mark.parametrize(
    ("points", "levels", "expected"),
    [
        ((), (2, 3, 4), r"needs at least one point"),
        (POINTS, (0.3, 0.5, 0.7), r"levels \[0.3, 0.5, 0.7\] lie outside the classes 1 to 4"),
        (POINTS, (10, 20, 30), r"lie outside the classes"),
    ],
)
def test_classes_and_levels_that_cannot_work_are_config_errors(
    points: tuple[tuple[float, float], ...], levels: tuple[float, float, float], expected: str
) -> None:
    with pytest.raises(ValueError, match=expected):
        LayerFile(
            name="slope",
            title="t",
            path=Path("x.tif"),
            levels=levels,
            frequency={"type": "classes", "points": points},
        )
