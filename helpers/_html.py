"""HTML for the notebooks' rich outputs: explanations, probability bars, inline figures.

Plumbing behind ``helpers.explain`` and ``helpers.widgets`` (a learner can skip it): only strings
of HTML, every piece of user text escaped.

    >>> probability_table(["a", "b"], [0.9, 0.1], mark="a").count("<tr>")
    2
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from helpers.explain import Explanation


def explanation_html(exp: Explanation) -> str:
    """An ``Explanation`` as HTML: the text with its words coloured by weight (green for, red
    against), the class probabilities, the notes and the top words. Not in a notebook:
    Jupyter calls it to show an ``Explanation`` (notebooks/06_lime_explanations.ipynb)."""
    scale = max((abs(w) for *_, w in exp.spans), default=0.0) or 1.0
    text, pos, parts = exp.text, 0, []
    for start, end, weight in sorted(exp.spans):
        parts.append(html.escape(text[pos:start]))
        parts.append(f'<span style="background:{_color(weight / scale)}" title="{weight:+.3g}">'
                     f"{html.escape(text[start:end])}</span>")
        pos = end
    parts.append(html.escape(text[pos : exp.visible_chars]))
    if exp.visible_chars < len(text):
        parts.append(f'<span style="color:#999">{html.escape(text[exp.visible_chars:])}</span>')
    probs = probability_table(exp.class_names, exp.probabilities, mark=exp.class_name)
    rows = "".join(f"<tr><td>{html.escape(word)}</td><td style='background:{_color(w / scale)}'>"
                   f"{w:+.3g}</td></tr>" for word, w in exp.weights[:20])
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in exp.notes)
    return (
        f"<div><p><b>{html.escape(exp.method)}</b>: why <b>{html.escape(exp.class_name)}</b> "
        f"(predicted: {html.escape(exp.predicted)}). Green supports it, red speaks against.</p>"
        f"{probs}"
        "<div style='white-space:pre-wrap;max-height:30em;overflow:auto;border:1px solid #ddd;"
        f"padding:0.5em;line-height:1.6'>{''.join(parts)}</div>"
        f"<ul>{notes}</ul><table><tr><th>word</th><th>weight</th></tr>{rows}</table></div>"
    )


def probability_table(class_names: list[str], probabilities, mark: str | None = None) -> str:
    """HTML: one row per class with its probability and a bar; ``mark`` gets an arrow.

    >>> probability_table(["a", "b"], [0.9, 0.1], mark="a").count("<tr>")
    2
    """
    rows = "".join(
        f"<tr><td>{html.escape(name)}{' ←' if name == mark else ''}</td><td>{p:.3f}</td>"
        f"<td><div style='background:#4c72b0;height:0.8em;width:{p * 150:.0f}px'></div></td></tr>"
        for name, p in zip(class_names, probabilities))
    return f"<table>{rows}</table>"


def _color(x: float) -> str:
    """Green for support, red for opposition, more opaque for a larger share of the maximum."""
    rgb = "0,160,0" if x > 0 else "220,0,0"
    return f"rgba({rgb},{min(abs(x), 1.0) * 0.8:.3f})"


def figure_html(fig) -> str:
    """A matplotlib figure as an inline PNG ``<img>`` (works in any HTML viewer).

    >>> import matplotlib.pyplot as plt
    >>> figure_html(plt.figure(figsize=(1, 1))).startswith("<img")
    True
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return f'<img src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}"/>'
