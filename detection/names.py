"""What a series name may hold: one rule for every way a name comes in (the ingest API, a
live series' settings, the command line, the series column of a file).

A name ends up in an email's subject, a log line, a file name and a chart title. Characters
that break a line there (whatever `str.splitlines` splits on), control characters, and the
bidirectional controls that make text show in another order than it is stored are refused.
"""

from __future__ import annotations

import unicodedata

#: Most characters in a series name.
MAX_NAME = 100
#: Characters that reorder the text around them (Unicode's bidirectional formatting
#: characters: embeddings, overrides, isolates and marks).
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
#: Unicode categories refused: control characters (Cc, U+0085 among them) and the line and
#: paragraph separators (U+2028, U+2029).
REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})

RULE = (
    f"A series name has 1 to {MAX_NAME} characters, with no line break, control character or "
    "text-direction character."
)


def is_refused(character: str) -> bool:
    """Whether a series name may not hold `character`."""
    return (
        unicodedata.category(character) in REFUSED_CATEGORIES
        or character in BIDI_CONTROLS
        or len(f"a{character}b".splitlines()) > 1
    )


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a series, or None when it can. The refused characters are
    refused anywhere, at its ends too (where stripping would otherwise hide them)."""
    refused = sorted({f"U+{ord(c):04X}" for c in name if is_refused(c)})
    if refused:
        return f"{RULE} This one has {', '.join(refused[:5])}."
    if not name.strip() or len(name.strip()) > MAX_NAME:
        return RULE
    return None


def cleaned_names(names: list[str]) -> tuple[list[str], int]:
    """Names read from a file (which cannot be sent back like a request) made safe: each
    refused character replaced by a space, and runs of spaces made one; a name that then
    equals another gets " (2)", " (3)", ... Also how many names changed."""
    cleaned, taken, changed = [], set(names), 0
    for name in names:
        if not any(is_refused(c) for c in name):
            cleaned.append(name)
            continue
        changed += 1
        base = " ".join("".join(" " if is_refused(c) else c for c in name).split()) or "(blank)"
        safe, number = base, 1
        while safe in taken:
            number += 1
            safe = f"{base} ({number})"
        taken.add(safe)
        cleaned.append(safe)
    return cleaned, changed
