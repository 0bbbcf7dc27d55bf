# One-command set-up: every target creates .venv and installs the project when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## demo: write the demo county's data, run the pipeline, print where the map is
demo: $(STAMP)
	$(BIN)/hazardmap demo-data --out data/raw
	$(BIN)/hazardmap run --config hazardmap.toml

## test: every test (pytest, warnings are errors), then the slowest 25
test: $(STAMP)
	$(BIN)/python -m pytest --durations=25

## test-fast: every test not marked slow (under a minute: the loop while editing)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

## lint: ruff (lint and format) and mypy
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

## bench: the demo run by stage, the raster engine beside the peer tools, the map in a browser, a cube's reduction, the uncertainty command's model runs
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_demo.py
	$(BIN)/python benchmarks/bench_raster.py
	$(BIN)/python benchmarks/bench_map.py
	$(BIN)/python benchmarks/bench_cube.py
	$(BIN)/python benchmarks/bench_zones.py
	$(BIN)/python benchmarks/bench_event.py
	$(BIN)/python benchmarks/bench_simulation.py
	$(BIN)/python benchmarks/bench_uncertainty.py

clean:
	rm -rf $(VENV) outputs/latest benchmarks/data benchmarks/results
