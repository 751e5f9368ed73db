"""Shell and shared page pieces: the navbar, the upload zone, alerts."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

#: The navbar's toggler (shown on narrow screens) and the part it opens and closes.
NAV_TOGGLER = "app-nav-toggler"
NAV_COLLAPSE = "app-nav-collapse"
NAV_LINK = "app-nav-link"
#: The navbar's time zone picker (its choice is kept in `ids.TIME_ZONE`).
ZONE_PICKER = "app-zone-picker"


def navbar(pages: list[dict], account: tuple[str, str, str] | None = None) -> dbc.Navbar:
    """The top bar: a link per page; with `account` (name, role, form token), who is signed
    in and a button to sign out; between them, the time zone the pages show times in. Under
    768 px wide the links and the zone fold behind a toggler, so the bar is one line on a
    phone."""
    links = [
        dbc.NavItem(
            dbc.NavLink(
                page["name"],
                href=page["relative_path"],
                active="exact",
                id={"type": NAV_LINK, "page": page["relative_path"]},
            )
        )
        for page in pages
    ]
    right: Component = html.Span("anomaly detection for time series", className="navbar-text small")
    if account is not None:
        name, role, token = account
        right = html.Form(
            [
                html.Span(
                    [name, html.Span(f" · {role}", className="opacity-75")],
                    className="navbar-text small me-3",
                ),
                dcc.Input(type="hidden", name="csrf_token", value=token),
                html.Button("Sign out", type="submit", className="btn btn-sm btn-outline-light"),
            ],
            action="/logout",
            method="POST",
            className="d-flex align-items-center",
            id="app-sign-out",
        )
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand([html.Span("◉", className="vigil-logo"), " Vigil"], href="/"),
                dbc.NavbarToggler(id=NAV_TOGGLER, n_clicks=0),
                dbc.Collapse(
                    [dbc.Nav(links, navbar=True, className="ms-md-3"), zone_picker(), right],
                    id=NAV_COLLAPSE,
                    is_open=False,
                    navbar=True,
                ),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        expand="md",
        className="mb-3",
    )


def zone_picker() -> html.Div:
    """'Times: UTC': a searchable list of time zones (the shell fills in its choices and
    keeps what is picked)."""
    return html.Div(
        [
            html.Label("Times:", htmlFor=ZONE_PICKER, className="navbar-text small me-2"),
            dcc.Dropdown(
                id=ZONE_PICKER,
                options=[{"label": "UTC", "value": "UTC"}],
                value="UTC",
                clearable=False,
                searchable=True,
                placeholder="Search a time zone",
                className="vigil-zone-picker",
            ),
        ],
        className="d-flex align-items-center ms-md-auto me-md-3 my-2 my-md-0",
        title="The time zone every time on these pages is shown in",
    )


def upload_zone(component_id: str, result_store: str, max_mb: float) -> html.Div:
    """A drop zone that streams the file to the server (assets/upload.js does the sending)
    and puts the server's answer in the `result_store` dcc.Store.
    """
    # data-* attributes, which dash takes as extra keywords (Any: to mypy, a dict of text
    # could be meant for any named property)
    attributes: dict[str, Any] = {
        "data-max-bytes": str(int(max_mb * 1_000_000)),
        "data-result-store": result_store,
    }
    return html.Div(
        [
            html.Div("Drop a CSV, CSV.GZ or Parquet file here", className="vigil-drop-title"),
            html.Div(
                [
                    "or ",
                    html.Span(
                        "choose a file", className="vigil-file-label", role="button", tabIndex=0
                    ),
                ]
            ),
            html.Div(f"Up to {max_mb:g} MB", className="vigil-drop-limit"),
            html.Div(className="vigil-upload-progress", id=f"{component_id}-progress"),
        ],
        id=component_id,
        className="vigil-drop-zone",
        **attributes,
    )


def error_alert(message: str, component_id: str | None = None) -> dbc.Alert:
    kwargs = {"id": component_id} if component_id else {}
    return dbc.Alert(message, color="danger", className="vigil-error", **kwargs)


def paged_grid_options(page_size: int, empty: str) -> dict:
    """AG Grid options for a table of rows one clicks to select: as tall as its rows,
    `page_size` rows a page, `empty` said when there is none."""
    return {
        "rowSelection": {"mode": "singleRow", "checkboxes": False, "enableClickSelection": True},
        "tooltipShowDelay": 300,
        "domLayout": "autoHeight",
        "pagination": True,
        "paginationPageSize": page_size,
        "paginationPageSizeSelector": False,
        "localeText": {"noRowsToShow": empty},
    }


def series_count(selected: int, every: int, page: int, per_page: int) -> str:
    """Which series a page of them shows: 'Series 25 to 48 of 130 (of 1,000 in all)', '12
    series' when they fit on one page, 'No series of 1,000 matches the filter.'"""
    if not selected:
        return f"No series of {every:,} matches the filter."
    first = (page - 1) * per_page + 1
    last = min(page * per_page, selected)
    shown = (
        f"Series {first:,} to {last:,} of {selected:,}"
        if selected > per_page
        else f"{selected:,} series"
    )
    return shown + (f" (of {every:,} in all)" if selected < every else "")


def series_filter(box_id: str, max_length: int) -> dbc.Input:
    """The box that selects series by name and labels (`vigil.selectors`), as the Live and
    Overview pages show it: its value is taken on Enter or when it loses focus."""
    return dbc.Input(
        id=box_id,
        type="search",
        placeholder="Filter: a name, api-*, env=prod",
        debounce=True,
        maxLength=max_length,
        style={"maxWidth": "24rem"},
    )


def pager(pager_id: str, class_name: str) -> dbc.Pagination:
    """Page numbers with first, previous, next and last, one page until told more."""
    return dbc.Pagination(
        id=pager_id,
        max_value=1,
        active_page=1,
        fully_expanded=False,
        first_last=True,
        previous_next=True,
        size="sm",
        className=class_name,
    )
