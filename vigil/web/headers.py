"""Security headers on every response: a Content Security Policy the pages work under, no
framing by other sites, no content sniffing, and no Referer to other sites (emails link in
with tokens in their query).

The policy lets scripts come only from Vigil itself and from the inline scripts Dash writes
into the page (the renderer's start and the clientside callbacks), each named by its SHA-256
hash; no other inline script and no `eval` run. Styles may be inline (Dash, Plotly and the
grid set `style` attributes and add style elements); images, fonts and connections stay on
Vigil's own origin (plus `data:` and `blob:` images, for Plotly's downloads and icons).
"""

from __future__ import annotations

from flask import Flask, Response

#: Everything but the inline scripts' hashes, which are known once the app has its callbacks.
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def policy(script_hashes: list[str]) -> str:
    """The Content-Security-Policy header with these inline scripts allowed."""
    parts = dict(POLICY)
    parts["script-src"] = " ".join([POLICY["script-src"], *script_hashes])
    return "; ".join(f"{name} {value}" for name, value in parts.items())


def register(server: Flask, dash_app) -> None:
    """Add the headers to every response of `server`, the Dash app's pages among them."""
    known: dict[str, str] = {}

    def add_headers(response: Response) -> Response:
        if "policy" not in known:  # every callback is registered by the first request
            known["policy"] = policy(list(dash_app.csp_hashes()))
        response.headers.setdefault("Content-Security-Policy", known["policy"])
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    server.after_request(add_headers)
