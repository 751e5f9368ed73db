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

from collections.abc import Sequence
from dataclasses import dataclass, field

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
#: Rows `_surprise` works on at a time, so that its steps run in cache.
CHUNK = 16384


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
    surprise: np.ndarray = sign * -np.log(p)
    return surprise


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
    # counts of the rows from `first` on only: a stream ranks a few rows after thousands
    ranked_rows = max(0, n_rows - first)
    ranks = _Ranks(
        np.zeros(ranked_rows, dtype=np.int64), np.zeros(ranked_rows, dtype=np.int64), first
    )
    at = offset + first
    start = first - at % block_size(at)  # the block the first wanted row is in
    signed_zeros = _has_negative_zero(values)
    blocks = _blocks(start, n_rows, offset)
    if len(blocks) <= ALONE_BLOCKS and not signed_zeros:
        for low, end in blocks:
            _rank_alone(values, window, low, end, first, band_quantile, wanted, ranks)
    else:
        _rank_sliding(values, window, blocks, first, band_quantile, wanted, signed_zeros, ranks)
    at_least, at_most = ranks.at_least, ranks.at_most
    firsts, sizes, block_edges = ranks.firsts, ranks.sizes, ranks.edges
    # each row takes its block's history size, edges and tail scales, and band (NaN if none)
    history = np.zeros(n_rows, dtype=np.int64)
    lower, upper, surprise = np.empty(n_rows), np.empty(n_rows), np.empty(n_rows)
    lower[:first] = upper[:first] = surprise[:first] = np.nan
    if firsts:
        block_of_row = np.repeat(np.arange(len(firsts)), np.diff(np.append(firsts, n_rows)))
        np.take(sizes, block_of_row, out=history[first:])
        per_block = np.array(block_edges).T
        per_block[4].take(block_of_row, out=lower[first:])
        per_block[5].take(block_of_row, out=upper[first:])
        # the edges per row a few blocks at a time, so they need not all be held at once
        edges = np.empty((4, min(n_rows - first, 4 * CHUNK)))
        for start in range(first, n_rows, edges.shape[1]):
            rows = slice(start, start + edges.shape[1])
            in_block = block_of_row[start - first : rows.stop - first]
            for per_row, edge in zip(edges, per_block[:4], strict=True):
                edge.take(in_block, out=per_row[: len(in_block)])
            counted = slice(start - first, rows.stop - first)
            surprise[rows] = _surprise(
                values[rows],
                at_least[counted],
                at_most[counted],
                history[rows],
                edges[:, : len(in_block)],
            )
    if wanted is not None:
        surprise[~wanted] = np.nan
    return Rarity(surprise, history, lower, upper)


#: Ranked in at most this many blocks (a stream's new rows), each block's history is sorted
#: on its own rather than slid from the one before...
ALONE_BLOCKS = 2
#: ... and a block of at most this many rows to rank is counted against it unsorted.
FEW_NEEDLES = 16


@dataclass
class _Ranks:
    """What ranking fills in: per row from `first` on (`at_least[k]` is row `first + k`'s),
    how many history values are at least and at most it; per block ranked, its first ranked
    row, the size of its history, and its edges and band (NaN where it was not ranked)."""

    at_least: np.ndarray
    at_most: np.ndarray
    first: int
    firsts: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    edges: list[tuple[float, ...]] = field(default_factory=list)

    def block(self, first: int, size: int) -> None:
        """A block whose rows from `first` are ranked in a history of `size` values."""
        self.firsts.append(first)
        self.sizes.append(size)
        self.edges.append(NOT_RANKED)


#: The edges and band of a block not ranked.
NOT_RANKED = (np.nan,) * 6


def _blocks(start: int, n_rows: int, offset: int) -> list[tuple[int, int]]:
    """The blocks from row `start` (a block's first, maybe before row 0) to the end, as the
    rows (from 0) each starts and ends at."""
    blocks = []
    while start < n_rows:
        rows_in_block = BLOCK if offset + start >= 16 * BLOCK else block_size(offset + start)
        end = min(n_rows, start + rows_in_block)
        blocks.append((start, end))
        start = end
    return blocks


