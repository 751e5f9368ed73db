"""Configuring a live series, the one step behind the Live page's form and the API's PUT."""

from __future__ import annotations

import pytest

from vigil.detection.errors import VigilError
from vigil.services import Services, current
from vigil.usecases.live_series import configure_series


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"detector": "nope"}, "Unknown detector 'nope'"),
        ({"detector": ["zscore"]}, "Unknown detector ['zscore']"),
        ({"detector": "zscore", "params": {"threshold": 1e20}}, "must be at most 50"),
        ({"detector": "zscore", "params": [1, 2]}, '"params" must be a JSON object'),
        ({"detector": "auto", "model": 7}, '"model" must be the id'),
        ({"detector": "auto", "model": "0" * 16}, "model"),
    ],
)
def test_a_wrong_setting_is_one_sentence_and_changes_nothing(dash_app, given, said):
    services = current()
    store = Services(services.settings).live_store
    configure_series(services, "configured-once", detector="zscore", params={"threshold": 4})

    with pytest.raises(VigilError) as refused:
        configure_series(services, "configured-once", **given)

    assert said in str(refused.value)
    kept = store.get("configured-once")
    assert (kept.detector, kept.params["threshold"], kept.model) == ("zscore", 4.0, None)


def test_a_series_set_to_a_detector_keeps_its_checked_parameters(dash_app):
    services = current()

    series = configure_series(
        services, "configured-twice", detector="zscore", params={"threshold": "5"}
    )

    assert (series.detector, series.params["threshold"], series.model) == ("zscore", 5.0, None)
    assert Services(services.settings).live_store.get("configured-twice") == series
