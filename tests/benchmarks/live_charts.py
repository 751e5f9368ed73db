"""The Live page with a long series and many series, in headless Chromium, on this machine.

Stores a week of points a second (604,800) for one series and `--series` more series of an
hour of points ten seconds apart, all scored (through the store's own ingest and score
writes, so the scorer's minute sums are made as in use), serves them with `vigil run`, and
opens the Live page:

- on the week-long series in the 7-day window, against the same series in the 1-hour window
  (the baseline: a window of 3,600 points): how long until its chart is drawn, and the bytes
  of the chart's reply;
- with every series: the bytes of each first reply (cards, charts) and how long until the
  first page of cards is drawn;
- the Overview with every series: how long until its swimlane is drawn, and its reply.

    python tests/benchmarks/live_charts.py                 # 1,000 series besides the week
    python tests/benchmarks/live_charts.py --series 100    # quicker

Writes tests/benchmarks/latest_live_charts.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from selenium import webdriver  # noqa: E402

from scripts.chromium import chromium_flags  # noqa: E402
from tests.benchmarks.live_ingest import free_port, rss_mb, serve  # noqa: E402
from vigil.live.points import Batch  # noqa: E402
from vigil.live.store import LiveStore  # noqa: E402
from vigil.storage.database import sqlite_url  # noqa: E402
from vigil.storage.opening import open_database  # noqa: E402

WEEK = 7 * 86_400
#: The series end now: the page picks the window that reaches a linked time from now.
END = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("min")
#: Records the size of every callback reply, and when it came (ms since navigation).
RECORD_REPLIES = """
window.__replies = [];
const original = window.fetch;
window.fetch = async (...args) => {
  const answer = await original(...args);
  answer.clone().text().then(text => window.__replies.push({
    bytes: text.length, at: performance.now(),
    output: JSON.parse((args[1] && args[1].body) || '{}').output || ''}));
  return answer;
};
"""


def scored(times: pd.DatetimeIndex, values: np.ndarray, flagged: np.ndarray) -> pd.DataFrame:
    """A ScoredFrame for stored points: the band around a rolling level, flags as given."""
    expected = pd.Series(values).rolling(60, min_periods=1).median().to_numpy()
    return pd.DataFrame(
        {
            "timestamp": times,
            "value": values,
            "score": np.where(flagged, 9.0, 0.5),
            "severity": np.where(flagged, 0.97, 0.2),
            "is_anomaly": flagged,
            "expected": expected,
            "lower": expected - 5,
            "upper": expected + 5,
            "explanation": np.where(flagged, "far above the expected band", ""),
            "episode": pd.array(np.where(flagged, np.arange(len(values)), -1), dtype="Int64"),
            "onset": flagged,
        }
    ).assign(episode=lambda f: f["episode"].where(f["is_anomaly"]))


def store_series(
    store: LiveStore, name: str, frame: pd.DataFrame, labels: dict | None = None
) -> None:
    """Ingest the points 10,000 at a time, then write their scores 25,000 at a time."""
    first = store.last_id() + 1
    times = frame["timestamp"].to_numpy(dtype="datetime64[ns]").astype("int64")
    values = frame["value"].to_numpy(dtype=float)
    for start in range(0, len(frame), 10_000):
        batch = Batch(times[start : start + 10_000], values[start : start + 10_000], labels=labels)
        store.add(name, batch, late_window=pd.Timedelta(hours=1))
    ids = store.unscored(store.last_id(), limit=len(frame) + 1)["id"].to_numpy()
    ids = ids[ids >= first]
    for start in range(0, len(frame), 25_000):
        store.write_scores(frame.iloc[start : start + 25_000].set_axis(ids[start : start + 25_000]))


def fill(data_dir: Path, series: int) -> None:
    store = LiveStore(open_database(sqlite_url(data_dir / "vigil.sqlite")))
    rng = np.random.default_rng(7)
    times = pd.date_range(end=END - pd.Timedelta(seconds=1), periods=WEEK, freq="1s")
    seconds = np.arange(WEEK)
    values = 50 + 10 * np.sin(2 * np.pi * seconds / 86_400) + rng.normal(0, 1, WEEK)
    flagged = np.zeros(WEEK, dtype=bool)
    flagged[[WEEK // 4, WEEK // 2, 3 * WEEK // 4]] = True
    values[flagged] += 60
    store_series(store, "week", scored(times, values, flagged))
    hour = pd.date_range(end=END - pd.Timedelta(seconds=10), periods=360, freq="10s")
    for s in range(series):
        values = 20 + rng.normal(0, 1, 360)
        flagged = np.zeros(360, dtype=bool)
        if s % 25 == 0:
            flagged[-5] = True
            values[-5] += 12
        labels = {"env": ["prod", "dev"][s % 2], "service": f"svc{s % 10}"}
        store_series(store, f"host-{s:04d}.latency", scored(hour, values, flagged), labels)


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    for flag in chromium_flags(1400, 1000):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_REPLIES})
    return driver


def open_chart(driver: webdriver.Chrome, url: str, window: str) -> tuple[float, int]:
    """Seconds from navigation until the chart of `window` is drawn, and its reply's bytes."""
    driver.get(url)
    deadline = time.monotonic() + 60
    drawn = None
    while time.monotonic() < deadline and drawn is None:
        drawn = driver.execute_script(
            "const g = document.querySelector('.js-plotly-plot');"
            "if (!g || !g.layout || !g.layout.title || !g.data || !g.data[3]) return null;"
            "if (!String(g.layout.title.text).includes(arguments[0])) return null;"
            "return g.data[3].x.length ? performance.now() : null;",
            window,
        )
        time.sleep(0.02)
    if drawn is None:
        raise RuntimeError(f"the {window} chart was not drawn")
    replies = driver.execute_script("return window.__replies")
    # a linked series' chart comes with the page; a chart drawn later in its own reply
    chart = max(
        r["bytes"] for r in replies if "live-charts" in r["output"] or "_pages" in r["output"]
    )
    return drawn / 1000, chart


