"""Interactive views for the notebooks, each with a static picture of its first state.

In Jupyter with a running kernel you get the live widget. Where widgets cannot run (a
notebook read on GitHub, an HTML export, a headless run) the same cell shows the static
picture instead, so a reader still sees a result.

    >>> from helpers.widgets import lr_picker, text_box
    >>> picker = lr_picker(finder)      # slide over the LR finder's curve
    >>> picker                          # shows it; picker.value is the chosen learning rate  # doctest: +SKIP
    >>> text_box(predictor)             # type a text, see the class and an explanation  # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from helpers._html import figure_html, probability_table

STATIC_NOTE = "(an interactive control: run this notebook in Jupyter to use it)"


class Interactive:
    """A widget plus a static HTML rendering; ``value`` is what the user chose.

    ``render`` turns the current state into HTML; it fills the widget's output area on
    every change, and is frozen as the fallback picture at display time.
    Not in a notebook.
    """

    def __init__(self, controls: list, render: Callable[[], str], value: Callable[[], object] = lambda: None):
        import ipywidgets as widgets

        self.output = widgets.HTML()
        self.widget = widgets.VBox([widgets.HBox(controls), self.output])
        self._render, self._value = render, value
        self.refresh()

    @property
    def value(self):
        """The current choice (a model name, a learning rate, a row...)."""
        return self._value()

    def refresh(self, *_) -> None:
        """Redraw the output area from the controls' current state."""
        self.output.value = self._render()

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = self.widget._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        return {**data, "text/html": f"<p><i>{STATIC_NOTE}</i></p>{self.output.value}",
                "text/plain": STATIC_NOTE}


# ------------------------------------------------------------------------------ model picker
MODEL_FIELDS = ["family", "parameters", "layers", "hidden_size", "heads", "max_positions", "cased",
                "available", "cpu_maxlen", "cpu_batch_size", "gpu16_maxlen", "gpu16_batch_size"]


def model_picker(registry: pd.DataFrame, costs: pd.DataFrame | None = None, *, default: str | None = None,
                 n_train: int = 2257, on_change: Callable[[str], None] | None = None) -> Interactive:
    """Choose a model from ``model_registry()``; see its row and, with ``costs`` (from
    ``cost_table()``), the seconds per example and minutes per epoch at each ``maxlen``.

    ``on_change(name)`` runs each time the reader picks another model (e.g. to save the
    choice for the notebooks after this one); showing the picker alone calls nothing.
    Taught in notebooks/02_model_selection.ipynb.

    >>> picker = model_picker(model_registry(), cost_table())  # doctest: +SKIP
    >>> picker.value  # doctest: +SKIP
    'minilm-l6'
    """
    import ipywidgets as widgets

    names = list(registry["name"])
    choice = widgets.Dropdown(options=names, value=default or names[0], description="model")

    def render() -> str:
        row = registry.set_index("name").loc[choice.value]
        facts = pd.DataFrame({"value": [row[f] for f in MODEL_FIELDS if f in row]},
                             index=[f for f in MODEL_FIELDS if f in row])
        parts = [f"<h4>{html.escape(choice.value)}</h4>", facts.to_html()]
        if costs is not None:
            mine = costs[costs["model"] == choice.value]
            if len(mine):
                table = mine[["maxlen", "train_s_per_example", "infer_s_per_example", "timing"]].copy()
                table["train_minutes_per_epoch"] = (table["train_s_per_example"] * n_train / 60).round(1)
                parts.append(f"<p>Cost on this machine ({n_train:,} training messages):</p>")
                parts.append(table.to_html(index=False))
        return "".join(parts)

    picker = Interactive([choice], render, value=lambda: choice.value)
    choice.observe(picker.refresh, names="value")
    _call_on_change(choice, on_change)
    return picker


def _call_on_change(control, on_change: Callable | None) -> None:
    if on_change is not None:
        control.observe(lambda change: on_change(change["new"]), names="value")


# ------------------------------------------------------------------------------ LR picker
def lr_picker(finder, default: float | None = None, *,
              on_change: Callable[[float], None] | None = None) -> Interactive:
    """A log-scale slider over the LR finder's curve; the plot marks the chosen point.

    It starts at ``default`` (else the finder's suggestion). ``on_change(lr)`` runs each
    time the reader moves the slider (e.g. to save the choice for the training notebook).
    Taught in notebooks/03_lr_finder.ipynb.

    >>> picker = lr_picker(finder)
    >>> picker.value == finder.suggestion
    True
    """
    import ipywidgets as widgets

    low, high = np.log10(finder.lrs[0]), np.log10(finder.lrs[-1])
    slider = widgets.FloatLogSlider(value=default or finder.suggestion, base=10, min=low, max=high,
                                    step=(high - low) / 200, description="lr_max", readout_format=".1e",
                                    continuous_update=False, layout=widgets.Layout(width="60%"))

    def render() -> str:
        import matplotlib.pyplot as plt

        lr = slider.value
        ax = finder.plot(lr_used=lr, lr_used_label="your choice")
        loss = float(np.interp(np.log(lr), np.log(finder.lrs), finder.smoothed))
        picture = figure_html(ax.figure)
        plt.close(ax.figure)
        ratios = ", ".join(f"{name} x{lr / value:.2g}" for name, value in finder.suggestions.items())
        return (f"{picture}<p>lr_max = <b>{lr:.2e}</b>; smoothed loss there {loss:.3f}. "
                f"Relative to the suggestions: {ratios}.</p>")

    picker = Interactive([slider], render, value=lambda: slider.value)
    slider.observe(picker.refresh, names="value")
    _call_on_change(slider, on_change)
    return picker


