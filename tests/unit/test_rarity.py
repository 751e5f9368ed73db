"""Ranks in the series' own history: what each row is compared with, the same in any batching."""

from __future__ import annotations

import numpy as np
import pytest

from vigil.detection import rarity
from vigil.detection.rarity import block_size, rarity_at, trailing_rarity, two_sided_surprise


def noisy(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(size=n), 1)  # ties on purpose
    values[rng.integers(0, n, n // 30)] = np.nan
    return values


@pytest.mark.parametrize(("first", "offset"), [(0, 0), (900, 37), (5, 250)])
def test_each_row_is_ranked_in_the_window_before_its_block(first, offset):
    values, window = noisy(3000), 700
    ranked = trailing_rarity(values, window, first=first, offset=offset)
    for row in range(first, len(values)):
        if np.isnan(values[row]):
            assert np.isnan(ranked.surprise[row])
            continue
        start = row - (offset + row) % block_size(offset + row)
        history = values[max(0, start - window) : max(0, start)]
        history = history[~np.isnan(history)]
        assert ranked.history[row] == len(history)
        if len(history) and history.min() <= values[row] <= history.max():
            expected = two_sided_surprise(
                np.array([(history <= values[row]).sum()]),
                np.array([(history >= values[row]).sum()]),
                np.array([len(history)]),
            )[0]
            assert ranked.surprise[row] == pytest.approx(expected, abs=1e-12)
    assert np.isnan(ranked.surprise[:first]).all()


def test_past_the_record_the_tail_goes_on():
    values = np.r_[np.random.default_rng(0).normal(size=2000), 6.0, 30.0]
    ranked = trailing_rarity(values, 8000, offset=0)
    just_past, far_past = ranked.surprise[-2], ranked.surprise[-1]
    assert far_past > just_past > np.log(2001 / 2)


def test_a_stream_cut_anywhere_gets_the_ranks_of_the_whole_series():
    values = noisy(6000, seed=4)
    whole = trailing_rarity(values, 2000).surprise
    for cut in (2100, 3333, 4097):
        context = max(0, cut - 2000 - block_size(cut))
        part = trailing_rarity(values[context:], 2000, first=cut - context, offset=context)
        np.testing.assert_array_equal(part.surprise[cut - context :], whole[cut:])


def test_ranking_a_few_rows_agrees_with_ranking_them_all():
    values = noisy(20_000, seed=3)
    rows = np.random.default_rng(5).integers(0, len(values), 200)
    for offset in (0, 123):
        whole = trailing_rarity(values, 3000, offset=offset).surprise
        np.testing.assert_array_equal(rarity_at(values, rows, 3000, offset=offset), whole[rows])


def test_a_window_shorter_than_a_block_still_ranks_in_the_rows_before_the_block():
    """Values that enter and leave the window within one slide are not searched for before
    they are in it."""
    values = noisy(5000)
    ranked = trailing_rarity(values, 40, offset=0)
    for row in (4100, 4500, 4999):
        start = row - row % block_size(row)
        history = values[start - 40 : start]
        assert ranked.history[row] == np.count_nonzero(~np.isnan(history))


@pytest.mark.parametrize("ties", [True, False])
@pytest.mark.parametrize("rows", [1, 5, 101, 700])
@pytest.mark.parametrize("window", [40, 3000, 8000])
def test_a_streams_few_new_rows_are_ranked_as_sliding_ranks_them(monkeypatch, rows, window, ties):
    """A stream's last blocks are each ranked in their own sorted (or partitioned) history:
    every field the same, byte for byte, as sliding the window over them gives, with ties,
    missing values and infinities."""
    values = noisy(20_000, seed=6)
    if not ties:
        values += np.random.default_rng(7).normal(size=len(values)) / 1000
    values[[700, 9000, 19_990]] = [np.inf, -np.inf, np.inf]
    wanted = np.random.default_rng(2).random(len(values)) < 0.7
    for offset in (0, 5, 40_000):
        for first in (len(values) - rows, len(values) - rows - 17):
            for mask in (None, wanted):
                ranked = {"first": first, "offset": offset, "wanted": mask, "band_quantile": 0.01}
                alone = trailing_rarity(values, window, **ranked)
                monkeypatch.setattr(rarity, "ALONE_BLOCKS", 0)
                slid = trailing_rarity(values, window, **ranked)
                monkeypatch.undo()
                for field in ("surprise", "history", "lower", "upper"):
                    assert getattr(alone, field).tobytes() == getattr(slid, field).tobytes()
