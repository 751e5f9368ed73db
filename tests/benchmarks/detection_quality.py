"""Event-wise F1 of every detector on the seeded labelled suite, batch and online (not in CI).

    python tests/benchmarks/detection_quality.py [--seeds N]

Each kind of planted trouble (detection.synthetic.ANOMALY_KINDS) is generated with N seeds;
the table gives each detector's mean event-wise F1 per kind and overall, with defaults, in
batch mode and in online (causal) mode, and how far the ensemble is above the best single
detector in each mode.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from detection import DETECTORS, run_detection  # noqa: E402
from detection.evaluation import event_scores  # noqa: E402
from detection.synthetic import ANOMALY_KINDS, labelled_series  # noqa: E402

SINGLE = ("zscore", "iforest", "stl")
COMBINED = ("ensemble", "auto")


def suite_scores(seeds: int) -> pd.DataFrame:
    rows = []
    for kind in ANOMALY_KINDS:
        for seed in range(seeds):
            series = labelled_series(kind, seed=seed)
            frame = series[["timestamp", "value"]]
            for online in (False, True):
                for name in DETECTORS:
                    flagged = run_detection(frame, name, online=online)["is_anomaly"]
                    rows.append(
                        {
                            "kind": kind,
                            "detector": f"{name} ({'online' if online else 'batch'})",
                            "f1": event_scores(series["label"], flagged).f1,
                        }
                    )
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    columns = list(table.columns)
    lines = ["| kind | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    for kind, row in table.iterrows():
        lines.append(f"| {kind} | " + " | ".join(f"{row[c]:.2f}" for c in columns) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    scores = suite_scores(args.seeds)
    table = scores.pivot_table(index="kind", columns="detector", values="f1", aggfunc="mean")
    table = table.reindex(ANOMALY_KINDS)
    table.loc["mean"] = table.mean()
    sections = []
    for mode in ("batch", "online"):
        names = [f"{name} ({mode})" for name in (*SINGLE, *COMBINED)]
        part = table[names].rename(columns=lambda c: c.split(" ")[0])
        best = part.loc["mean", list(SINGLE)]
        margin = part.loc["mean", "auto"] - best.max()
        sections.append(
            f"**{mode.capitalize()}** ({args.seeds} seeds per kind)\n\n{markdown(part)}\n\n"
            f"`auto` is {margin:+.2f} event-wise F1 from the best single detector "
            f"(`{best.idxmax()}`, {best.max():.2f})."
        )
    text = "\n\n".join(sections)
    print(text)
    (Path(__file__).parent / "latest_quality.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
