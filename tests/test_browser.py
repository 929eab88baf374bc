"""The widgets in a real browser: JupyterLab from this project's environment, headless Chromium.

Each notebook is run from JupyterLab's Run menu in smoke mode, then used as a reader would:
in 03 the learning-rate slider moves and the plot follows; in 05 the top-loss browser steps
to the next mistake; in 07 a typed message is classified. Without the widget front end
(``jupyterlab_widgets``) the controls never appear and these tests fail.

Needs Debian's ``chromium`` and ``chromium-driver``: ``make test`` installs them when run as
root, and otherwise these tests are skipped with the command that enables them. With
``HELPERS_REQUIRE_BROWSER=1`` (CI sets it) a missing browser fails instead. Screenshots
of every step go to ``artifacts/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,1000"]
NOTEBOOK_SECONDS = 600  # a smoke run of one notebook, on a busy 2-core machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_browser(chromium: str | None, driver: str | None) -> None:
    """Skip (or, with HELPERS_REQUIRE_BROWSER=1 as in CI, fail) when Chromium or its driver is missing."""
    if chromium and driver:
        return
    why = ("the browser tests need Chromium and its driver: run `make test` as root (it installs "
           "them), or `sudo apt-get install -y chromium chromium-driver`")
    if os.environ.get("HELPERS_REQUIRE_BROWSER") == "1":
        pytest.fail(why + " (HELPERS_REQUIRE_BROWSER=1: they may not be skipped here).")
    pytest.skip(why + ".")


def test_a_missing_browser_skips_with_the_fix_or_fails_where_required(monkeypatch):
    monkeypatch.delenv("HELPERS_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium chromium-driver"):
        require_browser(None, "/usr/bin/chromedriver")
    monkeypatch.setenv("HELPERS_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="may not be skipped"):
        require_browser("/usr/bin/chromium", None)
    require_browser("/usr/bin/chromium", "/usr/bin/chromedriver")  # both there: nothing happens


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1, serving copies of the notebooks (the real ones are never saved)."""
    require_browser(CHROMIUM, CHROMEDRIVER)
    home = tmp_path_factory.mktemp("lab")
    root = home / "notebooks"
    root.mkdir()
    for name in ("03_lr_finder", "05_top_losses", "07_predict_and_deploy"):
        nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata.pop("widgets", None)  # no saved widget views or outputs: all that shows comes from the run
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(nb, root / f"{name}.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "NOTEBOOK_MODE": "smoke", "HELPERS_PROGRESS": "text",
           "NOTEBOOK_ARTIFACTS": str(home / "artifacts"), "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "ws"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
    log = open(home / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.terminals_enabled=False",
         "--LabApp.news_url=", "--LabApp.extension_manager=readonly",  # no network calls from the server
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(base, token, server, home / "jupyterlab.log")
        yield {"base": base, "token": token, "home": home}
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _wait_for_server(base: str, token: str, server: subprocess.Popen, log: Path, seconds: int = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {server.returncode}:\n{log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
            return
        except OSError:
            time.sleep(1)
    pytest.fail(f"JupyterLab did not answer within {seconds} s.")


@pytest.fixture(scope="module")
def browser(lab):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={lab['home'] / 'chromium-profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


class Page:
    """One notebook open in JupyterLab, with the few actions the tests need."""

    def __init__(self, driver, lab: dict, name: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver, self.lab, self.name, self.By = driver, lab, name, By
        driver.get(f"{lab['base']}/lab/tree/{name}.ipynb?token={lab['token']}")
        self.wait_for(lambda: self.find(".jp-Notebook .jp-Cell"), 180, "the notebook to open")
        self.wait_for(self.kernel_idle, 180, "the kernel to start")

    def find(self, css: str, text: str | None = None):
        elements = self.driver.find_elements(self.By.CSS_SELECTOR, css)
        return [e for e in elements if text is None or text in e.text]

    def wait_for(self, condition, seconds: float, what: str):
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                result = condition()
            except Exception:  # the page is still changing under us: try again
                result = None
            if result:
                return result
            time.sleep(0.5)
        self.shot("timeout")
        raise AssertionError(f"{self.name}: waited {seconds:.0f} s for {what}; see {SCREENSHOTS}")

    def kernel_idle(self) -> bool:
        kernels = json.load(urllib.request.urlopen(f"{self.lab['base']}/api/kernels?token={self.lab['token']}"))
        return bool(kernels) and all(k["execution_state"] == "idle" for k in kernels)

    def run_all_from_the_menu(self) -> None:
        for attempt in range(3):  # a click can be lost while JupyterLab is still settling: look, and retry
            self.wait_for(lambda: self.find(".lm-MenuBar-item", "Run"), 60, "the Run menu")[0].click()
            item = self.wait_for(lambda: [e for e in self.find(".lm-Menu-item")
                                          if e.text.split("\n")[0] == "Run All Cells"],
                                 30, "Run All Cells in the Run menu")
            item[0].click()
            deadline = time.time() + 20
            while time.time() < deadline and not self.started():
                time.sleep(0.5)
            if self.started():
                break
        time.sleep(2)  # let the first cells start before asking whether the kernel is idle
        self.wait_for(lambda: self.kernel_idle() and not self.find(".jp-InputPrompt", "[*]"),
                      NOTEBOOK_SECONDS, "every cell to run")
        errors = self.find(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']", "Traceback")
        assert not errors, f"{self.name}: a cell failed: {errors[0].text[:500]}"

    def started(self) -> bool:
        """Whether any code cell has run or is running (its prompt is no longer ``[ ]:``)."""
        try:
            return any(p.text.strip() not in ("", "[ ]:") for p in self.find(".jp-CodeCell .jp-InputPrompt"))
        except Exception:  # the page is still changing under us
            return False

    def widget(self, css: str, text: str | None = None):
        """A rendered ipywidgets control (none without the widget front end)."""
        found = self.wait_for(lambda: self.find(f".jupyter-widgets {css}, {css}.jupyter-widgets", text),
                              60, f"the widget {css!r} to render")
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", found[0])
        return found[0]

    def widget_html(self, contains: str) -> str:
        return self.widget(".widget-html-content", contains).get_attribute("innerHTML")

    def shot(self, step: str) -> None:
        self.driver.save_screenshot(str(SCREENSHOTS / f"{self.name}-{step}.png"))

    def shut_down_kernels(self) -> None:
        base, token = self.lab["base"], self.lab["token"]
        for kernel in json.load(urllib.request.urlopen(f"{base}/api/kernels?token={token}")):
            request = urllib.request.Request(f"{base}/api/kernels/{kernel['id']}?token={token}", method="DELETE")
            urllib.request.urlopen(request)


def test_lr_slider_moves_the_choice_on_the_plot(browser, lab):
    from selenium.webdriver.common.keys import Keys

    page = Page(browser, lab, "03_lr_finder")
    page.run_all_from_the_menu()
    page.widget(".noUi-handle")
    before = page.widget_html("lr_max = ")
    page.shot("1-slider")
    readout = page.widget(".widget-readout")
    readout.click()
    readout.send_keys(Keys.CONTROL, "a")
    readout.send_keys("1.0e-3", Keys.ENTER)
    after = page.wait_for(lambda: (html := page.widget_html("lr_max = ")) != before and html, 60,
                          "the plot to follow the slider")
    page.shot("2-moved")
    assert "lr_max = <b>1.00e-03</b>" in after and "<img" in after
    assert after.split("<img")[1] != before.split("<img")[1]  # a new picture, with the new line
    saved = json.loads((lab["home"] / "artifacts" / "smoke" / "choices.json").read_text())
    assert saved["lr_max"]["value"] == pytest.approx(1e-3)  # notebook 04 will train with it
    page.shut_down_kernels()


def test_top_loss_browser_steps_to_the_next_mistake(browser, lab):
    page = Page(browser, lab, "05_top_losses")
    page.run_all_from_the_menu()
    page.widget(".widget-html-content", "1 of ")
    page.shot("1-first")
    page.widget("button", "next").click()
    page.wait_for(lambda: page.find(".jupyter-widgets .widget-html-content", "2 of "), 60, "the second mistake")
    page.shot("2-next")
    page.shut_down_kernels()


def test_typed_message_is_classified(browser, lab):
    page = Page(browser, lab, "07_predict_and_deploy")
    page.run_all_from_the_menu()
    box = page.widget("textarea")
    box.clear()
    message = "Which shader renders the polygon textures fastest on my graphics card?"
    box.send_keys(message)
    page.wait_for(lambda: page.find(".jupyter-widgets .widget-html-content", "Press classify"), 30,
                  "the box to notice the new text")
    page.shot("1-typed")
    page.widget("button", "classify").click()
    result = page.wait_for(lambda: page.find(".jupyter-widgets .widget-html-content", "Predicted:"), 60,
                           "the predicted class")
    page.shot("2-classified")
    names = ["alt.atheism", "comp.graphics", "sci.med", "soc.religion.christian"]
    assert any(f"Predicted: {name}" in result[0].text for name in names), result[0].text
    assert message[:40] in result[0].text  # the answer is for the typed message
    page.shut_down_kernels()
