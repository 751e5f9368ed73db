"""Forms built from descriptions, so a new detector needs no new page code."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from detection.params import Param

PARAM_TYPE = "analyze-param"


def param_id(detector: str, name: str, kind: str = PARAM_TYPE) -> dict:
    return {"type": kind, "detector": detector, "name": name}


def param_input(
    detector: str, spec: Param, value: object = None, kind: str = PARAM_TYPE
) -> html.Div:
    """One labelled input for a detector parameter, its help text below; `kind` is the
    pattern-matching type of its id (one per page that has such a form)."""
    current = spec.default if value is None else value
    component_id = param_id(detector, spec.name, kind)
    if spec.choices:
        control = dbc.Select(
            id=component_id,
            options=[{"label": choice, "value": choice} for choice in spec.choices],
            value=current,
        )
    elif spec.kind is bool:
        control = dbc.Switch(id=component_id, value=bool(current), label=spec.label)
    else:
        control = dbc.Input(
            id=component_id,
            type="number",
            value=current,
            min=spec.minimum,
            max=spec.maximum,
            step=spec.step or (1 if spec.kind is int else "any"),
            debounce=True,
        )
    label = [] if spec.kind is bool else [dbc.Label(spec.label, html_for=str(component_id))]
    return html.Div([*label, control, dbc.FormText(spec.help)], className="mb-3 vigil-param")


def param_form(
    detector: str, specs: tuple[Param, ...], values: dict | None = None, kind: str = PARAM_TYPE
) -> list:
    values = values or {}
    return [param_input(detector, spec, values.get(spec.name), kind) for spec in specs]


def choice_dropdown(
    component_id: str,
    options: list[str],
    value: object,
    *,
    multi: bool = False,
    clearable: bool = False,
    placeholder: str = "",
) -> dcc.Dropdown:
    return dcc.Dropdown(
        id=component_id,
        options=[{"label": option, "value": option} for option in options],
        value=value,
        multi=multi,
        clearable=clearable,
        placeholder=placeholder,
    )


def chosen_params(detector: str, values: list, ids: list[dict]) -> dict[str, object]:
    """The values a detector's form holds, by parameter name (other detectors' left out)."""
    return {
        pid["name"]: value
        for pid, value in zip(ids, values, strict=True)
        if pid["detector"] == detector
    }