def _rank_alone(
    values: np.ndarray,
    window: int,
    start: int,
    end: int,
    first: int,
    band_quantile: float,
    wanted: np.ndarray | None,
    ranks: _Ranks,
) -> None:
    """Rank the rows of one block (from `start`, maybe before row 0, to `end`) that are from
    `first` on, in the `window` rows before the block, with nothing carried from another
    block: what `_rank_sliding` finds for it (the series holds no -0.0, whose order among
    zeros sliding keeps)."""
    rows = slice(max(start, first), end)
    if rows.start >= end:
        return
    history = _present(values[max(0, start - window) : max(0, start)])
    size = len(history)
    ranks.block(rows.start, size)
    if not size or (wanted is not None and not wanted[rows].any()):
        return
    needles = values[rows]
    k = int(band_quantile * size)
    if len(needles) <= FEW_NEEDLES:
        ordered = _in_order_where_read(history, k)
        at_most = np.count_nonzero(history <= needles[:, None], axis=1)
        at_least = np.count_nonzero(history >= needles[:, None], axis=1)
    else:
        ordered = np.sort(history)
        by_needle = np.argsort(needles)
        at_least, at_most = np.empty(len(needles), np.int64), np.empty(len(needles), np.int64)
        at_least[by_needle], at_most[by_needle] = _counts(ordered, needles[by_needle])
    missing = np.isnan(needles)
    at_least[missing], at_most[missing] = 0, size  # as sliding counts them
    counted = slice(rows.start - ranks.first, end - ranks.first)
    ranks.at_least[counted], ranks.at_most[counted] = at_least, at_most
    ranks.edges[-1] = (*_edges(ordered), ordered[k], ordered[size - 1 - k])


