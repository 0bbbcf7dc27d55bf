"""Reducing a NetCDF cube: hazardmap's lazy reduction against xarray with numpy in one step.

    python benchmarks/bench_cube.py [--months 360] [--rows 400] [--cols 500]

The cube is a prefecture-sized grid at 0.01 degrees, monthly 1991-2020 (360 x 400 x 500
float32, about 290 MB), written once to benchmarks/data/. Each tool reduces it to the
annual probability of a severe growing-season drought (the minimum SPEI of April to
September, then the share of years at or below -1.5) in a fresh process; the figures are
the median wall time of 3 runs and the peak resident memory, with the peak of the same
process's imports alone beside it (what the reduction itself adds is the difference).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GROWING = (4, 5, 6, 7, 8, 9)

HAZARDMAP = (
    """
from pathlib import Path
from hazardmap.model.reduction import Reduction
from hazardmap.raster.cube import reduce_cube
""",
    """
cube = reduce_cube(Path({path!r}), "spei", Reduction(
    within_year="min", across_years="share_below(-1.5)", months={months}))
print(float(cube.values.mean()))
""",
)

XARRAY = (
    """
import numpy as np
import xarray as xr
""",
    """
ds = xr.open_dataset({path!r}).load()
spei = ds.spei.sel(time=ds.time.dt.month.isin({months}))
share = (spei.groupby("time.year").min("time") <= -1.5).mean("year")
print(float(share.mean()))
""",
)

PEAK = """
def peak_mb():  # VmHWM: this process's own peak (ru_maxrss would carry the parent's over exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""


def write_cube(path: Path, months: int, rows: int, cols: int) -> None:
    import numpy as np
    import pandas as pd
    import xarray as xr

    time_axis = pd.date_range("1991-01-01", periods=months, freq="MS")
    rng = np.random.default_rng(0)
    values = rng.normal(size=(months, rows, cols)).astype(np.float32)
    lat = 35.0 + 0.01 * np.arange(rows)
    lon = 105.0 + 0.01 * np.arange(cols)
    data = xr.Dataset(
        {"spei": (("time", "lat", "lon"), values)},
        coords={"time": time_axis, "lat": lat, "lon": lon},
    )
    data.to_netcdf(path, engine="h5netcdf")


def measure(template: tuple[str, str], path: Path, run: bool) -> tuple[float, float, str]:
    """Seconds of the reduction (imports excluded), peak RSS in MB (imports included) and
    the printed result of one fresh process; without ``run``, the imports alone."""
    imports, work = template
    code = work.format(path=str(path), months=list(GROWING)) if run else ""
    wrapped = (
        imports
        + PEAK
        + "import time\nstart = time.perf_counter()\n"
        + code
        + "\nprint(time.perf_counter() - start)\nprint(peak_mb())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapped], capture_output=True, text=True, check=True
    )
    lines = done.stdout.split()
    return float(lines[-2]), float(lines[-1]), lines[0] if run else ""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--months", type=int, default=360)
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--cols", type=int, default=500)
    args = parser.parse_args()
    path = HERE / "data" / f"cube-{args.months}x{args.rows}x{args.cols}.nc"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_cube(path, args.months, args.rows, args.cols)
    size_mb = path.stat().st_size / 1e6
    print(f"cube {args.months} x {args.rows} x {args.cols} float32: {size_mb:.0f} MB")
    print(f"{'tool':<22}{'seconds':>9}{'peak MB':>9}{'imports MB':>12}  result")
    figures = {}
    for name, template in (("hazardmap (lazy)", HAZARDMAP), ("xarray + numpy", XARRAY)):
        runs = [measure(template, path, True) for _ in range(3)]
        imports = measure(template, path, False)[1]
        seconds = statistics.median(r[0] for r in runs)
        peak = max(r[1] for r in runs)
        print(f"{name:<22}{seconds:>9.2f}{peak:>9.0f}{imports:>12.0f}  {runs[0][2]}")
        figures[name] = {"seconds": seconds, "peak_mb": peak, "imports_mb": imports}
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    out = results / f"cube-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"cube_mb": size_mb, **figures}, indent=2), encoding="utf-8")
    print(f"raw figures in {out.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
