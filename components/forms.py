"""Forms built from descriptions, so a new detector needs no new page code."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.dependencies import Wildcard

from vigil.detection.errors import ParameterError
from vigil.detection.params import Param

PARAM_TYPE = "analyze-param"
#: A part of a component id: a name, or a wildcard (ALL, MATCH) in a callback's pattern.
Key = str | Wildcard
INVALID = "vigil-param-invalid"


def param_id(detector: Key, name: Key, kind: str = PARAM_TYPE) -> dict:
    return {"type": kind, "detector": detector, "name": name}


def box_id(detector: Key, name: Key, kind: str = PARAM_TYPE) -> dict:
    """The id of the block around one parameter's input (its class marks it invalid)."""
    return param_id(detector, name, f"{kind}-box")


def feedback_id(detector: Key, name: Key, kind: str = PARAM_TYPE) -> dict:
    """The id of the line under one parameter's input that says what is wrong with it."""
    return param_id(detector, name, f"{kind}-feedback")


def more_id(detector: Key, kind: str = PARAM_TYPE) -> dict:
    """The id of the folded "More settings" section of a detector's form."""
    return {"type": f"{kind}-more", "detector": detector}


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
        # Text, not type="number": a browser hands a number field that breaks its min, max
        # or step over as empty, and the value typed would silently become the default.
        # What is typed reaches the server as typed, and `param_problems` says what is wrong.
        control = dbc.Input(
            id=component_id,
            type="text",
            value=current,
            inputmode="numeric" if spec.kind is int else None,
            debounce=True,
        )
    label = [] if spec.kind is bool else [dbc.Label(spec.label, html_for=str(component_id))]
    return html.Div(
        [
            *label,
            control,
            dbc.FormFeedback(id=feedback_id(detector, spec.name, kind), type="invalid"),
            dbc.FormText(spec.help),
        ],
        id=box_id(detector, spec.name, kind),
        className="mb-3 vigil-param",
    )


def param_form(
    detector: str,
    specs: tuple[Param, ...],
    values: dict | None = None,
    kind: str = PARAM_TYPE,
    *,
    shown: tuple[str, ...] | None = None,
) -> list:
    """A detector's inputs; with `shown`, only those parameters are open and the others
    are folded under "More settings"."""
    values = values or {}
    inputs = [param_input(detector, spec, values.get(spec.name), kind) for spec in specs]
    if shown is None:
        return inputs
    first = [box for box, spec in zip(inputs, specs, strict=True) if spec.name in shown]
    rest = [box for box, spec in zip(inputs, specs, strict=True) if spec.name not in shown]
    if not rest:
        return first
    more = html.Details(
        [html.Summary(f"More settings ({len(rest)})", className="mb-2"), *rest],
        id=more_id(detector, kind),
        className="mb-3 vigil-more-settings",
    )
    return [*first, more]


def param_problems(
    specs: tuple[Param, ...], values: list, ids: list[dict], detector: str
) -> dict[str, str]:
    """What is wrong with each value of `detector`'s form, by parameter name (nothing for
    the values that are fine). A field left empty is a problem here, not the default: the
    person says which value they want."""
    known = {spec.name: spec for spec in specs}
    problems = {}
    for pid, value in zip(ids, values, strict=True):
        spec = known.get(pid["name"]) if pid["detector"] == detector else None
        if spec is None:
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            problems[spec.name] = f"{spec.label} needs a value; {spec.default} is the default."
            continue
        try:
            spec.coerce(value.strip() if isinstance(value, str) else value)
        except ParameterError as error:
            problems[spec.name] = str(error)
    return problems


def choice_dropdown(
    component_id: str,
    options: list[str],
    value: str | list[str] | None,
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
