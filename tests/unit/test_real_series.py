"""The default detector on real labelled series (read at test time from the benchmark files
beside the checkout, never copied here): few false episodes a day, the labelled trouble
found."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vigil.detection import make_detector
from vigil.detection.episodes import episode_table
from vigil.detection.io import read_table
from vigil.detection.schema import infer_schema
from vigil.detection.tidy import prepare, series_frame

BENCHMARK = Path(__file__).resolve().parents[2].parent / "shared" / "nab-dev"
FILES = (
    "realTweets/Twitter_volume_KO.csv",  # heavy-tailed counts
    "realAWSCloudwatch/ec2_cpu_utilization_fe7f93.csv",  # bursty utilisation
    "realKnownCause/cpu_utilization_asg_misconfiguration.csv",  # autoscaling CPU
    "artificialNoAnomaly/art_daily_perfect_square_wave.csv",  # no anomaly at all
)

pytestmark = pytest.mark.skipif(
    not (BENCHMARK / "labels").is_dir(), reason="the benchmark files are not beside the checkout"
)


def windows(name: str) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    labelled = json.loads((BENCHMARK / "labels" / "combined_windows.json").read_text())
    return [(pd.Timestamp(a), pd.Timestamp(b)) for a, b in labelled[name]]


def scored(name: str) -> pd.DataFrame:
    data = (BENCHMARK / "data" / name).read_bytes()
    raw = read_table(data, Path(name).name, max_bytes=len(data) + 1, max_rows=100_000)
    tidy, report = prepare(raw, infer_schema(raw))
    return make_detector("auto").score_online(series_frame(tidy, report.series[0]))


@pytest.mark.parametrize("name", FILES)
def test_false_episodes_stay_rare_and_labelled_trouble_is_found(name):
    result = scored(name)
    episodes = episode_table(result)
    spans = windows(name)
    touches = np.zeros(len(episodes), dtype=bool)
    for start, end in spans:
        touches |= (episodes["end"] >= start).to_numpy() & (episodes["start"] <= end).to_numpy()
    days = (result["timestamp"].iloc[-1] - result["timestamp"].iloc[0]) / pd.Timedelta(days=1)

    assert (~touches).sum() / days <= 0.4
    found = sum(
        bool(((episodes["start"] <= end) & (episodes["end"] >= start)).any())
        for start, end in spans
    )
    assert found >= len(spans) - 1
