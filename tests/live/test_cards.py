"""What a Live card says, from a summary row: statuses, episodes, an open one, learning."""

from __future__ import annotations

import pandas as pd
import pytest

from vigil.components.live import about, series_card
from vigil.live.status import SCORING_LAG, learning_left, status_of

NOW = 1_800_000_000.0
STALE = pd.Timedelta(minutes=10)


def summary_row(**values) -> pd.Series:
    """A `LiveStore.summary()` row of a scored, quiet series of minute points."""
    row = {
        "name": "cpu",
        "detector": "auto",
        "model": None,
        "error": None,
        "points": 3000,
        "first": pd.Timestamp("2026-03-01 00:00"),
        "last": pd.Timestamp("2026-03-03 01:59"),
        "received": NOW - 1,
        "unscored": 0,
        "waiting_since": float("nan"),
        "last_value": 41.5,
        "last_severity": 0.2,
        "learning_left": 0,
        "learning_at": pd.Timestamp("2026-03-03 01:59"),
        "step_seconds": 60.0,
        "recent_anomalies": 0,
        "recent_episodes": 0,
        "open": False,
        "open_since": pd.NaT,
        "open_points": float("nan"),
        "open_peak_time": pd.NaT,
        "open_peak_value": float("nan"),
        "open_peak_expected": float("nan"),
        "open_peak_severity": float("nan"),
        "open_peak_explanation": None,
        "detector_label": "Automatic",
    }
    return pd.Series({**row, **values})


def text_of(component) -> str:
    """The text a browser shows of a Dash component tree, a line per block."""
    children = getattr(component, "children", component)
    if isinstance(children, str):
        return children
    if isinstance(children, list):
        return "\n".join(text_of(child) for child in children)
    return text_of(children) if children is not None else ""


def card(row: pd.Series) -> str:
    status = status_of(row, now=NOW, stale_after=STALE)
    return text_of(series_card(row.to_dict(), status, "", False, learning_left(row)))


@pytest.mark.parametrize(
    ("duration", "said"),
    [
        (pd.Timedelta(seconds=20), "under a minute"),
        (pd.Timedelta(minutes=44, seconds=40), "45 min"),
        (pd.Timedelta(hours=3, minutes=20), "3 h 20 min"),
        (pd.Timedelta(hours=2), "2 h"),
        (pd.Timedelta(days=2, hours=3, minutes=40), "2 days 4 h"),
        (pd.Timedelta(hours=23, minutes=59, seconds=50), "1 day"),
    ],
)
def test_durations_are_rounded_as_a_person_would(duration, said):
    assert about(duration) == said


def test_a_learning_series_says_how_long_it_has_to_go_and_flags_nothing_yet():
    row = summary_row(learning_left=200, step_seconds=60.0, last_severity=float("nan"))

    assert status_of(row, now=NOW, stale_after=STALE) == "learning"
    assert learning_left(row).until == pd.Timestamp("2026-03-03 05:19")
    assert "Learning: about 3 h 20 min (200 points) to go" in card(row)
    assert "anomal" not in card(row)


def test_a_series_whose_step_is_not_known_says_the_points_to_go():
    row = summary_row(learning_left=299, step_seconds=float("nan"))

    assert status_of(row, now=NOW, stale_after=STALE) == "learning"
    assert learning_left(row).until is None
    assert "Learning: 299 points to go" in card(row)
    assert "Learning: about 1 day (289 points) to go" in card(
        summary_row(learning_left=289, step_seconds=300.0)
    )


def test_a_card_counts_anomaly_episodes_not_flagged_points():
    assert "No anomaly in the last hour" in card(summary_row())
    busy = summary_row(recent_episodes=2, recent_anomalies=40)
    assert status_of(busy, now=NOW, stale_after=STALE) == "anomaly"
    assert "2 anomaly episodes in the last hour" in card(busy)
    assert "40" not in card(busy)
    assert "1 anomaly episode in the last hour" in card(summary_row(recent_episodes=1))


