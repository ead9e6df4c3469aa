"""Retrain panels: sliders + Train/Stop, training in a background thread, live curves, runs table.

``RetrainPanel(train_fn, controls)`` calls ``train_fn(settings, callbacks)`` in a thread when
Train is clicked. Stop sets an Event that a callback checks after every batch. The thread never
uses ``with out:`` (nor ``out.clear_output``, which enters ``with out:`` itself): it replaces an
Output's ``outputs`` in one assignment, a plain widget-state update that is safe from any thread
and swaps the figure without flicker (``clear_output(wait=True)`` + ``append_display_data``
piles figures up in JupyterLab, because the deferred clear never sees a state update).
"""

from __future__ import annotations

import base64
import html
import io
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import keras
from IPython.display import display

from labkit import (
    config,  # noqa: F401  (sets TF log level before TF is imported)
    live_svg,
    plots,
    train,
)

History = dict[str, list[float]]
LIVE_REDRAW_SECONDS = 1.0  # the live figure is redrawn at most this often (and at the end)
TrainFn = Callable[[dict[str, Any], list[keras.callbacks.Callback]], Any]


class LiveCurves(keras.callbacks.Callback):
    """Collects per-epoch logs into ``history`` and calls ``redraw(history)`` after each epoch."""

    def __init__(self, redraw: Callable[[History], None] | None = None):
        super().__init__()
        self.redraw = redraw
        self.history: History = {}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if self.redraw is not None:
            self.redraw(self.history)


class LiveDrawer:
    """Draws the live figure in a thread of its own, so training never waits for a picture.

    ``request(history)`` hands over the latest history and returns at once; the thread draws
    the newest one it has, at most every ``LIVE_REDRAW_SECONDS`` after the first. ``close()``
    stops the thread after any draw in progress; the caller draws the final epoch itself.
    """

    def __init__(self, draw: Callable[[History], None]):
        self.draw = draw
        self._latest: History | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="labkit-live-draw")
        self._thread.start()

    def request(self, history: History) -> None:
        with self._lock:
            self._latest = {k: list(v) for k, v in history.items()}
        self._wake.set()

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            if self._closed.is_set():
                return
            self._wake.clear()
            with self._lock:
                history, self._latest = self._latest, None
            if history:
                try:
                    self.draw(history)
                except Exception:  # the final draw, on the panel's thread, reports it
                    return
            if self._closed.wait(LIVE_REDRAW_SECONDS):
                return


class StopOnEvent(keras.callbacks.Callback):
    """Sets ``model.stop_training`` at the end of the first batch after ``event`` is set."""

    def __init__(self, event: threading.Event):
        super().__init__()
        self.event = event
        self.stopped = False

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.event.is_set():
            self.stopped = True
            self.model.stop_training = True


@dataclass
class PanelRun(train.Run):
    """One run of a panel: a ``train.Run`` named ``"run <number>"``, with the panel's settings
    and whether Stop ended it."""

    number: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    stopped: bool = False
    note: str = ""  # what the panel's train function adds, e.g. "test accuracy 90.0%"

    def best(self, metric: str) -> float | None:
        """``Run.best``, or None if the metric was not logged."""
        return super().best(metric) if self.history.get(metric) else None

    @property
    def outcome(self) -> str:
        """``"done"``, ``"stopped"`` or ``"diverged (loss NaN)"``."""
        if self.diverged:
            return "diverged (loss NaN)"
        return "stopped" if self.stopped else "done"


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def settings_text(settings: Mapping[str, Any]) -> str:
    """``"lr=0.001, epochs=5"``."""
    return ", ".join(f"{k}={_fmt(v)}" for k, v in settings.items())


def control_range(control: widgets.ValueWidget) -> str:
    """What a control can be set to, in words: ``"1-30"``, ``"1e-05 to 1 (log scale)"``,
    ``"adam | sgd"``."""
    if isinstance(control, widgets.FloatLogSlider):
        low, high = control.base ** control.min, control.base ** control.max
        return f"{low:g} to {high:g} (log scale)"
    if isinstance(control, widgets.IntSlider):
        return f"{control.min}-{control.max}"
    if isinstance(control, widgets.FloatSlider):
        return f"{control.min:g}-{control.max:g}"
    if isinstance(control, widgets.Dropdown):
        return " | ".join(str(label) for label in control.options)
    return "any value"


