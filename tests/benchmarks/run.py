"""Benchmarks for the figures the issues name, each as a ratio to a baseline in the same run.

    make bench            # or: python tests/benchmarks/run.py [--quick] [--browser]

Writes a Markdown table to stdout and to tests/benchmarks/latest.md. Not run in CI.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow.csv as pacsv
from sklearn.ensemble import IsolationForest
from statsmodels.tsa.seasonal import STL

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scripts.chromium import chromium_flags  # noqa: E402
from vigil.components.charts import scored_figure  # noqa: E402
from vigil.detection import make_detector, run_detection  # noqa: E402
from vigil.detection.features import build_features  # noqa: E402
from vigil.detection.io import read_table  # noqa: E402
from vigil.detection.schema import infer_schema  # noqa: E402
from vigil.detection.stl import stl_speedups  # noqa: E402
from vigil.detection.tidy import prepare  # noqa: E402
from vigil.detection.zscore import MAD_TO_STD  # noqa: E402


def best_of(function: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def compare(baseline: Callable[[], object], vigil: Callable[[], object], repeat: int) -> tuple:
    """Best times of baseline and Vigil, run in turns so both see the same machine state."""
    base, ours = [], []
    for _ in range(repeat):
        base.append(best_of(baseline, 1))
        ours.append(best_of(vigil, 1))
    return min(base), min(ours)


def minute_series(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    timestamps = pd.date_range("2024-01-01", periods=n, freq="1min")
    minutes = np.arange(n)
    values = 50 + 10 * np.sin(2 * np.pi * minutes / 1440) + rng.normal(0, 1, n)
    values[rng.choice(n, size=max(1, n // 10_000), replace=False)] += 12
    return pd.DataFrame({"timestamp": timestamps, "value": values})


def bench_parse(rows: int) -> dict:
    frame = minute_series(rows)
    frame["other"] = frame["value"] * 2
    data = frame.to_csv(index=False).encode()

    def baseline():
        pacsv.read_csv(io.BytesIO(data)).to_pandas()

    def vigil():
        raw = read_table(data, "bench.csv", max_bytes=len(data) + 1, max_rows=rows + 1)
        prepare(raw, infer_schema(raw))

    base, ours = compare(baseline, vigil, repeat=9)
    return {
        "what": f"parse + validate {rows:,}-row CSV ({len(data) / 1e6:.0f} MB)",
        "baseline": "pyarrow.csv.read_csv + to_pandas",
        "baseline_s": base,
        "vigil_s": ours,
        "goal": "≤ 1.5x",
    }


def bench_detectors(rows: int) -> list[dict]:
    frame = minute_series(rows)
    values = frame["value"]
    results = []

    def zscore_raw():
        previous = values.shift(1).rolling(96, min_periods=24)
        center = previous.median()
        scale = MAD_TO_STD * (values - center).abs().shift(1).rolling(96, min_periods=24).median()
        return ((values - center) / scale).abs()

    results.append(("zscore", "pandas rolling median + MAD (window 96)", zscore_raw, {}))

    def stl_raw():
        STL(values.to_numpy(), period=1440, seasonal=11, **stl_speedups(1440)).fit()

    results.append(
        ("stl", "statsmodels STL(period=1440), same settings, one fit", stl_raw, {"period": 1440})
    )

    def iforest_raw():
        features = build_features(frame, 12)
        forest = IsolationForest(n_estimators=200, max_samples=1024, random_state=0).fit(
            features.to_numpy()
        )
        forest.score_samples(features.to_numpy())

    results.append(
        (
            "iforest",
            "sklearn IsolationForest fit + score_samples on the same features",
            iforest_raw,
            {},
        )
    )
    rows_out = []
    for name, baseline_name, raw, params in results:
        base, ours = compare(
            raw, lambda name=name, params=params: run_detection(frame, name, **params), repeat=3
        )
        rows_out.append(
            {
                "what": f"detector `{name}` on {rows:,} points",
                "baseline": baseline_name,
                "baseline_s": base,
                "vigil_s": ours,
                "goal": "≤ 1.2x",
            }
        )
    # `auto` against the z-score detector, and against the plain rolling z-score (the z-score
    # detector's own ranking pass is not counted in the second)
    for baseline_name, baseline in (
        (
            "detector `zscore` (robust, window 96), same points",
            lambda: run_detection(frame, "zscore"),
        ),
        ("pandas rolling median + MAD (window 96)", zscore_raw),
    ):
        base, ours = compare(baseline, lambda: run_detection(frame, "auto"), repeat=3)
        rows_out.append(
            {
                "what": f"detector `auto` on {rows:,} points",
                "baseline": baseline_name,
                "baseline_s": base,
                "vigil_s": ours,
                "goal": "≤ 5x",
            }
        )
    return rows_out


def bench_online(
    rows: int = 100_000, names: tuple[str, ...] = ("zscore", "stl", "iforest", "auto", "ensemble")
) -> list[dict]:
    """Online (causal) scoring against the same detector's batch run on the same points."""
    frame = minute_series(rows)
    results = []
    for name in names:
        base, ours = compare(
            lambda name=name: run_detection(frame, name),
            lambda name=name: run_detection(frame, name, online=True),
            repeat=3,
        )
        results.append(
            {
                "what": f"`{name}` online on {rows:,} points",
                "baseline": f"`{name}` batch, same points",
                "baseline_s": base,
                "vigil_s": ours,
                "goal": "≤ 3x",
            }
        )
    return results