def _in_order_where_read(history: np.ndarray, k: int) -> np.ndarray:
    """`history` partly sorted: at every position `_edges` reads and at the band's (`k` from
    either end), the values a full sort puts there (a partition, then the tails sorted)."""
    size = len(history)
    tail = _tail(size)
    if 4 * tail >= size:
        return np.sort(history)
    kth = sorted({0, tail - 1, k, size // 4, (3 * size) // 4, size - 1 - k, size - tail, size - 1})
    ordered = np.partition(history, kth)
    ordered[:tail].sort()
    ordered[size - tail :].sort()
    return ordered


def _rank_sliding(
    values: np.ndarray,
    window: int,
    blocks: list[tuple[int, int]],
    first: int,
    band_quantile: float,
    wanted: np.ndarray | None,
    signed_zeros: bool,
    ranks: _Ranks,
) -> None:
    """Rank the rows from `first` on of `blocks`, each in the `window` rows before it, with a
    sorted copy of the window slid from block to block."""
    n_rows = len(values)
    start = blocks[0][0] if blocks else n_rows
    # the window, sorted, and the row each of its values came from: it slides by rows, so the
    # values that leave need not be sorted and searched for
    row_type = np.int32 if n_rows < 2**31 else np.int64
    before = values[max(0, start - window) : max(0, start)]
    history_values = _present(before)
    ordered = np.sort(history_values)
    ordered_rows = np.flatnonzero(~np.isnan(before)).astype(row_type) + max(0, start - window)
    ordered_rows = ordered_rows[np.argsort(history_values, kind="stable")]
    steps = np.arange(BLOCK)
    for start, end in blocks:
        low = max(0, start)
        rows = slice(max(start, first), end)
        # each block is sorted once: to rank its values, then to enter the window
        block = values[low:end]
        order = np.argsort(block)  # missing values last
        last = block[order[-1]] if len(block) else 0.0
        present = len(block) if last == last else np.count_nonzero(block == block)
        entering = order[:present]
        entering_rows = entering + low
        size = len(ordered)
        # the entering values merge into the window, after the values equal to them
        merged = np.concatenate((ordered, block.take(entering)))
        by_value = np.argsort(merged, kind="stable")
        ranked = rows.start - low
        if rows.start < end:
            ranks.block(rows.start, size)
        if size and ranked < len(block) and (wanted is None or wanted[rows].any()):
            if ranked == 0:  # the merge tells how many history values are at most each
                most = (by_value >= size).nonzero()[0]
                most -= steps[:present]
                counted = entering_rows - first
                ranks.at_least[counted] = _at_least(ordered, merged[size:], most)
                ranks.at_most[counted] = most
                if present < len(block):
                    ranks.at_most[order[present:] + low - first] = size  # missing values
            else:
                needles = block[ranked:]
                by_needle = np.argsort(needles)
                least, most = _counts(ordered, needles[by_needle])
                ranks.at_least[rows.start - first + by_needle] = least
                ranks.at_most[rows.start - first + by_needle] = most
            k = int(band_quantile * size)
            ranks.edges[-1] = (*_edges(ordered), ordered[k], ordered[size - 1 - k])
        merged_rows = np.concatenate((ordered_rows, entering_rows.astype(row_type)))
        ordered, ordered_rows = _leave(merged, merged_rows, by_value, end - window, signed_zeros)


def _leave(
    merged: np.ndarray,
    rows: np.ndarray,
    by_value: np.ndarray,
    leave_before: int,
    signed_zeros: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The window's values (`merged`, of `rows`) in the order `by_value`, but for those of the
    rows before `leave_before`; and their rows.

    Which of equal values leave does not matter, except for zeros: -0.0 and 0.0 are equal but
    not the same, so where the series holds a -0.0 (`signed_zeros`) the leftmost zeros leave,
    as many as the rows leaving, and the zeros that stay take the rows that stay."""
    if leave_before <= 0:
        return merged.take(by_value), rows.take(by_value)
    keep = (rows >= leave_before).take(by_value)
    if signed_zeros:
        merged, rows = merged.take(by_value), rows.take(by_value)
        low, high = merged.searchsorted(0.0, side="left"), merged.searchsorted(0.0, side="right")
        leaving = high - low - np.count_nonzero(keep[low:high])
        if leaving:
            rows[low + leaving : high] = rows[low:high][keep[low:high]]
            keep[low:high] = True
            keep[low : low + leaving] = False
        kept = keep.nonzero()[0]
        return merged.take(kept), rows.take(kept)
    kept = by_value.take(keep.nonzero()[0])
    return merged.take(kept), rows.take(kept)


def _has_negative_zero(values: np.ndarray) -> bool:
    zeros = values == 0.0
    return bool(zeros.any() and np.signbit(values[zeros]).any())


def _at_least(ordered: np.ndarray, needles: np.ndarray, at_most: np.ndarray) -> np.ndarray:
    """How many of the sorted history `ordered` (not empty) are at least each of the sorted
    `needles`, given how many are `at_most` each: `_counts`' second search, for the values
    the history holds, once per distinct value."""
    size = len(ordered)
    at_least = size - at_most
    # a needle below all the history looks at ordered[-1], which is above it: not tied
    tied = (ordered.take(at_most - 1) == needles).nonzero()[0]
    if tied.size:
        tied_values = needles[tied]
        new = np.empty(tied.size, dtype=bool)
        new[0] = True
        np.not_equal(tied_values[1:], tied_values[:-1], out=new[1:])
        firsts = new.nonzero()[0]
        below = ordered.searchsorted(tied_values[firsts], side="left")
        at_least[tied] = size - np.repeat(below, np.diff(np.append(firsts, tied.size)))
    return at_least


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
    tail = _tail(size)
    item = ordered.item
    highest, lowest = item(-1), item(0)
    floor = max(TAIL_FLOOR * (item((3 * size) // 4) - item(size // 4)), (highest - lowest) * 0.01)
    floor = max(floor, 1e-12)
    top_sum = float(np.add.reduce(ordered[size - tail :]))
    bottom_sum = float(np.add.reduce(ordered[:tail]))
    scale_high = max(top_sum / tail - item(size - tail), floor)
    scale_low = max(item(tail - 1) - bottom_sum / tail, floor)
    return highest, lowest, scale_high, scale_low


def _tail(size: int) -> int:
    """How many of a history of `size` values make each of its tails (see `_edges`)."""
    return min(size, max(TAIL_MIN, int(TAIL_SHARE * size)))


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
    values, at_least, at_most, size, *edge_rows = np.broadcast_arrays(
        values, at_least, at_most, size, *edges
    )
    counts = (at_least, at_most, size)
    if values.ndim != 1 or values.dtype != np.float64 or edge_rows[0].dtype != np.float64:
        return _plain_surprise(values, at_least, at_most, size, edge_rows)
    if any(c.dtype != np.float64 and c.dtype.kind not in "iu" for c in counts):
        return _plain_surprise(values, at_least, at_most, size, edge_rows)
    # `_plain_surprise`'s steps in float64, a chunk of rows at a time in buffers that stay in
    # cache, with each distinct whole count's log taken once
    logs = _logs_of_next(*counts)
    surprise = np.empty(len(values))
    buffers = np.empty((4, min(len(values), CHUNK)))
    for start in range(0, len(values), CHUNK):
        rows = slice(start, start + CHUNK)
        v, least, most, n = values[rows], at_least[rows], at_most[rows], size[rows]
        highest, lowest, scale_high, scale_low = (edge[rows] for edge in edge_rows)
        past_high, past_low, log_high, log_low = (buffer[: len(v)] for buffer in buffers)
        out = surprise[rows]
        with np.errstate(invalid="ignore"):
            # fmax: a missing value or edge is past nothing
            np.divide(np.subtract(v, highest, out=past_high), scale_high, out=past_high)
            np.fmax(past_high, 0.0, out=past_high)
            np.divide(np.subtract(lowest, v, out=past_low), scale_low, out=past_low)
            np.fmax(past_low, 0.0, out=past_low)
        denominator = _log_of_next(n, logs, out)
        np.subtract(_log_of_next(least, logs, log_high), denominator, out=log_high)
        log_high -= past_high
        np.subtract(_log_of_next(most, logs, log_low), denominator, out=log_low)
        log_low -= past_low
        high = np.less(log_high, log_low)
        nearer = np.minimum(log_high, log_low, out=out)
        nearer += np.log(2.0)
        np.clip(np.negative(nearer, out=out), 0.0, None, out=out)
        if np.isnan(out).any():  # negative counts: negate as np.where does, NaN too
            np.negative(out, out=out, where=~high)
        else:  # x * 1.0 is x and x * -1.0 is -x, zeros included
            sign = np.multiply(high, 2.0, out=past_high)
            sign -= 1.0
            out *= sign
        out[np.isnan(v)] = np.nan
    return surprise


def _plain_surprise(
    values: np.ndarray,
    at_least: np.ndarray,
    at_most: np.ndarray,
    size: np.ndarray,
    edges: Sequence[np.ndarray],
) -> np.ndarray:
    """`_surprise`, step by step, in whatever types its arguments have."""
    highest, lowest, scale_high, scale_low = edges
    denominator = np.log(size + 1.0)
    with np.errstate(invalid="ignore"):
        past_high = np.fmax((values - highest) / scale_high, 0.0)
        past_low = np.fmax((lowest - values) / scale_low, 0.0)
    log_high = np.log(at_least + 1.0) - denominator - past_high
    log_low = np.log(at_most + 1.0) - denominator - past_low
    nearer = np.minimum(log_high, log_low)
    surprise: np.ndarray = np.clip(-(np.log(2.0) + nearer), 0.0, None)
    surprise = np.where(log_high < log_low, surprise, -surprise)
    surprise[np.isnan(values)] = np.nan
    return surprise


def _logs_of_next(*counts: np.ndarray) -> np.ndarray | None:
    """`np.log(k + 1.0)` for every whole k up to the largest of the `counts`, where they are
    many whole numbers (the history's sizes and counts): each distinct one's log is taken
    once. None where they are not."""
    if all(c.dtype.kind in "iu" for c in counts) and counts[0].size >= 4096:
        low = min(int(c.min()) for c in counts)
        high = max(int(c.max()) for c in counts)
        if low >= 0 and high < counts[0].size:
            return np.log(np.arange(high + 1, dtype=np.float64) + 1.0)
    return None


def _log_of_next(count: np.ndarray, logs: np.ndarray | None, out: np.ndarray) -> np.ndarray:
    """`np.log(count + 1.0)` into `out`, looked up in `logs` when there are."""
    if logs is not None:
        return np.take(logs, count, out=out)
    logged: np.ndarray = np.log(np.add(count, 1.0, out=out), out=out)
    return logged


def _present(values: np.ndarray) -> np.ndarray:
    present: np.ndarray = values[~np.isnan(values)]
    return present