# ------------------------------------------------------------------------------ top losses
def top_loss_browser(table: pd.DataFrame, predictor=None, *, class_names: Sequence[str] | None = None,
                     probs: np.ndarray | None = None, lime_samples: int = 500) -> Interactive:
    """Step through a ``top_losses`` table: the text, true and predicted class, probabilities,
    and (with a ``predictor``) a LIME explanation on demand.

    ``probs`` (all texts' probabilities, rows in the table's index) adds every class's bar.
    Taught in notebooks/05_top_losses.ipynb.

    >>> top_loss_browser(top_losses(...), predictor, class_names=test.class_names, probs=probs)  # doctest: +SKIP
    """
    import ipywidgets as widgets

    if len(table) == 0:
        raise ValueError("The table is empty: there are no mistakes to browse (or n was 0).")
    position = widgets.IntSlider(value=0, min=0, max=len(table) - 1, description="mistake #")
    back, forward = widgets.Button(description="◀ previous"), widgets.Button(description="next ▶")
    explain_button = widgets.Button(description="explain (LIME)", disabled=predictor is None)
    explained: dict[int, str] = {}

    def render() -> str:
        k = position.value
        row = table.iloc[k]
        head = (f"<p><b>{k + 1} of {len(table)}</b> (text #{table.index[k]}): true <b>{html.escape(row['true'])}</b>, "
                f"predicted <b>{html.escape(row['predicted'])}</b> with p = {row['p_predicted']:.3f}; "
                f"p(true class) = {row['p_true']:.3f}, loss {row['loss']:.2f}.</p>")
        bars = ""
        if probs is not None and class_names is not None:
            bars = probability_table(list(class_names), probs[table.index[k]], mark=row["predicted"])
        text = ("<div style='white-space:pre-wrap;max-height:20em;overflow:auto;border:1px solid #ddd;"
                f"padding:0.5em'>{html.escape(row['full_text'])}</div>")
        return head + bars + explained.get(k, text)

    def step(delta: int) -> Callable:
        return lambda _: setattr(position, "value", min(max(position.value + delta, 0), len(table) - 1))

    def explain_current(_=None) -> None:
        from helpers.explain import explain

        k = position.value
        explained[k] = explain(predictor, table.iloc[k]["full_text"], num_samples=lime_samples)._repr_html_()
        browser.refresh()

    browser = Interactive([back, position, forward, explain_button], render,
                          value=lambda: table.iloc[position.value])
    position.observe(browser.refresh, names="value")
    back.on_click(step(-1))
    forward.on_click(step(+1))
    explain_button.on_click(explain_current)
    browser.explain_current = explain_current
    return browser


# ------------------------------------------------------------------------------ your own text
def text_box(predictor, text: str = "My doctor says the new antibiotics should clear the infection.",
             *, lime_samples: int = 500) -> Interactive:
    """Type a text and see its class and probabilities; an explanation on demand.

    Classifies on the button, or as you type with "live" ticked (each keystroke costs one
    prediction, ~40 ms here).
    Taught in notebooks/07_predict_and_deploy.ipynb.

    >>> box = text_box(predictor)
    >>> box.value in predictor.class_names   # the predicted class of the current text
    True
    """
    import ipywidgets as widgets

    area = widgets.Textarea(value=text, placeholder="Type or paste a message",
                            layout=widgets.Layout(width="60%", height="6em"))
    classify = widgets.Button(description="classify")
    live = widgets.Checkbox(value=False, description="live (as you type)")
    explain_button = widgets.Button(description="explain (LIME)")
    state: dict[str, object] = {}

    def predict() -> None:
        if not area.value.strip():
            state.update(text=area.value, probs=None, explanation="")
            return
        state.update(text=area.value, probs=predictor.predict_proba(area.value), explanation="")

    def render() -> str:
        if state.get("text") != area.value:
            return "<p><i>Press classify (or tick live).</i></p>"
        if state["probs"] is None:
            return "<p>Type a message first: the box is empty.</p>"
        name = predictor.class_names[int(np.argmax(state["probs"]))]
        shown_text = html.escape(area.value if len(area.value) <= 300 else area.value[:300] + "...")
        return (f"<p>Message: <i>{shown_text}</i></p><p>Predicted: <b>{html.escape(name)}</b></p>"
                f"{probability_table(predictor.class_names, state['probs'], mark=name)}{state['explanation']}")

    def on_classify(_=None) -> None:
        predict()
        box.refresh()

    def on_type(_) -> None:
        if live.value:
            on_classify()
        else:
            box.refresh()

    def on_explain(_=None) -> None:
        from helpers.explain import explain

        if not area.value.strip():
            return on_classify()
        predict()
        state["explanation"] = explain(predictor, area.value, num_samples=lime_samples)._repr_html_()
        box.refresh()

    predict()
    box = Interactive([area, widgets.VBox([classify, live, explain_button])], render,
                      value=lambda: (predictor.class_names[int(np.argmax(state["probs"]))]
                                     if state.get("probs") is not None else None))
    classify.on_click(on_classify)
    explain_button.on_click(on_explain)
    area.observe(on_type, names="value")
    box.classify, box.explain = on_classify, on_explain
    return box