def first_replies(driver: webdriver.Chrome, url: str) -> dict:
    """The Live page with every series: each first reply's bytes, and when the cards came."""
    driver.get(url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cards = driver.execute_script(
            "return document.querySelectorAll('.vigil-live-card').length ? performance.now() : null"
        )
        charts = driver.execute_script("return document.querySelectorAll('.js-plotly-plot').length")
        if cards and charts:
            break
        time.sleep(0.05)
    time.sleep(2)
    replies = driver.execute_script("return window.__replies")
    firsts: dict[str, int] = {}
    for reply in replies:
        firsts.setdefault(reply["output"], reply["bytes"])
    return {"cards_at": cards / 1000, "replies": firsts}


def open_overview(driver: webdriver.Chrome, url: str) -> tuple[float, int]:
    """Seconds from navigation until the Overview's swimlane is drawn, and its reply's bytes."""
    driver.get(url)
    deadline = time.monotonic() + 60
    drawn = None
    while time.monotonic() < deadline and drawn is None:
        drawn = driver.execute_script(
            "const g = document.querySelector('#overview-graph .js-plotly-plot');"
            "return g && g.data && g.data[0] && g.data[0].y.length ? performance.now() : null;"
        )
        time.sleep(0.02)
    if drawn is None:
        raise RuntimeError("the overview was not drawn")
    replies = driver.execute_script("return window.__replies")
    lanes = max(r["bytes"] for r in replies if "overview-lanes" in r["output"])
    return drawn / 1000, lanes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="vigil-bench-charts-"))
    started = time.perf_counter()
    fill(data_dir, args.series)
    filled = time.perf_counter() - started
    port = free_port()
    server = serve(data_dir, port, False, VIGIL_LIVE_STALE_MINUTES="600")  # none goes stale
    base = f"http://127.0.0.1:{port}/live?series=week&at="
    week_at = (END - pd.Timedelta(days=6, hours=12)).isoformat()
    hour_at = (END - pd.Timedelta(minutes=30)).isoformat()
    driver = browser()
    try:
        open_chart(driver, base + hour_at, "last 1 hour")  # warm up
        hours, weeks = [], []
        for _ in range(args.repeat):
            hours.append(open_chart(driver, base + hour_at, "last 1 hour"))
            weeks.append(open_chart(driver, base + week_at, "last 7 days"))
        first = first_replies(driver, f"http://127.0.0.1:{port}/live")
        overview = min(
            open_overview(driver, f"http://127.0.0.1:{port}/overview") for _ in range(args.repeat)
        )
        memory = rss_mb(server.pid)
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=30)
    hour_s, hour_bytes = min(hours)
    week_s, week_bytes = min(weeks)
    biggest = max(first["replies"].values())
    total = sum(first["replies"].values())
    rows = [
        "| measure | baseline | Vigil | ratio |",
        "| --- | --- | --- | --- |",
        f"| a week at a point a second: opened to drawn | 1-hour window {hour_s:.2f} s "
        f"| 7-day window {week_s:.2f} s | {week_s / hour_s:.2f}x |",
        f"| ... the chart's reply | 1-hour window {hour_bytes / 1000:.0f} KB "
        f"| 7-day window {week_bytes / 1000:.0f} KB | {week_bytes / hour_bytes:.2f}x |",
        f"| Live page with {args.series + 1:,} series: first page of cards drawn "
        f"| | {first['cards_at']:.2f} s | |",
        f"| ... its largest first reply / all its first replies | | {biggest / 1000:.0f} KB "
        f"/ {total / 1000:.0f} KB | |",
        f"| Overview with {args.series + 1:,} series: opened to drawn / its reply "
        f"| | {overview[0]:.2f} s / {overview[1] / 1000:.0f} KB | |",
        f"| ... server memory | | {memory:.0f} MB | |",
    ]
    table = "\n".join(rows)
    note = (
        f"\n\n{args.series:,} series of 360 points and one of 604,800 (stored and scored in "
        f"{filled:.0f} s); best of {args.repeat}; headless Chromium; "
        f"{pd.Timestamp.now():%Y-%m-%d}.\n"
    )
    print(table + note)
    (ROOT / "tests" / "benchmarks" / "latest_live_charts.md").write_text(table + note)


if __name__ == "__main__":
    main()
