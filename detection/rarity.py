"""How rare a value is in its series' own recent history: exact trailing tail probabilities.

`trailing_rarity` ranks each value among the (at most) `window` values before it and turns the
rank into a two-sided tail probability, `p = 2 * (k + 1) / (n + 1)` with `k` the values at
least as extreme on the nearer side and `n` the history's size; its surprise is `-ln p`. This
calibrates any score by construction: a surprise of 7 is as rare on a noisy series as on a
quiet one, and a value just past the history's extremes gets `ln((n + 1) / 2)`, so a short
history can never be very sure. Past the extremes the tail goes on exponentially (peaks over
a threshold): each mean excess of the history's top TAIL_SHARE over its edge (a tail scale)
adds one nat, so a value far past the record ranks above one just past it.

Ranks are taken a block of rows at a time, against the `window` rows before the block's
start. Blocks grow with the row number, from MIN_BLOCK rows to BLOCK (about 1/16 of the rows
before them), so a row's history ends at most about 6% of its length before it, and they
are laid on the series' row numbers, so the ranks are causal and the same however a stream
was cut into batches. A sorted copy of the window slides from block to block, so the cost is
about `len(values) * log(window)` comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The share of the history (at least TAIL_MIN values) whose excess over its edge sets the
#: exponential tail past the extremes.
TAIL_SHARE = 0.05
TAIL_MIN = 5
#: The tail's scale is at least this share of the history's interquartile range, so a view
#: that moves smoothly (a local level) does not make a small new record very surprising.
TAIL_FLOOR = 0.3

#: The most rows ranked against one sorted window (a power of two), and the fewest.
BLOCK = 1024
MIN_BLOCK = 64


def block_size(row: int) -> int:
    """Rows in the block that starts at or holds series row `row`: 1/16 of the largest power
    of two at most `row`, within MIN_BLOCK..BLOCK. A power of two that divides every row where
    the size changes, so blocks tile the series the same way from any starting row."""
    top = 1 << max(int(row), 1).bit_length() - 1
    return min(BLOCK, max(MIN_BLOCK, top // 16))


@dataclass(frozen=True)
class Rarity:
    """Per row: signed surprise in nats (positive for a high value, negative for a low one,
    NaN for a missing value or a row not ranked), the size of the history it was ranked in,
    and that history's `band_quantile` and `1 - band_quantile` quantiles."""

    surprise: np.ndarray
    history: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def two_sided_surprise(at_most: np.ndarray, at_least: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Signed `-ln p` from the counts of history values `<= x` and `>= x` among `size`."""
    nearer = np.minimum(at_most, at_least)
    p = np.minimum(1.0, 2.0 * (nearer + 1.0) / (size + 1.0))
    sign = np.where(at_least < at_most, 1.0, -1.0)
    return sign * -np.log(p)


def trailing_rarity(
    values: np.ndarray,
    window: int,
    *,
    first: int = 0,
    offset: int = 0,
    band_quantile: float = 0.001,
    wanted: np.ndarray | None = None,
) -> Rarity:
    """Rank `values[t]` among the non-missing values of the `window` rows before its block, for
    every `t >= first` (where `wanted`, when given, is true). `offset` is the row number of
    `values[0]` in the whole series (it aligns the blocks); other rows get NaN and only serve
    as history.
    """
    values = np.asarray(values, dtype=float)
    n_rows = len(values)
    # per row: how many history values are at least and at most it, and the edges and tail
    # scales of its history; the tail probabilities are computed from these in one pass
    at_least = np.zeros(n_rows)
    at_most = np.zeros(n_rows)
    history = np.zeros(n_rows, dtype=np.int64)
    edges = np.full((4, n_rows), np.nan)  # highest, lowest, tail scale above, below
    lower = np.full(n_rows, np.nan)
    upper = np.full(n_rows, np.nan)
    at = offset + first
    start = first - at % block_size(at)  # the block the first wanted row is in
    ordered = _present(values[max(0, start - window) : max(0, start)])
    ordered.sort()
    while start < n_rows:
        end = min(n_rows, start + block_size(offset + start))
        rows = slice(max(start, first), end)
        # each block is sorted once: to rank its values, then to enter the window
        block = values[max(0, start) : end]
        order = np.argsort(block)
        entering = block[order[: np.count_nonzero(~np.isnan(block))]]
        ranked = rows.start - max(0, start)
        history[rows] = len(ordered)
        if len(ordered) and ranked < len(block) and (wanted is None or wanted[rows].any()):
            needles = block[ranked:]
            by_value = order if ranked == 0 else np.argsort(needles)
            least, most = _counts(ordered, needles[by_value])
            at_least[rows.start + by_value] = least
            at_most[rows.start + by_value] = most
            edges[:, rows] = np.array(_edges(ordered))[:, None]
            k = int(band_quantile * len(ordered))
            lower[rows], upper[rows] = ordered[k], ordered[len(ordered) - 1 - k]
        leaving = values[max(0, start - window) : max(0, end - window)]
        ordered = _slide(ordered, _present(leaving), entering)
        start = end
    surprise = _surprise(values, at_least, at_most, history, edges)
    surprise[:first] = np.nan
    if wanted is not None:
        surprise[~wanted] = np.nan
    return Rarity(surprise, history, lower, upper)


def rarity_at(values: np.ndarray, rows: np.ndarray, window: int, *, offset: int = 0) -> np.ndarray:
    """The signed surprise `trailing_rarity(values, window, offset=offset)` gives `rows`, for
    a few rows: each is ranked on its own, without sliding a window over the whole series."""
    values = np.asarray(values, dtype=float)
    surprise = np.full(len(rows), np.nan)
    for k, row in enumerate(rows):
        if np.isnan(values[row]):
            continue
        start = row - (offset + row) % block_size(offset + row)
        ordered = np.sort(_present(values[max(0, start - window) : max(0, start)]))
        if not len(ordered):
            surprise[k] = 0.0
            continue
        value = values[row : row + 1]
        least, most = _counts(ordered, value)
        edges = np.array(_edges(ordered))[:, None]
        size = np.array([len(ordered)])
        surprise[k] = _surprise(value, least.astype(float), most.astype(float), size, edges)[0]
    return surprise


def _counts(ordered: np.ndarray, needles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How many of the sorted history `ordered` are at least and at most each of the sorted
    `needles` (sorted needles find their places faster): one search, and a second only for
    the values the history holds (a value it does not hold has as many below it as at most
    it)."""
    size = len(ordered)
    at_most = np.searchsorted(ordered, needles, side="right")
    at_least = size - at_most
    tied = np.flatnonzero(at_most > 0)
    tied = tied[ordered[at_most[tied] - 1] == needles[tied]]
    if tied.size:
        at_least[tied] = size - np.searchsorted(ordered, needles[tied], side="left")
    return at_least, at_most


def _edges(ordered: np.ndarray) -> tuple[float, float, float, float]:
    """The sorted history's highest and lowest values, and the scales of its tails past them:
    the mean excess of its top (bottom) TAIL_SHARE over that share's edge, at least a
    TAIL_FLOOR share of its interquartile range."""
    size = len(ordered)
    tail = min(size, max(TAIL_MIN, int(TAIL_SHARE * size)))
    middle = ordered[(3 * size) // 4] - ordered[size // 4]
    floor = max(TAIL_FLOOR * middle, (ordered[-1] - ordered[0]) * 0.01, 1e-12)
    top, bottom = ordered[size - tail :], ordered[:tail]
    scale_high = max(float(top.sum()) / tail - top[0], floor)
    scale_low = max(bottom[-1] - float(bottom.sum()) / tail, floor)
    return float(ordered[-1]), float(ordered[0]), scale_high, scale_low


def _surprise(
    values: np.ndarray,
    at_least: np.ndarray,
    at_most: np.ndarray,
    size: np.ndarray,
    edges: np.ndarray,
) -> np.ndarray:
    """Signed surprise (positive on the high side) from each value's counts in a history of
    `size` and that history's `edges`: the ln of the one-sided tail probabilities, the
    empirical `(k + 1) / (n + 1)` less one for each tail scale a value lies past the history's
    extreme; NaN for a missing value. A row with no history (its edges NaN) gets 0."""
    highest, lowest, scale_high, scale_low = edges
    denominator = np.log(size + 1.0)
    with np.errstate(invalid="ignore"):
        # fmax: a missing value or edge is past nothing
        past_high = np.fmax((values - highest) / scale_high, 0.0)
        past_low = np.fmax((lowest - values) / scale_low, 0.0)
    log_high = np.log(at_least + 1.0) - denominator - past_high
    log_low = np.log(at_most + 1.0) - denominator - past_low
    nearer = np.minimum(log_high, log_low)
    surprise = np.clip(-(np.log(2.0) + nearer), 0.0, None)
    surprise = np.where(log_high < log_low, surprise, -surprise)
    surprise[np.isnan(values)] = np.nan
    return surprise


def _present(values: np.ndarray) -> np.ndarray:
    return values[~np.isnan(values)]


def _slide(ordered: np.ndarray, leaving: np.ndarray, entering: np.ndarray) -> np.ndarray:
    """The sorted window with the sorted `entering` put in and `leaving` taken out (in that
    order: with a window shorter than a block, some values leave in the slide they enter)."""
    if entering.size:
        merged = np.concatenate([ordered, entering])
        merged.sort(kind="stable")  # two sorted runs: a linear merge
        ordered = merged
    if leaving.size:
        gone = np.sort(leaving)
        where = np.searchsorted(ordered, gone, side="left")
        # equal values leave from consecutive places: add each one's rank among its equals
        new_value = np.concatenate([[True], gone[1:] != gone[:-1]])
        run_start = np.maximum.accumulate(np.where(new_value, np.arange(gone.size), 0))
        where += np.arange(gone.size) - run_start
        keep = np.ones(len(ordered), dtype=bool)
        keep[where] = False
        ordered = ordered[keep]
    return ordered
