"""Byte-for-byte comparison of detection outputs between this checkout and a git revision.

    python tests/benchmarks/same_outputs.py main          # or any commit; --quick skips 1M rows

Exports the revision with `git archive` into a temporary directory, computes the same outputs
with each tree (in a subprocess each): `trailing_rarity` (every field) and `rarity_at` on
series with ties, integer counts, NaN runs, constant stretches, signed zeros, infinities and
1M points of noise, under several windows, offsets, `first` rows and `wanted` masks; the
private rarity helpers called directly; `calibrate`, `calibrate_continuation`,
`calibrate_online` and `severity_from_rarity`; and the z-score (robust, rolling, global), STL,
Isolation Forest, ensemble and `auto` detectors in batch, online, streamed (in large
batches, and a point or two at a time) and fitted-then-scored modes. Numeric arrays must
match byte for byte (NaN payloads and signed zeros included), other values exactly. Not run
in CI.
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
import zlib
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def series_cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(42)
    cases = {"gauss_1m": np.random.default_rng(0).normal(size=1_000_000)}
    cases["poisson_200k"] = rng.poisson(3, 200_000).astype(float)
    cases["pareto_counts_100k"] = np.floor(rng.pareto(1.5, 100_000) * 10)
    v = np.round(rng.normal(size=100_000), 1)
    v[rng.integers(0, len(v), 5000)] = np.nan
    v[30_000:33_000] = np.nan
    v[50_000:59_500] = np.nan  # longer than the window
    cases["rounded_nan_100k"] = v
    parts = [np.zeros(20_000), rng.normal(size=20_000), np.full(30_000, 5.0)]
    v = np.concatenate([*parts, rng.normal(size=10_000), np.full(9_000, -2.5)])
    v[rng.integers(0, len(v), 500)] = np.nan
    cases["constant_stretches_89k"] = v
    cases["all_constant_30k"] = np.full(30_000, 7.0)
    v = np.round(rng.normal(size=50_000) * 0.04, 1)  # many -0.0 and 0.0
    v[::7] = 0.0
    cases["signed_zeros_50k"] = v
    v = rng.normal(size=20_000)
    v[rng.integers(0, len(v), 30)] = np.inf
    v[rng.integers(0, len(v), 30)] = -np.inf
    cases["infinities_20k"] = v
    cases["increasing_50k"] = np.arange(50_000, dtype=float)
    cases["decreasing_50k"] = -np.arange(50_000, dtype=float) * 0.5
    cases["walk_200k"] = np.cumsum(rng.normal(size=200_000))
    cases["tiny_ties_30k"] = rng.integers(0, 3, 30_000).astype(float)
    v = rng.normal(size=40_000)
    v[:5000] = np.nan
    cases["leading_nan_40k"] = v
    cases["all_nan_5k"] = np.full(5000, np.nan)
    for n in (0, 1, 2, 10, 100, 1000, 5000):
        cases[f"short_{n}"] = rng.normal(size=n)
    return cases


RARITY_PARAMS = [
    {"window": 8000},
    {"window": 8000, "first": 777, "offset": 12345, "band_quantile": 0.01},
    {"window": 700, "first": 5, "offset": 250},
    {"window": 40},
    {"window": 1},
    {"window": 1024, "offset": 3},
    {"window": 1025, "first": 20_000},
    {"window": 3000, "offset": 123},
    {"window": 8000, "first": 100, "wanted": "random"},
    {"window": 8000, "wanted": "stretches"},
    {"window": 8000, "first": "end"},
]


def rarity_outputs(quick: bool) -> dict[str, object]:
    from vigil.detection import rarity

    out: dict[str, object] = {}
    for name, values in series_cases().items():
        if quick and len(values) > 200_000:
            continue
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        for k, given in enumerate(RARITY_PARAMS):
            if name == "gauss_1m" and k not in (0, 1, 8, 9):
                continue
            params = dict(given)
            window = params.pop("window")
            if params.get("first") == "end":
                params["first"] = len(values)
            if params.get("wanted") == "random":
                params["wanted"] = rng.random(len(values)) < 0.7
            elif params.get("wanted") == "stretches":
                params["wanted"] = (np.arange(len(values)) // 3001) % 3 != 1
            ranked = rarity.trailing_rarity(values, window, **params)
            out[f"trailing_rarity/{name}/{k}"] = tuple(vars(ranked).values())
        if len(values):
            rows = rng.integers(0, len(values), min(300, len(values)))
            for offset in (0, 77):
                for window in (8000, 700):
                    found = rarity.rarity_at(values, rows, window, offset=offset)
                    out[f"rarity_at/{name}/{window}/{offset}"] = found
    out.update(helper_outputs())
    return out


def helper_outputs() -> dict[str, object]:
    from vigil.detection import rarity

    out: dict[str, object] = {}
    rng = np.random.default_rng(7)
    for size in (1, 2, 3, 7, 50, 999, 8000):
        for kind in ("continuous", "ties", "zeros"):
            if kind == "continuous":
                ordered = np.sort(rng.normal(size=size))
                extra = np.r_[rng.normal(size=300), ordered[: min(size, 50)], -9.0, 9.0]
                needles = np.sort(extra)
            elif kind == "ties":
                ordered = np.sort(rng.integers(0, 5, size).astype(float))
                needles = np.sort(rng.integers(-1, 7, 300).astype(float))
            else:
                ordered = np.sort(np.round(rng.normal(size=size) * 0.04, 1))
                needles = np.sort(np.round(rng.normal(size=300) * 0.04, 1))
            out[f"_counts/{size}/{kind}"] = rarity._counts(ordered, needles)
            out[f"_edges/{size}/{kind}"] = rarity._edges(ordered)
    values = np.r_[rng.normal(size=5000) * 3, np.nan, np.inf, -np.inf, 0.0, -0.0]
    least = rng.integers(0, 8001, len(values)).astype(float)
    most = rng.integers(0, 8001, len(values)).astype(float)
    size = rng.integers(0, 8001, len(values))
    edges = rng.normal(size=(4, len(values)))
    edges[2:] = np.abs(edges[2:]) + 0.01
    edges[:, :10] = np.nan
    out["_surprise/random"] = rarity._surprise(values, least, most, size, edges)
    out["two_sided_surprise"] = rarity.two_sided_surprise(most, least, size)
    n = 20_000
    v = rng.normal(size=n) * 3
    v[::50] = np.nan
    v[7], v[8], v[9], v[10] = np.inf, -np.inf, 0.0, -0.0
    il, im, isz = (rng.integers(0, 8001, n) for _ in range(3))
    e = np.vstack([np.full(n, 4.0), np.full(n, -4.0), np.full(n, 0.3), np.full(n, 0.5)])
    e[:, :100] = np.nan
    e[0, 100:200] = np.inf
    e[2, 200:300] = np.nan
    surprise = rarity._surprise
    out["_surprise/int"] = surprise(v, il, im, isz, e)
    out["_surprise/float"] = surprise(v, il + 0.5, im * 1.0, isz * 1.0, e)
    out["_surprise/negative"] = surprise(v, il - 4000, im, isz, e)
    out["_surprise/f32"] = surprise(v.astype(np.float32), il, im, isz, e)
    out["_surprise/f32edges"] = surprise(v, il, im, isz, e.astype(np.float32))
    out["_surprise/f32counts"] = surprise(v, il.astype(np.float32), im, isz, e)
    out["_surprise/broadcast"] = surprise(v[:300], il[:300], im[:300], np.array([8000]), e[:, :1])
    unsigned = (il.astype(np.uint16), im.astype(np.uint32), isz.astype(np.uint64))
    out["_surprise/unsigned"] = surprise(v, *unsigned, e)
    out["_surprise/no_history"] = surprise(v, il * 0, im * 0, isz * 0, e * np.nan)
    return out


def calibration_outputs() -> dict[str, object]:
    from vigil.detection import calibration
    from vigil.detection.base import OnlineState

    out: dict[str, object] = {}
    rng = np.random.default_rng(11)
    odd = np.abs(rng.normal(size=30_000)) * 2
    odd[rng.integers(0, len(odd), 300)] = np.nan
    odd[rng.integers(0, len(odd), 20)] = np.inf
    odd[rng.integers(0, len(odd), 5)] = -np.inf
    odd[100:200] = 0.0
    odd[200:300] = -0.0
    past = odd > 3
    variants = [
        {},
        {"ahead": True},
        {"first": len(odd)},
        {"learning": 10**6},
        {"learning": 10**6, "ahead": True},
        {"offset": 10**5, "first": 50},
        {"beat_from": 10**6},
        {"beat_from": -20},
        {"rare": np.inf},
        {"rare": 0.0},
        {"rare": -np.inf},
        {"rare": np.nan},
        {"open_row": -1},
        {"learning": 0, "ahead": True},
        {"first": 40_000},
        {"offset": 5, "first": 3, "learning": 5000, "ahead": True, "beat_from": 7},
    ]
    for k, kwargs in enumerate(variants):
        out[f"calibrate_odd/{k}"] = vars(calibration.calibrate(odd, past, **kwargs))
    nothing = np.array([], dtype=bool)
    out["calibrate_empty"] = vars(calibration.calibrate(np.array([]), nothing))
    out["calibrate_one"] = vars(
        calibration.calibrate(np.array([5.0]), np.array([True]), learning=0)
    )
    scalars = (0.0, -0.0, 3.0, 6.0, 12.0, np.inf, np.nan, -1.0)
    out["severity_scalars"] = [calibration.severity_from_rarity(v) for v in scalars]
    out["severity_list"] = calibration.severity_from_rarity([0.0, 6.0, 60.0, np.nan])
    t3 = np.abs(rng.standard_t(3, 50_000))
    scores = {
        "abs_gauss_100k": np.abs(rng.normal(size=100_000)),
        "nan_t3_50k": np.where(rng.random(50_000) < 0.05, np.nan, t3),
        "counts_50k": rng.poisson(2, 50_000).astype(float),
    }
    for name, score in scores.items():
        past = score > 3
        out[f"calibrate/{name}"] = vars(calibration.calibrate(score, past))
        ahead = calibration.calibrate(score, past, ahead=True, learning=200)
        out[f"calibrate_ahead/{name}"] = vars(ahead)
        later = calibration.calibrate(
            score, past, offset=500, first=9000, open_row=8990, beat_from=8500
        )
        out[f"calibrate_first/{name}"] = vars(later)
        continued = calibration.calibrate_continuation(
            score[:8000], 20_000, score[8000:], past[8000:]
        )
        out[f"continuation/{name}"] = vars(continued)
        state, pieces = OnlineState(), []
        for cut in range(0, len(score), 7000):  # a stream in batches, one state
            state.offset, state.scored_from = 0, cut
            part = calibration.calibrate_online(score[: cut + 7000], state, past[: cut + 7000])
            pieces.append(vars(part))
        out[f"online/{name}"] = pieces
    return out


def detector_frames(quick: bool) -> dict[str, pd.DataFrame]:
    from tests.benchmarks.run import minute_series
    from vigil.detection.synthetic import REAL_WORLD_KINDS, real_world_series

    frames = {} if quick else {"minute_1m": minute_series(1_000_000)}
    frames["minute_60k"] = minute_series(60_000, seed=3)
    for kind in REAL_WORLD_KINDS:
        frames[kind] = real_world_series(kind, days=14)[["timestamp", "value"]]
    frame = minute_series(40_000, seed=5)
    values = frame["value"].to_numpy().copy()
    values[np.random.default_rng(3).integers(0, len(values), 2000)] = np.nan
    values[10_000:12_000] = 50.0
    values[20_000:20_500] = np.nan
    frame["value"] = values
    frames["nan_constant_40k"] = frame
    frame = minute_series(40_000, seed=6)
    frame["value"] = np.round(frame["value"] / 5)  # whole numbers: ties
    frames["integers_40k"] = frame
    return frames


def detector_outputs(quick: bool) -> dict[str, object]:
    from vigil.detection import make_detector, run_detection
    from vigil.detection.stream import OnlineScorer

    out: dict[str, object] = {}
    for name, frame in detector_frames(quick).items():
        for detector in ("zscore", "auto"):
            out[f"{detector}/{name}"] = run_detection(frame, detector)
        if len(frame) > 100_000:
            continue
        for method in ("rolling", "global"):
            out[f"zscore-{method}/{name}"] = run_detection(frame, "zscore", method=method)
        for detector in ("stl", "iforest", "ensemble"):
            try:
                out[f"{detector}/{name}"] = run_detection(frame, detector)
            except Exception as error:  # the same error from both trees is the same output
                out[f"{detector}/{name}"] = repr(error)
        for detector in ("zscore", "auto", "stl"):
            out[f"online/{detector}/{name}"] = run_detection(frame, detector, online=True)
            scorer = OnlineScorer(make_detector(detector))
            parts = [scorer.update(frame.iloc[i : i + 2500]) for i in range(0, len(frame), 2500)]
            out[f"stream/{detector}/{name}"] = pd.concat(parts)
        for detector in ("zscore", "auto"):  # a live stream's last rows: a point or two
            scorer = OnlineScorer(make_detector(detector))
            cuts = [*range(len(frame) - 150, len(frame), 3), len(frame)]  # 1 point, then 2
            cuts = sorted({*cuts, *(cut + 1 for cut in cuts[:-1])})
            parts = [scorer.update(frame.iloc[a:b]) for a, b in pairwise([0, *cuts])]
            out[f"stream-points/{detector}/{name}"] = pd.concat(parts)
        fitted = make_detector("zscore").fit(frame.iloc[: len(frame) // 2])
        out[f"zscore_score/{name}"] = fitted.score(frame.iloc[len(frame) // 2 :])
    return out


def dump(root: Path, path: Path, quick: bool) -> None:
    sys.path.insert(0, str(root))
    started = time.perf_counter()
    out = rarity_outputs(quick)
    out.update(calibration_outputs())
    out.update(detector_outputs(quick))
    with path.open("wb") as file:
        pickle.dump(out, file)
    print(f"{root}: {len(out)} outputs in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def differences(a: object, b: object, where: str) -> list[str]:
    if isinstance(a, pd.DataFrame):
        if not isinstance(b, pd.DataFrame) or list(a.columns) != list(b.columns):
            return [f"{where}: columns differ"]
        found = differences(a.index.to_numpy(), b.index.to_numpy(), f"{where}[index]")
        if a.attrs != b.attrs:
            found.append(f"{where}: attrs differ")
        for column in a.columns:
            found += differences(a[column].to_numpy(), b[column].to_numpy(), f"{where}[{column}]")
        return found
    if isinstance(a, np.ndarray):
        if not isinstance(b, np.ndarray) or a.dtype != b.dtype or a.shape != b.shape:
            return [f"{where}: dtype or shape differ"]
        if a.dtype == object:
            same = all(x == y for x, y in zip(a.tolist(), b.tolist(), strict=True))
            return [] if same else [f"{where}: values differ"]
        if a.tobytes() != b.tobytes():
            changed = np.flatnonzero(a.reshape(-1).view(np.uint8) != b.reshape(-1).view(np.uint8))
            return [f"{where}: {changed.size} bytes differ, the first at byte {changed[0]}"]
        return []
    if isinstance(a, tuple | list):
        if not isinstance(b, tuple | list) or len(a) != len(b):
            return [f"{where}: lengths differ"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{where}[{i}]")
        ]
    if isinstance(a, dict):
        if not isinstance(b, dict) or a.keys() != b.keys():
            return [f"{where}: keys differ"]
        return [d for key in a for d in differences(a[key], b[key], f"{where}[{key}]")]
    if isinstance(a, float):
        same = isinstance(b, float) and np.float64(a).tobytes() == np.float64(b).tobytes()
        return [] if same else [f"{where}: {a!r} != {b!r}"]
    return [] if type(a) is type(b) and a == b else [f"{where}: {a!r} != {b!r}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("revision", nargs="?", default="main", help="git revision to compare to")
    parser.add_argument("--quick", action="store_true", help="skip the 1M-row series")
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump:
        dump(args.root, args.dump, args.quick)
        return
    with tempfile.TemporaryDirectory() as scratch:
        theirs = Path(scratch) / "tree"
        theirs.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.revision], check=True, capture_output=True
        )
        subprocess.run(["tar", "-x", "-C", str(theirs)], input=archive.stdout, check=True)
        results = {}
        for label, root in (("revision", theirs), ("checkout", ROOT)):
            results[label] = Path(scratch) / f"{label}.pkl"
            command = [sys.executable, __file__, "--dump", str(results[label]), "--root", str(root)]
            subprocess.run(command + (["--quick"] if args.quick else []), check=True, cwd=root)
        with results["revision"].open("rb") as file:
            expected = pickle.load(file)
        with results["checkout"].open("rb") as file:
            got = pickle.load(file)
    found = differences(expected, got, "outputs")
    print(f"{len(expected)} outputs compared byte for byte with {args.revision}: ", end="")
    print(f"{len(found)} differences" if found else "identical")
    for line in found[:50]:
        print("  ", line)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
