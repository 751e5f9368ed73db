"""User text placed in figures, so it shows as typed and never as markup."""

from __future__ import annotations

_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def plotly_text(value: object) -> str:
    """`value` as text for any Plotly figure text (titles, axis titles, annotations, legend
    and trace names, hover text): Plotly reads a subset of HTML there (links, bold, line
    breaks), so `&`, `<` and `>` become the entities it turns back into those characters.
    Quotes stay as they are: Plotly does not decode `&quot;`, and without `<` no tag starts."""
    return str(value).translate(_ENTITIES)
