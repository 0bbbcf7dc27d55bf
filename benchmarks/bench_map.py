"""map.html size and load time in a browser, for 30,000 and 200,000 households.

    python benchmarks/bench_map.py [--households 30000 200000]

For each size: the demo county is generated and run (timed), then map.html is opened in
Debian's chromium (headless, every network request refused) three times: "load" is the
time to the page's load event (scripts parsed and run, every layer built); "households
shown" adds switching the household layer on and waiting for two animation frames.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def prepare(households: int) -> Path:
    import hazardmap
    from hazardmap.demo import write_demo_data

    root = HERE / "data" / f"map-{households}"
    if not (root / "data" / "raw" / "households.xlsx").exists():
        write_demo_data(root / "data" / "raw", households=households)
    shutil.copy(REPO / "hazardmap.toml", root / "hazardmap.toml")
    shutil.rmtree(root / "layers", ignore_errors=True)
    shutil.copytree(REPO / "layers", root / "layers")
    start = time.perf_counter()
    result = hazardmap.run(root / "hazardmap.toml")
    print(f"{households:>8} households: run {time.perf_counter() - start:.1f} s", flush=True)
    assert result.out_dir is not None
    return result.out_dir / "map.html"


def load_times(page_path: Path, browser: object) -> tuple[float, float]:
    page = browser.new_page(viewport={"width": 1300, "height": 900})  # type: ignore[attr-defined]
    page.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort(),
    )
    start = time.perf_counter()
    page.goto(page_path.as_uri(), wait_until="load")
    loaded = time.perf_counter() - start
    page.get_by_text("Households by risk").first.click()
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    shown = time.perf_counter() - start
    page.close()
    return loaded, shown


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, nargs="*", default=[30_000, 200_000])
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs Debian's chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    pages = {n: prepare(n) for n in args.households}
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        for n, page_path in pages.items():
            times = [load_times(page_path, browser) for _ in range(3)]
            rows.append(
                (
                    n,
                    page_path.stat().st_size / 2**20,
                    statistics.median(t[0] for t in times),
                    statistics.median(t[1] for t in times),
                )
            )
        browser.close()
    print(f"\n{'households':>10}{'map.html MB':>13}{'load s':>9}{'households shown s':>20}")
    for n, size, loaded, shown in rows:
        print(f"{n:>10,}{size:>13.1f}{loaded:>9.2f}{shown:>20.2f}")


if __name__ == "__main__":
    main()
