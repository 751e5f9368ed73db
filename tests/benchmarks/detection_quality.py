"""Event-wise F1 of every detector on the seeded labelled suite (not run in CI).

    python tests/benchmarks/detection_quality.py [--seeds N]

Each kind of planted trouble (detection.synthetic.ANOMALY_KINDS) is generated with N seeds;
the table gives each detector's mean event-wise F1 per kind and overall, with defaults.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from detection import DETECTORS, run_detection  # noqa: E402
from detection.evaluation import event_scores  # noqa: E402
from detection.synthetic import ANOMALY_KINDS, labelled_series  # noqa: E402


def suite_scores(seeds: int) -> pd.DataFrame:
    rows = []
    for kind in ANOMALY_KINDS:
        for seed in range(seeds):
            series = labelled_series(kind, seed=seed)
            frame = series[["timestamp", "value"]]
            for name in DETECTORS:
                flagged = run_detection(frame, name)["is_anomaly"]
                rows.append(
                    {
                        "kind": kind,
                        "detector": name,
                        "f1": event_scores(series["label"], flagged).f1,
                    }
                )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    scores = suite_scores(args.seeds)
    table = scores.pivot_table(index="kind", columns="detector", values="f1", aggfunc="mean")
    table = table.reindex(ANOMALY_KINDS)
    table.loc["mean"] = table.mean()
    columns = list(table.columns)
    lines = ["| kind | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    for kind, row in table.iterrows():
        lines.append(f"| {kind} | " + " | ".join(f"{row[c]:.2f}" for c in columns) + " |")
    text = "\n".join(lines)
    print(text)
    (Path(__file__).parent / "latest_quality.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