def control_lines(controls: Mapping[str, widgets.ValueWidget]) -> list[str]:
    """One line per control: its label and what it can be set to."""
    return [f"{c.description or name}: {control_range(c)}" for name, c in controls.items()]


def _png_output(fig, text: str) -> dict[str, Any]:
    """A figure as a display_data entry for ``Output.outputs``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": png, "text/plain": f"<{text}>"}}


def _curves_png(runs: Sequence[train.Run], metrics: Sequence[str], title: str,
                colours: Sequence[int]) -> dict[str, Any]:
    """``plots.draw_curves`` on a pyplot-free Figure (thread-safe), as a display_data entry."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.6 * len(metrics), 3.2))
    plots.draw_curves(fig, runs, metrics, colours=colours, title=title)
    return _png_output(fig, title or "curves")


def _svg_output(history: History, metrics: Sequence[str], title: str,
                colour: int) -> dict[str, Any]:
    """``live_svg.curves_svg`` as a display_data entry (the live figure: fast to redraw)."""
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/svg+xml": live_svg.curves_svg(history, metrics, title, colour),
                     "text/plain": f"<{title}>"}}


def _colour(number: int) -> int:
    """A panel run's colour index: the same in the live figure and in the overlay."""
    return number - 1


class RetrainPanel:
    """Controls + Train/Stop + live curves + a runs table + a val-curve overlay of all runs."""

    def __init__(self, train_fn: TrainFn, controls: Mapping[str, widgets.ValueWidget],
                 title: str = "", metric: str = "accuracy", cost: str = ""):
        self.train_fn, self.controls, self.metric = train_fn, dict(controls), metric
        self.title = title
        self.runs: list[PanelRun] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.train_button = widgets.Button(description="Train", button_style="primary",
                                           icon="play")
        self.stop_button = widgets.Button(description="Stop", button_style="warning", icon="stop",
                                          disabled=True)
        self.train_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.status = widgets.Label("Ready: pick settings and click Train.")
        self.live_out = widgets.Output()
        self.table = widgets.HTML(self._table_html())
        self.compare_out = widgets.Output()
        self.overlay = widgets.SelectMultiple(options=[], rows=3, description="overlay")
        self.overlay.observe(lambda _: self._draw_compare(), names="value")
        for w, css in ((self.live_out, "live"), (self.table, "runs"),
                       (self.compare_out, "compare")):
            w.add_class(f"labkit-{css}")  # hooks for the browser test and custom CSS
        header = [widgets.HTML(f"<h4>{html.escape(title)}</h4>")] if title else []
        ranges = "; ".join(html.escape(line) for line in control_lines(self.controls))
        click = f" What a click costs: {html.escape(cost)}." if cost else ""
        header.append(widgets.HTML(f"<small>Controls and their ranges: {ranges}. Each click "
                                   "starts a new run with these settings; the runs table "
                                   f"gives each run's seconds.{click}</small>"))
        self.widget = widgets.VBox(header + [
            widgets.VBox(list(self.controls.values())),
            widgets.HBox([self.train_button, self.stop_button, self.status]),
            self.live_out,
            widgets.HTML("<b>Runs</b>"), self.table,
            widgets.HTML("<b>Compare runs</b> (pick runs to overlay; none picked = all)"),
            self.overlay, self.compare_out,
        ])
        self.widget.add_class("labkit-panel")

    # -- public API ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def settings(self) -> dict[str, Any]:
        """Current control values, keyed like ``controls``."""
        return {name: w.value for name, w in self.controls.items()}

    def start(self) -> bool:
        """Start a run in a background thread (what Train does). False if one is running."""
        if self.running:
            return False
        self._stop.clear()
        self.train_button.disabled, self.stop_button.disabled = True, False
        number = len(self.runs) + 1
        settings = self.settings()
        self.status.value = f"Run {number}: training ({settings_text(settings)}) ..."
        self.live_out.outputs = ()
        self._thread = threading.Thread(target=self._run, args=(number, settings), daemon=True,
                                        name=f"labkit-retrain-{number}")
        self._thread.start()
        return True

    def stop(self) -> None:
        """Ask the running fit to stop after its current batch (what Stop does)."""
        if self.running:
            self._stop.set()
            self.status.value = "Stopping after this batch ..."

    def wait(self, timeout: float | None = None) -> bool:
        """Join the training thread; True if no run is in progress afterwards."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _ipython_display_(self) -> None:
        """The live widget, plus a picture of the panel for readers without a kernel.

        JupyterLab shows the widget (its renderer outranks images); a stored notebook, once
        ``labkit.dev.notebooks`` has dropped the widget view, and its HTML export show the PNG.
        """
        bundle = dict(self.widget._repr_mimebundle_() or {})
        bundle["image/png"] = self.snapshot_png()
        display(bundle, raw=True)

    def control_lines(self) -> list[str]:
        """One line per control: its label, current value and range (or choices)."""
        lines = []
        for name, w in self.controls.items():
            label = getattr(w, "description", "") or name
            if hasattr(w, "options"):
                choices = [o[0] if isinstance(o, tuple) else o for o in w.options]
                span = "choices: " + ", ".join(_fmt(c) for c in choices)
            elif isinstance(w, widgets.FloatLogSlider):
                span = f"range {w.base ** w.min:.0e} to {w.base ** w.max:.0e}, log scale"
            elif hasattr(w, "min") and hasattr(w, "max"):
                span = f"range {_fmt(w.min)} to {_fmt(w.max)}"
            else:
                span = ""
            lines.append(f"{label}: {_fmt(w.value)}" + (f"   ({span})" if span else ""))
        return lines

    def snapshot_png(self) -> str:
        """A base64 PNG of the panel as it stands: controls, runs table and the runs' curves."""
        from matplotlib.figure import Figure

        metrics = ["loss", self.metric]
        text = [self.title or "Retrain panel", *self.control_lines(), ""]
        if self.runs:
            text += [f"run {r.number}: {settings_text(r.settings)}: {r.outcome}, best val "
                     f"{self.metric} {r.best(f'val_{self.metric}') or float('nan'):.3f}"
                     for r in self.runs]
        else:
            text += ["[ Train ]  [ Stop ]   No runs yet: this is a picture of the panel.",
                     "Run the notebook in JupyterLab (make lab), pick settings and click Train:",
                     "live curves, a table of runs and an overlay of their curves appear here."]
        text_height, curves_height = 0.28 * len(text) + 0.2, 3.0 if self.runs else 0.0
        fig = Figure(figsize=(9.2, text_height + curves_height), layout="constrained")
        if self.runs:
            text_fig, curves_fig = fig.subfigures(2, 1, height_ratios=[text_height, curves_height])
            plots.draw_curves(curves_fig, self.runs, metrics,
                              colours=[_colour(r.number) for r in self.runs])
        else:
            text_fig = fig
        for i, line in enumerate(text):
            text_fig.text(0.01, 1 - (i + 0.7) / (len(text) + 0.7), line, va="center", fontsize=9,
                          weight="bold" if i == 0 else "normal",
                          family="monospace" if i else "sans-serif")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80)
        return base64.b64encode(buf.getvalue()).decode("ascii")

    # -- thread side --------------------------------------------------------------------------
    def _draw_live(self, number: int, history: History) -> None:
        """Draw the live figure of run ``number`` at ``history`` (unless that epoch is drawn)."""
        n = max(len(v) for v in history.values())
        if n == self._drawn_epochs:
            return
        self._drawn_epochs = n
        self.live_out.outputs = (
            _svg_output(history, ["loss", self.metric], f"Run {number}", _colour(number)),)

    def _epoch_done(self, number: int, history: History, drawer: LiveDrawer) -> None:
        """After each epoch (training thread): the status line now, the figure by ``drawer``."""
        self.status.value = f"Run {number}: epoch {max(len(v) for v in history.values())} done"
        drawer.request(history)

    def _run(self, number: int, settings: dict[str, Any]) -> None:
        self._drawn_epochs = 0
        drawer = LiveDrawer(lambda h: self._draw_live(number, h))
        live = LiveCurves(lambda h: self._epoch_done(number, h, drawer))
        stopper = StopOnEvent(self._stop)
        started = time.perf_counter()
        status = f"Run {number} ended without a result"  # replaced below unless interrupted
        try:
            try:
                result = self.train_fn(dict(settings), [live, stopper])
            finally:
                drawer.close()
            seconds = time.perf_counter() - started
            if live.history:
                self._draw_live(number, live.history)  # the last epoch, always
            hist = getattr(result, "history", None)
            history = ({k: [float(v) for v in vals] for k, vals in hist.items()}
                       if isinstance(hist, dict) and hist else live.history)
            seconds = float(getattr(result, "seconds", 0.0) or seconds)
            run = PanelRun(f"run {number}", history, seconds, number=number, settings=settings,
                           stopped=stopper.stopped, note=str(getattr(result, "note", "") or ""))
            self.runs.append(run)
            self.table.value = self._table_html()
            self.overlay.options = [(f"{r.name}: {settings_text(r.settings)}", r.number)
                                    for r in self.runs]
            self._draw_compare()
            best = run.best(f"val_{self.metric}")
            status = (f"Run {number} {run.outcome}: {run.epochs} epochs in {seconds:.1f} s"
                      + ("" if best is None else f", best val {self.metric} {best:.3f}")
                      + (f"; {run.note}" if run.note else ""))
        except Exception as exc:  # shown to the learner, not lost in the thread
            status = f"Run {number} failed: {type(exc).__name__}: {exc}"
            self.live_out.append_stderr(traceback.format_exc())
        except BaseException as exc:  # KeyboardInterrupt, SystemExit: end the run, say so
            status = f"Run {number} interrupted: {type(exc).__name__}"
        finally:
            self.status.value = status
            self.train_button.disabled, self.stop_button.disabled = False, True

    def _draw_compare(self) -> None:
        picked = set(self.overlay.value)
        shown = [r for r in self.runs if not picked or r.number in picked]
        if not shown:
            return
        self.compare_out.outputs = (
            _curves_png(shown, [f"val_{self.metric}", "val_loss"], "Validation curves",
                        [_colour(r.number) for r in shown]),)

    def _table_html(self) -> str:
        notes = any(r.note for r in self.runs)
        head = ("<tr><th>run</th><th>settings</th>"
                f"<th>best val {html.escape(self.metric)}</th><th>epochs</th><th>seconds</th>"
                + ("<th>result</th>" if notes else "") + "</tr>")
        rows = []
        for r in self.runs:
            best = r.best(f"val_{self.metric}")
            rows.append(
                f"<tr><td>{r.number}</td><td>{html.escape(settings_text(r.settings))}</td>"
                f"<td>{'n/a' if best is None else f'{best:.3f}'}</td>"
                f"<td>{r.epochs}{'' if r.outcome == 'done' else f' ({r.outcome})'}</td>"
                f"<td>{r.seconds:.1f}</td>"
                + (f"<td>{html.escape(r.note)}</td>" if notes else "") + "</tr>")
        css = ("<style>.labkit-runs-table td, .labkit-runs-table th {padding: 2px 10px; "
               "border-bottom: 1px solid #ddd; text-align: left}</style>")
        return (f"{css}<table class='labkit-runs-table'><thead>{head}</thead>"
                f"<tbody>{''.join(rows)}</tbody></table>")


