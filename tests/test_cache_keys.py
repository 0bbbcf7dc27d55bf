"""The overlay cache never serves a result computed by other code, other layer settings
or from another version of a file."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import pytest

import hazardmap
from hazardmap import cache, digests
from hazardmap.cache import OverlayCache
from hazardmap.config import Config, FrequencyConfig, LayerConfig, LayerFile
from hazardmap.config.layers import SitesSection
from hazardmap.digests import file_digest


@pytest.fixture
def config(tiny_project: Path) -> Config:
    return hazardmap.load_config(tiny_project)


def with_settings(layer: LayerConfig, **settings: Any) -> LayerConfig:
    return LayerConfig(file=layer.file, spec=layer.spec.model_copy(update=settings))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rewrite_keeping_size_and_mtime(path: Path, data: bytes) -> None:
    before = path.stat()
    assert len(data) == before.st_size
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_a_rewritten_file_with_its_old_size_and_mtime_gets_a_new_digest(tmp_path: Path) -> None:
    path = tmp_path / "raster.tif"
    path.write_bytes(b"first version")
    assert file_digest(path) == sha256(path)
    rewrite_keeping_size_and_mtime(path, b"other version")
    assert file_digest(path) == sha256(path)


def test_the_remembered_digest_keys_on_ctime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even for files too old to be hashed afresh each time."""
    monkeypatch.setattr(digests, "RACY_NS", 0)
    path = tmp_path / "raster.tif"
    path.write_bytes(b"first version")
    assert file_digest(path) == sha256(path)
    time.sleep(0.05)  # past the file system's clock tick, so that ctime moves
    rewrite_keeping_size_and_mtime(path, b"other version")
    assert file_digest(path) == sha256(path)


def test_a_file_replaced_by_another_gets_a_new_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digests, "RACY_NS", 0)
    path = tmp_path / "raster.tif"
    path.write_bytes(b"first version")
    old = path.stat()
    assert file_digest(path) == sha256(path)
    replacement = tmp_path / "new.tif"
    replacement.write_bytes(b"other version")
    os.utime(replacement, ns=(old.st_atime_ns, old.st_mtime_ns))
    os.replace(replacement, path)
    assert path.stat().st_ino != old.st_ino
    assert file_digest(path) == sha256(path)


def test_the_digest_of_an_unchanged_file_is_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digests, "RACY_NS", 0)
    path = tmp_path / "raster.tif"
    path.write_bytes(b"some bytes")
    first = file_digest(path)
    hashed: list[str] = []
    monkeypatch.setattr(digests, "_hash", lambda p: hashed.append(p) or "")
    assert file_digest(path) == first and hashed == []


def test_the_key_changes_with_the_code(config: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    layer = config.layer("slope")
    key = OverlayCache.layer_key(config, layer)
    assert OverlayCache.layer_key(config, layer) == key
    monkeypatch.setattr(cache, "code_digest", lambda: "0" * 64)
    assert OverlayCache.layer_key(config, layer) != key


def test_the_code_digest_covers_every_module() -> None:
    digest = cache.code_digest()
    assert len(digest) == 64 and digest == cache.code_digest()
    package = Path(cache.__file__).parent
    expected = hashlib.sha256()
    for path in sorted(package.rglob("*.py"), key=lambda p: p.relative_to(package).as_posix()):
        expected.update(path.relative_to(package).as_posix().encode() + b"\0")
        expected.update(hashlib.sha256(path.read_bytes()).digest())
    assert digest == expected.hexdigest()


@pytest.mark.parametrize(
    "settings",
    [
        {"band": 2},
        {"nodata": -1.0},
        {"nodata": float("nan")},
        {"crs_override": True},
        {"valid_range": (float("-inf"), float("inf"))},
        {"crs": "EPSG:32648"},
    ],
)
def test_the_key_changes_with_the_layer_settings(config: Config, settings: dict[str, Any]) -> None:
    layer = config.layer("slope")
    assert OverlayCache.layer_key(
        config, with_settings(layer, **settings)
    ) != OverlayCache.layer_key(config, layer)


def test_the_key_ignores_what_does_not_shape_the_overlay(config: Config) -> None:
    layer = config.layer("slope")
    retitled = with_settings(layer, title="Landslides", units="index")
    assert OverlayCache.layer_key(config, retitled) == OverlayCache.layer_key(config, layer)


def test_a_class_layer_keys_on_its_classes(config: Config) -> None:
    """The classes decide a class layer's village shares and the values it refuses; the
    probabilities do not touch the overlay."""
    layer = config.layer("slope")
    classes = with_settings(
        layer, frequency=FrequencyConfig(type="classes", points=((1, 0.01), (2, 0.05)))
    )
    more = with_settings(
        layer, frequency=FrequencyConfig(type="classes", points=((1, 0.01), (2, 0.05), (3, 0.1)))
    )
    dearer = with_settings(
        layer, frequency=FrequencyConfig(type="classes", points=((1, 0.02), (2, 0.09)))
    )
    key = OverlayCache.layer_key
    assert key(config, classes) != key(config, layer)
    assert key(config, more) != key(config, classes)
    assert key(config, dearer) == key(config, classes)


def test_every_layer_key_that_shapes_an_overlay_is_in_the_key() -> None:
    """A new layer key is in the cache key unless it only names, describes or prices the
    layer (its frequency, damage and housing act after the overlay)."""
    after_overlay = {
        *("name", "title", "title_zh", "path", "units", "frequency", "damage", "housing"),
        "correlation",  # the simulated years', after the overlay
    }
    assert set(LayerFile.model_fields) - after_overlay == cache.LAYER_SETTINGS


def test_the_key_covers_zones_sites_and_their_files(tmp_path: Path, config: Config) -> None:
    """Changing a [sites] table's file, or its radius, makes another key."""
    layer = config.layer("slope")
    sites = tmp_path / "sites.csv"
    sites.write_text("lon,lat,grade\n105.0,35.0,3\n", encoding="utf-8")
    spec = SitesSection(path=sites, field="grade", radius_m=100.0)
    with_sites = with_settings(layer, sites=spec)
    wider = with_settings(layer, sites=spec.model_copy(update={"radius_m": 200.0}))
    key = OverlayCache.layer_key
    first = key(config, with_sites)
    assert first != key(config, layer) and key(config, wider) != first
    time.sleep(0.01)
    sites.write_text("lon,lat,grade\n105.0,35.0,4\n", encoding="utf-8")
    assert key(config, with_sites) != first