def open_row(**values) -> pd.Series:
    return summary_row(
        recent_episodes=2,
        recent_anomalies=5,
        open=True,
        open_since=pd.Timestamp("2026-03-03 01:42:10"),
        open_points=3,
        open_peak_time=pd.Timestamp("2026-03-03 01:43:30"),
        open_peak_value=184.31,
        open_peak_expected=121.0,
        open_peak_severity=1.0,
        open_peak_explanation="184.3 against an expected 121",
        **values,
    )


def test_an_open_episode_shows_as_going_on_with_its_peak():
    text = card(open_row())

    assert "Anomaly going on since 01:42 UTC · peak 184.3 at 01:43 (expected 121.0)" in text
    assert "1 more anomaly episode in the last hour" in text


def test_an_open_episode_of_a_series_of_seconds_shows_seconds_and_another_day_its_date():
    text = card(open_row(step_seconds=1.0, last=pd.Timestamp("2026-03-04 00:00:05")))

    assert "since 03 Mar 01:42:10 UTC · peak 184.3 at 03 Mar 01:43:30" in text


def test_an_open_episode_of_a_series_whose_points_stopped_is_not_said_to_go_on():
    row = open_row(received=NOW - 3600)

    assert status_of(row, now=NOW, stale_after=STALE) == "stale"
    assert "Anomaly when its points stopped, since 01:42" in card(row)
    assert "going on" not in card(row)


def test_points_waiting_a_moment_to_be_scored_do_not_change_the_status():
    just_came = summary_row(unscored=1, waiting_since=NOW - 1, last_severity=float("nan"))
    assert status_of(just_came, now=NOW, stale_after=STALE) == "ok"
    waiting = summary_row(unscored=1, waiting_since=NOW - SCORING_LAG - 1)
    assert status_of(waiting, now=NOW, stale_after=STALE) == "scoring"
    new = summary_row(unscored=5, waiting_since=NOW - 1, learning_left=None)
    assert status_of(new, now=NOW, stale_after=STALE) == "scoring"


def test_a_series_name_is_shown_as_text():
    row = summary_row(name="<img src=x onerror=alert(1)>")
    shown = series_card(row.to_dict(), "ok", "", False)

    assert "<img src=x onerror=alert(1)>" in text_of(shown)  # a text node, escaped by React
    assert "dangerously_allow_html" not in repr(shown)


@pytest.mark.parametrize("at", ["2026-11-30T03:30:54Z", "2026-11-30T04:30:54+01:00", "junk"])
def test_a_live_link_with_a_time_in_any_iso_form_opens_the_page(dash_app, at):
    from vigil.pages.live import layout

    page = layout(series="cpu", at=at)  # 500 and a blank page before, for a time with a zone
    assert "live-window" in str(page)


def test_the_empty_live_page_shows_how_to_send_points_to_this_server(dash_app):
    from vigil.pages.live import _no_series

    with dash_app.server.test_request_context("/", base_url="http://vigil.example:9123"):
        text = str(_no_series())
    assert "http://vigil.example:9123/api/v1/series/cpu/points" in text
    assert "vigil tokens add NAME" in text
    assert "Admin page" in text


def test_a_card_in_kolkata_says_its_times_there_and_names_the_zone():
    row = open_row()
    text = text_of(series_card(row.to_dict(), "anomaly", "", False, None, "Asia/Kolkata"))

    # 01:42 UTC is 07:12 in Kolkata (+05:30)
    assert "Anomaly going on since 07:12 IST · peak 184.3 at 07:13 (expected 121.0)" in text
    assert "last at 2026-03-03 07:29:00 IST" in text


def test_an_open_episode_seen_from_another_zone_gets_its_date_from_that_zone():
    # 23:30 UTC on 2 March is 00:30 on 3 March in Berlin, the day of the last point there
    row = open_row(last=pd.Timestamp("2026-03-02 23:45")).copy()
    row["open_since"], row["open_peak_time"] = (
        pd.Timestamp("2026-03-02 23:30"),
        pd.Timestamp("2026-03-02 23:31"),
    )
    text = text_of(series_card(row.to_dict(), "anomaly", "", False, None, "Europe/Berlin"))

    assert "since 00:30 CET · peak 184.3 at 00:31" in text