# -- control factories -------------------------------------------------------------------------
_STYLE = {"description_width": "initial"}


def lr_slider(value: float = 1e-3, min_exp: float = -5, max_exp: float = 0,
              description: str = "learning rate", name: str = "lr") -> widgets.FloatLogSlider:
    """Log-scale learning-rate slider from 10**min_exp to 10**max_exp.

    A ``value`` that is not a finite number > 0 raises a ValueError naming ``name`` (the
    argument the panel took it from).
    """
    value = train.check_lr(value, name)
    return widgets.FloatLogSlider(value=value, base=10, min=min_exp, max=max_exp, step=0.25,
                                  description=description, readout_format=".1e",
                                  continuous_update=False, style=_STYLE)


def epochs_slider(value: int = 5, max: int = 30) -> widgets.IntSlider:  # noqa: A002
    """Number of epochs, 1..max."""
    return int_slider("epochs", value, 1, max)


def int_slider(description: str, value: int, min: int, max: int,  # noqa: A002
               step: int = 1) -> widgets.IntSlider:
    """An IntSlider that only reports on release."""
    return widgets.IntSlider(value=value, min=min, max=max, step=step, description=description,
                             continuous_update=False, style=_STYLE)


def float_slider(description: str, value: float, min: float, max: float,  # noqa: A002
                 step: float = 0.05, readout_format: str = ".2f") -> widgets.FloatSlider:
    """A FloatSlider that only reports on release."""
    return widgets.FloatSlider(value=value, min=min, max=max, step=step, description=description,
                               readout_format=readout_format, continuous_update=False,
                               style=_STYLE)


def dropdown(description: str, options: Sequence[Any], value: Any = None) -> widgets.Dropdown:
    """A Dropdown (first option by default)."""
    options = list(options)
    return widgets.Dropdown(options=options, value=options[0] if value is None else value,
                            description=description, style=_STYLE)
