"""Event-wise F1 of every detector on the seeded labelled suite, batch and online (not in CI).

    python tests/benchmarks/detection_quality.py [--seeds N] [--first-seed K]

Each kind of planted trouble (detection.synthetic.ANOMALY_KINDS) is generated with N seeds;
the table gives each detector's mean event-wise F1 per kind and overall, with defaults, in
batch mode and in online (causal) mode, and how far `auto` is from the best single detector
in each mode. A second table does the same for the shapes real series taught us
(detection.synthetic.REAL_WORLD_KINDS), with the false episodes a day beside each F1: a
detector that finds the anomaly but raises ten false alarms a day around it is no use.

The tables in the README and `latest_quality.md` use seeds 0 to 4; `--first-seed 5 --seeds
10` draws other series of the same kinds, a check that a change did not only fit the first
five (it prints, and leaves `latest_quality.md` as it is).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from vigil.detection import DETECTORS, run_detection  # noqa: E402
from vigil.detection.evaluation import event_scores, false_episodes  # noqa: E402
from vigil.detection.synthetic import ANOMALY_KINDS, REAL_WORLD_KINDS, labelled_series  # noqa: E402

SINGLE = ("zscore", "iforest", "stl")
COMBINED = ("ensemble", "auto")


def suite_scores(
    seeds: int, kinds: tuple[str, ...] = ANOMALY_KINDS, *, first_seed: int = 0
) -> pd.DataFrame:
    """One row per kind, seed, detector and mode: event-wise F1 (NaN for a series with no
    labelled anomaly) and false episodes a day."""
    rows = []
    for kind in kinds:
        for seed in range(first_seed, first_seed + seeds):
            series = labelled_series(kind, seed=seed)
            frame = series[["timestamp", "value"]]
            labelled = bool(series["label"].any())
            for online in (False, True):
                for name in DETECTORS:
                    scored = run_detection(frame, name, online=online)
                    counts = false_episodes(series["label"], scored["episode"], frame["timestamp"])
                    f1 = event_scores(series["label"], scored["is_anomaly"]).f1
                    rows.append(
                        {
                            "kind": kind,
                            "detector": f"{name} ({'online' if online else 'batch'})",
                            "f1": f1 if labelled else float("nan"),
                            "false_per_day": counts.false_per_day,
                        }
                    )
    return pd.DataFrame(rows)


def f1_and_false_alarms(table: pd.DataFrame) -> str:
    """A markdown table of 'F1 / false episodes a day' per kind and detector."""
    columns = list(table.columns.get_level_values(1).unique())
    lines = ["| kind | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    for kind in table.index:
        cells = []
        for column in columns:
            f1 = table.loc[kind, ("f1", column)]
            per_day = table.loc[kind, ("false_per_day", column)]
            cells.append(("n/a" if pd.isna(f1) else f"{f1:.2f}") + f" / {per_day:.2f}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(table: pd.DataFrame) -> str:
    columns = list(table.columns)
    lines = ["| kind | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    for kind, row in table.iterrows():
        lines.append(f"| {kind} | " + " | ".join(f"{row[c]:.2f}" for c in columns) + " |")
    return "\n".join(lines)


def seed_words(args: argparse.Namespace) -> str:
    """'5 seeds', or '10 seeds from 5' when they do not start at 0."""
    words = f"{args.seeds} seeds"
    return words if args.first_seed == 0 else f"{words} from {args.first_seed}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    scores = suite_scores(args.seeds, first_seed=args.first_seed)
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
            f"**{mode.capitalize()}** ({seed_words(args)} per kind)\n\n{markdown(part)}\n\n"
            f"`auto` is {margin:+.2f} event-wise F1 from the best single detector "
            f"(`{best.idxmax()}`, {best.max():.2f})."
        )
    shapes = suite_scores(args.seeds, REAL_WORLD_KINDS, first_seed=args.first_seed)
    both = shapes.pivot_table(
        index="kind", columns="detector", values=["f1", "false_per_day"], aggfunc="mean"
    ).reindex(REAL_WORLD_KINDS)
    both.loc["mean"] = both.mean()
    for mode in ("batch", "online"):
        names = [f"{name} ({mode})" for name in (*SINGLE, *COMBINED)]
        part = both.loc[:, (slice(None), names)].rename(columns=lambda c: c.split(" ")[0], level=1)
        sections.append(
            f"**Real-world shapes, {mode}** ({seed_words(args)} per kind): event-wise F1 / "
            f"false episodes a day (n/a where the series holds no anomaly)\n\n"
            f"{f1_and_false_alarms(part)}"
        )
    text = "\n\n".join(sections)
    print(text)
    if args.first_seed == 0:
        (Path(__file__).parent / "latest_quality.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
