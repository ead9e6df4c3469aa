"""One real RetrainPanel run in JupyterLab, driven by Playwright in Debian's headless Chromium.

Starts ``jupyter lab`` from this venv on a free port with a token, opens a tiny notebook that
displays a panel (epochs slider at 5), runs all cells, moves the epochs slider to 3 with the
keyboard, clicks Train, waits for run 1 in the runs table, checks that the run used epochs=3 and
saves a screenshot to ``artifacts/e2e_widget.png``.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO / "artifacts" / "e2e_widget.png"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

NOTEBOOK_CODE = """\
import numpy as np
import keras
from labkit.widgets import RetrainPanel, epochs_slider, lr_slider

rng = np.random.default_rng(0)
x = rng.normal(size=(48, 4)).astype("float32")
y = (x[:, 0] > 0).astype("int64")

def train_fn(settings, callbacks):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(settings["lr"]), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model.fit(x, y, validation_split=0.25, epochs=settings["epochs"], batch_size=8,
                     callbacks=callbacks, verbose=0)

panel = RetrainPanel(train_fn, {"lr": lr_slider(1e-2), "epochs": epochs_slider(5, 10)},
                     title="e2e: tiny model")
panel
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"jupyter lab did not answer {url} within {timeout} s")


def _stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # the server shuts its kernels down on SIGTERM
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: only what this test started
            proc.wait(10)


def test_retrain_panel_in_jupyterlab(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: install it with `make browser-deps` "
                    "(apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    nbformat = pytest.importorskip("nbformat")
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists():
        pytest.skip(f"no jupyter next to {sys.executable}")

    root = tmp_path / "root"
    root.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK_CODE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, root / "e2e.ipynb")

    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p))
    for var, sub in (("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_WORKSPACES_DIR", "ws"),
                     ("JUPYTERLAB_SETTINGS_DIR", "settings")):
        env[var] = str(tmp_path / sub)
    # No "get Jupyter news?" toast over the page.
    notify = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    notify.mkdir(parents=True)
    (notify / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}')
    log = tmp_path / "jupyter.log"
    cmd = [str(jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI often run as root
    started = time.perf_counter()
    with open(log, "w") as log_file:
        proc = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(f"{base}/api/status?token={token}", proc)
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1700})
            try:
                page.goto(f"{base}/lab/tree/e2e.ipynb?token={token}")
                page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
                # Run All before the kernel is up opens a "Select Kernel" dialog instead.
                page.locator("#jp-main-statusbar", has_text="Idle").wait_for(timeout=90_000)
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
                page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
                panel = page.locator(".labkit-panel")
                panel.wait_for(timeout=120_000)  # kernel start + TF import on a slow machine
                # Move the epochs slider 5 -> 3: focus its noUiSlider handle, two ArrowLeft presses
                # (one step each; noUiSlider fires "change", which syncs the value to the kernel).
                epochs = panel.locator(".widget-slider", has_text="epochs")
                readout = epochs.locator(".widget-readout")
                assert readout.inner_text().strip() == "5"
                handle = epochs.locator(".noUi-handle")
                handle.click()
                handle.press("ArrowLeft")
                handle.press("ArrowLeft")
                sync_api.expect(readout).to_have_text("3", timeout=10_000)
                panel.locator(".widget-button", has_text="Train").click()
                rows = page.locator(".labkit-runs tbody tr")
                rows.first.wait_for(timeout=120_000)
                page.locator(".labkit-compare img").first.wait_for(timeout=30_000)
                assert rows.count() == 1
                assert rows.first.locator("td").first.inner_text().strip() == "1"
                assert "epochs=3" in rows.first.inner_text()  # the moved slider value was used
                assert rows.first.locator("td").nth(3).inner_text().strip() == "3"  # epochs run
                assert page.locator(".labkit-live img").count() == 1
                assert "Run 1 done" in panel.inner_text()
                train = panel.locator(".widget-button", has_text="Train")
                assert train.is_enabled()
                panel.scroll_into_view_if_needed()
                SCREENSHOT.parent.mkdir(exist_ok=True)
                page.screenshot(path=str(SCREENSHOT))
            except Exception:
                SCREENSHOT.parent.mkdir(exist_ok=True)
                page.screenshot(path=str(SCREENSHOT.with_name("e2e_widget_failure.png")))
                raise
            finally:
                browser.close()
    except Exception as exc:
        tail = log.read_text(errors="replace")[-3000:]
        raise AssertionError(f"{exc}\n--- jupyter lab log (tail) ---\n{tail}") from exc
    finally:
        _stop_server(proc)
    print(f"e2e JupyterLab run: {time.perf_counter() - started:.1f} s")
