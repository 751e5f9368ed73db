"""The Live page's cards with many series: a page at a time, most pressing first, and a
filter that selects by name and says what it cannot read."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest

from tests.live.test_charts import score, store_points
from vigil.services import live_store


def scored_points(flagged_last: bool) -> pd.DataFrame:
    """Five minute points, scored; the last flagged (an episode going on) when asked."""
    flags = np.array([False] * 4 + [flagged_last])
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2026-11-30 10:00", periods=5, freq="min"),
            "value": [1.0, 1.1, 0.9, 1.0, 9.0 if flagged_last else 1.05],
            "score": 0.5,
            "severity": np.where(flags, 0.97, 0.1),
            "is_anomaly": flags,
            "expected": 1.0,
            "lower": 0.5,
            "upper": 1.5,
            "explanation": np.where(flags, "far above the expected band", ""),
            "episode": pd.array([None] * 4 + [4 if flagged_last else None], dtype="Int64"),
            "onset": flags,
        }
    )


@pytest.fixture
def thirty(dash_app) -> str:
    """Thirty series under one prefix; the 17th has an anomaly going on."""
    prefix = f"fleet{uuid.uuid4().hex[:6]}"
    for i in range(30):
        frame = scored_points(flagged_last=i == 17)
        score(live_store(), frame, store_points(live_store(), f"{prefix}-{i:02d}", frame))
    return prefix


def card_names(cards) -> list[str]:
    return [card.children.children.id["index"] for card in cards]


def test_cards_come_a_page_at_a_time_the_anomaly_first(thirty):
    from vigil.pages.live import CARDS_PER_PAGE, show_cards

    cards, _updated, _charted, pages, _pager, count, invalid, problem = show_cards(
        1, None, None, thirty, 1, None
    )

    assert len(cards) == CARDS_PER_PAGE == 24
    assert pages == 2
    assert card_names(cards)[0] == f"{thirty}-17"  # its anomaly is going on
    assert card_names(cards)[1:4] == [f"{thirty}-00", f"{thirty}-01", f"{thirty}-02"]
    assert count.startswith("Series 1 to 24 of 30")
    assert (invalid, problem) == (False, "")

    second = show_cards(2, None, None, thirty, 2, None)[0]

    assert card_names(second) == [f"{thirty}-{i:02d}" for i in range(23, 30)][1:]
    assert not set(card_names(cards)) & set(card_names(second))


def test_a_filter_selects_by_pattern_and_names_what_it_cannot_read(thirty):
    from vigil.pages.live import show_cards

    cards, _, _, pages, _, count, _, _ = show_cards(1, None, None, f"{thirty}-1?", 1, None)

    assert card_names(cards) == [f"{thirty}-17"] + [f"{thirty}-1{i}" for i in range(10) if i != 7]
    assert pages == 1
    assert count.startswith("10 series (of ")

    cards, _, _, _, _, count, invalid, problem = show_cards(1, None, None, "env=~(", 1, None)

    assert invalid
    assert problem.startswith("env=~(: not a regular expression")
    assert len(cards) == 24  # an unreadable filter selects every series

    nothing = show_cards(1, None, None, f"{thirty}-nobody", 1, None)

    assert nothing[5].startswith("No series of ")
    assert "No live series matches" in str(nothing[0][0].children.children)


def test_cards_show_their_labels_and_a_filter_selects_by_them(dash_app):
    from vigil.live.points import read_batch
    from vigil.pages.live import show_cards
    from vigil.services import settings
    from vigil.usecases.live_series import late_window

    prefix = f"tagged{uuid.uuid4().hex[:6]}"
    for name, env in ((f"{prefix}-a", "prod"), (f"{prefix}-b", "dev")):
        body = {
            "labels": {"env": env, "service": "<b>checkout</b>"},
            "points": [{"timestamp": "2026-11-30T10:00:00", "value": 1.0}],
        }
        live_store().add(name, read_batch(body), late_window=late_window(settings()))

    cards, _, _, _, _, count, _, _ = show_cards(1, None, None, f"{prefix} env=prod", 1, None)

    assert card_names(cards) == [f"{prefix}-a"]
    tags = cards[0].children.children.children[1]
    assert [tag.children for tag in tags.children] == ["env=prod", "service=<b>checkout</b>"]
    assert count.startswith("1 series (of ")
