"""The Analyze page's detector settings: checked beside each field, never silently replaced."""

from __future__ import annotations

from dash import no_update

from vigil.services import dataset_store


def ids(detector: str, *names: str) -> list[dict]:
    return [{"type": "analyze-param", "detector": detector, "name": name} for name in names]


def test_a_negative_threshold_is_explained_under_its_field(dash_app):
    from vigil.pages.analyze import check_params

    boxes, feedback, more, note = check_params(
        ["-1", "12"], ids("iforest", "threshold", "window"), [None]
    )

    assert "vigil-param-invalid" in boxes[0]
    assert "vigil-param-invalid" not in boxes[1]
    assert feedback == ["Flag at severity must be at least 0.05, not -1.0.", None]
    assert more == [False]  # the wrong field is open already
    assert note == "Fix the setting marked in red to run the detector."


def test_a_wrong_folded_setting_unfolds_more_settings(dash_app):
    from vigil.pages.analyze import check_params

    _boxes, feedback, more, note = check_params(
        ["0.7", "2.5", ""], ids("iforest", "threshold", "window", "n_estimators"), [None]
    )

    assert feedback[1] == "Feature window (points) must be a whole number, not '2.5'."
    assert feedback[2] == "Trees needs a value; 200 is the default."
    assert more == [True]
    assert note == "Fix the 2 settings marked in red to run the detector."


def test_settings_as_typed_are_accepted(dash_app):
    from vigil.pages.analyze import check_params

    boxes, feedback, _more, note = check_params(
        [" 0.8 ", "24"], ids("iforest", "threshold", "window"), [True]
    )

    assert feedback == [None, None]
    assert note is None
    assert all("vigil-param-invalid" not in box for box in boxes)


def test_run_refuses_a_wrong_setting_and_keeps_the_last_result(dash_app):
    from vigil.pages.analyze import run_analysis

    demo = dataset_store().add_demo().id
    threshold = ids("stl", "threshold")
    kept, _ = run_analysis(lambda _t: None, 1, "latency_ms", "stl", False, demo, ["4"], threshold)

    refused = run_analysis(lambda _t: None, 2, "latency_ms", "stl", False, demo, ["-1"], threshold)

    assert kept is not None
    assert refused == (no_update, no_update)  # the page keeps showing `kept`