def bench_payload(sizes: list[int]) -> list[dict]:
    rows = []
    for n in sizes:
        frame = minute_series(n)
        scored = make_detector("zscore").fit_score(frame)
        figure = scored_figure(scored, title="bench")
        ours = len(
            json.dumps(figure.to_plotly_json(), cls=__import__("plotly").utils.PlotlyJSONEncoder)
        )
        plain = go.Figure(go.Scatter(x=scored["timestamp"], y=scored["value"]))
        naive = len(plain.to_json())
        rows.append(
            {
                "what": f"first chart payload, {n:,} points",
                "baseline": "plain go.Figure of the value line",
                "baseline_bytes": naive,
                "vigil_bytes": ours,
                "goal": "≤ 300 KB, flat",
            }
        )
    return rows


def bench_browser(rows: int) -> dict:
    """Upload a CSV through the page and time until the Analyze chart shows anomalies."""
    import subprocess
    import tempfile
    import urllib.request

    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    folder = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
    source = folder / f"bench-{rows}.csv"
    minute_series(rows, seed=5).to_csv(source, index=False)
    port = 8765
    env = {
        **os.environ,
        "VIGIL_DATA_DIR": str(folder / "data"),
        "VIGIL_PORT": str(port),
        "VIGIL_DEMO": "false",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "vigil.cli", "run"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    options = webdriver.ChromeOptions()
    for flag in chromium_flags(1400, 1200):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        driver.get(url)
        WebDriverWait(driver, 30).until(ec.presence_of_element_located((By.ID, "data-empty")))
        started = time.perf_counter()
        driver.find_element(By.CSS_SELECTOR, "input.vigil-file-input").send_keys(str(source))
        WebDriverWait(driver, 120).until(ec.presence_of_element_located((By.ID, "data-upload-ok")))
        driver.get(f"{url}/analyze?detector=zscore")
        WebDriverWait(driver, 300).until(ec.presence_of_element_located((By.ID, "analyze-count")))
        elapsed = time.perf_counter() - started
    finally:
        driver.quit()
        server.terminate()
    return {
        "what": f"upload {rows:,}-row CSV ({source.stat().st_size / 1e6:.0f} MB) to first "
        "Analyze chart, in Chromium (z-score)",
        "vigil_s": elapsed,
        "goal": "≤ 8 s",
    }


def table(results: list[dict]) -> str:
    lines = [
        "| measure | baseline | baseline | Vigil | ratio | goal |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        if "baseline_bytes" in r:
            cells = (
                f"{r['baseline_bytes'] / 1e3:,.0f} KB",
                f"{r['vigil_bytes'] / 1e3:,.0f} KB",
                f"{r['vigil_bytes'] / r['baseline_bytes']:.3f}x",
            )
        elif "baseline_s" in r:
            cells = (
                f"{r['baseline_s']:.2f} s",
                f"{r['vigil_s']:.2f} s",
                f"{r['vigil_s'] / r['baseline_s']:.2f}x",
            )
        else:
            cells = ("n/a", f"{r['vigil_s']:.1f} s", "n/a")
        baseline = r.get("baseline", "n/a")
        lines.append(f"| {r['what']} | {baseline} | {' | '.join(cells)} | {r['goal']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k points instead of 1M")
    parser.add_argument(
        "--browser", action="store_true", help="also time upload to first chart in Chromium"
    )
    args = parser.parse_args()
    rows = 100_000 if args.quick else 1_000_000
    results = [
        bench_parse(rows),
        *bench_detectors(rows),
        *bench_online(100_000),
        *bench_payload([10_000, 100_000, 1_000_000][: 2 if args.quick else 3]),
    ]
    if args.browser:
        results.append(bench_browser(rows))
    text = table(results)
    print(text)
    (Path(__file__).parent / "latest.md").write_text(text + "\n")
    print(f"\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
