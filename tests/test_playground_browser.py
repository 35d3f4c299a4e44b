"""The playground in a real browser: headless Chromium (Debian's ``chromium``) driven by
Playwright for Python. Trains XOR until the held-out loss is low, trains a tanh RNN and an LSTM
on the adding problem and reads the per-step gradient chart's data, exports the models and loads
them with annie.load, and checks that the page logged no console error.

Screenshots go to $ANNIE_SCREENSHOTS (the README's picture is made this way) or to the test's
temporary folder. Where Chromium or Playwright is missing the test is skipped, except in CI
($CI or $ANNIE_REQUIRE_BROWSER set), where it fails.
"""
from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest

import annie

from playground_support import Client, running_server

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
WAIT_MS = 90_000  # the longest wait for training to get somewhere (a stuck page fails)


def _browser_or_skip():
    required = bool(os.environ.get("CI") or os.environ.get("ANNIE_REQUIRE_BROWSER"))
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = [name for name, found in (("chromium", chromium), ("playwright", sync_playwright))
               if not found]
    if missing:
        reason = f"{' and '.join(missing)} not installed (.ci/run installs them)"
        if required:
            pytest.fail(reason)
        pytest.skip(reason)
    return chromium, sync_playwright


@pytest.fixture(scope="module")
def browser():
    chromium, sync_playwright = _browser_or_skip()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture()
def screenshots(tmp_path):
    folder = os.environ.get("ANNIE_SCREENSHOTS") or str(tmp_path / "screenshots")
    os.makedirs(folder, exist_ok=True)
    return folder


def _open(browser, url, errors,
          ready="window.playground.session && window.playground.states.rnn"):
    page = browser.new_page(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_function(ready, timeout=WAIT_MS)
    return page


def _state(page, lab):
    return page.evaluate(f"window.playground.states.{lab}")


def _wait(page, expression):
    page.wait_for_function(expression, timeout=WAIT_MS)


def _type(page, selector, text):
    """Enter ``text`` in an input and commit it (the change event a user's Enter or Tab sends)."""
    field = page.locator(selector)
    field.fill(text)
    field.dispatch_event("change")


def _download(page, link, path):
    with page.expect_download(timeout=WAIT_MS) as download:
        page.click(link)
    download.value.save_as(path)
    return path


def test_the_playground_in_chromium(browser, screenshots, tmp_path):
    errors: list = []
    expected_errors: list = []
    with running_server() as server:
        page = _open(browser, server.url, errors)
        mlp = "#mlp "
        # ----- MLP: XOR with a bigger first layer, a bad value refused on the page
        page.click(mlp + '.datasets button[data-value="xor"]')
        _wait(page, "window.playground.states.mlp.settings.dataset === 'xor'")
        page.select_option(mlp + '[data-control="optimizer"] select', "adam")
        page.click(mlp + "#neuron-buttons .layer button:last-child")  # + a neuron in layer 1
        _wait(page, "window.playground.states.mlp.settings.hidden[0] === 5")
        _type(page, mlp + '[data-control="lr"] input', "-1")
        page.wait_for_selector(mlp + '[data-error="lr"]:text("Learning rate")', timeout=WAIT_MS)
        assert "expected a number from 1e-05 to 10" in page.inner_text(mlp + '[data-error="lr"]')
        assert _state(page, "mlp")["settings"]["lr"] == 0.03  # the server kept the old value
        expected_errors.append("status of 400")  # the browser logs the refused request
        _type(page, mlp + '[data-control="lr"] input', "0.01")
        _wait(page, "window.playground.states.mlp.settings.lr === 0.01")
        _type(page, mlp + '[data-control="l2"] input', "0.001")  # L2 keeps the held-out loss low
        _wait(page, "window.playground.states.mlp.settings.l2 === 0.001")
        assert page.inner_text(mlp + '[data-error="lr"]') == ""
        for _ in range(5):  # train until the held-out loss is below 0.15 when paused
            page.click(mlp + ".play")
            _wait(page, "window.playground.states.mlp.metrics.test_loss < 0.15")
            page.click(mlp + ".pause")
            _wait(page, "!window.playground.states.mlp.running")
            state, curve = page.evaluate("[window.playground.states.mlp, "
                                         "window.playground.charts().mlp.loss.series[1].ys]")
            if state["metrics"]["test_loss"] < 0.15:
                break
        assert state["metrics"]["test_loss"] < 0.15 and state["metrics"]["test_accuracy"] > 0.85
        assert curve == state["history"]["test_loss"] and curve[-1] < 0.15  # the chart's data
        page.click(mlp + ".show-code")
        page.wait_for_selector(mlp + ".code:not([hidden])", timeout=WAIT_MS)
        assert "annie.fit(" in page.inner_text(mlp + ".code")
        page.screenshot(path=os.path.join(screenshots, "playground_mlp.png"), full_page=True)
        model_path = _download(page, mlp + '[data-export="model"]', tmp_path / "xor.annie")
        session = server.store.get(page.evaluate("window.playground.session"))
        lab = session.labs["mlp"]
        loaded = annie.load(model_path)
        assert np.array_equal(annie.predict(loaded, lab.X_test), annie.predict(lab.model, lab.X_test))

        # ----- single-neuron mode: the lecture's neuron, y = f(w1 x1 + w2 x2 + b)
        page.check(mlp + '[data-control="single_neuron"] input')
        _wait(page, "window.playground.states.mlp.neuron !== undefined")
        state = _state(page, "mlp")
        assert state["settings"]["loss"] == "binary_cross_entropy"  # one output neuron
        assert state["network"]["sizes"] == [2, 1]
        panel = page.inner_text(mlp + "#neuron-panel")
        assert "weighted sum" in panel and "sigmoid" in panel
        w1, w2 = state["neuron"]["weight"]
        assert f"w\u2081 = {w1:.3f}" in panel and f"b = {state['neuron']['bias']:.3f}" in panel

        # ----- RNN: a tanh RNN, then an LSTM, on the adding problem with T = 20
        page.click("#tab-rnn")
        rnn = "#rnn "
        _type(page, rnn + '[data-control="steps"] input', "20")
        _wait(page, "window.playground.states.rnn.settings.steps === 20")
        charts = {}
        for cell in ("rnn", "lstm"):
            page.select_option(rnn + '[data-control="cell"] select', cell)
            _wait(page, f"window.playground.states.rnn.settings.cell === '{cell}'")
            page.click(rnn + ".play")
            _wait(page, "window.playground.states.rnn.step_gradients.measured_at_step >= 40")
            page.click(rnn + ".pause")
            _wait(page, "!window.playground.states.rnn.running")
            chart, state = page.evaluate(
                "(() => { const c = window.playground.charts().rnn.steps; return [{log: c.log,"
                " xs: c.series[0].xs, ys: c.series[0].ys}, window.playground.states.rnn]; })()")
            assert chart["log"] is True
            assert chart["xs"] == list(range(1, 21))
            assert chart["ys"] == state["step_gradients"]["norms"]
            assert all(value > 0 and np.isfinite(value) for value in chart["ys"])
            assert state["metrics"]["test_loss"] < 1.0
            charts[cell] = chart["ys"]
            page.screenshot(path=os.path.join(screenshots, f"playground_{cell}.png"),
                            full_page=True)
        assert charts["rnn"] != charts["lstm"]
        model_path = _download(page, rnn + '[data-export="model"]', tmp_path / "lstm.annie")
        lab = session.labs["rnn"]
        loaded = annie.load(model_path)
        assert type(loaded).__name__ == "SequenceRegressor"
        assert np.array_equal(annie.predict(loaded, lab.X_test), annie.predict(lab.model, lab.X_test))

        # ----- a second tab is a session of its own
        other = _open(browser, server.url, errors)
        assert other.evaluate("window.playground.session") != session.id
        assert _state(other, "mlp")["settings"]["dataset"] == "circle"
        assert _state(page, "mlp")["settings"]["dataset"] == "xor"
        # ... where a CSV of your own is read by annie's loader and drawn with its classes
        rows = [f"{i % 7},{(i * 3) % 5},{'abc'[i % 3]}" for i in range(60)]
        (tmp_path / "mine.csv").write_text("width,height,kind\n" + "\n".join(rows) + "\n")
        other.set_input_files("#mlp-upload", str(tmp_path / "mine.csv"))
        _wait(other, "window.playground.states.mlp.settings.dataset === 'upload'")
        assert "mine.csv" in other.inner_text("#mlp .data-source")
        assert _state(other, "mlp")["data"]["classes"] == ["a", "b", "c"]
        other.close()
        page.close()
    # no console error but the one logged for the refused value
    assert len(errors) == len(expected_errors), errors
    assert all(wanted in error for wanted, error in zip(expected_errors, errors)), errors


# pixels of a chart's canvas in a colour left, right or below the chart's plot rectangle (drawn
# over the axes' labels or past the edge; the legend is above it)
_OUTSIDE_PIXELS = """(([canvas, layout, rgb]) => {
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let count = 0;
  for (let y = 0; y < canvas.height; y++) {
    for (let x = 0; x < canvas.width; x++) {
      const inside = x >= layout.left && x < layout.right && y < layout.bottom;
      const i = 4 * (y * canvas.width + x);
      if (!inside && pixels[i] === rgb[0] && pixels[i + 1] === rgb[1] && pixels[i + 2] === rgb[2]
          && pixels[i + 3] === 255) count++;
    }
  }
  return count;
})"""

_CHART_CHECKS = """(() => {
  const outside = %s;
  const canvas = document.createElement("canvas");
  canvas.width = 620; canvas.height = 240;
  const bars = new Charts.LineChart(canvas, { log: true, bars: true });
  const found = {};
  bars.update([{ name: "T = 2", color: "#0877bd", xs: [1, 2], ys: [0.01, 0.003] }]);
  found.short = { outside: outside([canvas, bars.layout, [8, 119, 189]]),
                  labels: bars.layout.labels.map((label) => label.text) };
  bars.update([{ name: "", color: "#0877bd", xs: [1, 2, 3, 4, 5, 6], ys: [0, 0, 1e-30, 1e-20, 1e-10, 1] }]);
  found.zeros = { zeros: bars.layout.zeros, xLow: bars.layout.xLow };
  const loss = new Charts.LineChart(canvas, { autoLog: true });
  loss.update([{ name: "train", color: "#183d4e", xs: [0, 1, 2, 3], ys: [2800, 0.5, 0.2, 0.15] }]);
  found.spike = loss.layout.log;
  loss.update([{ name: "train", color: "#183d4e", xs: [0, 500, 1000, 1500], ys: [0.7, 0.5, 0.3, 0.2] }]);
  found.plain = { log: loss.layout.log, labels: loss.layout.labels, width: canvas.width };
  found.format = [Charts.format(0.000746), Charts.format(1e-4), Charts.format(0.0159), Charts.format(12345)];
  return found;
})()""" % _OUTSIDE_PIXELS


def test_charts_and_a_refused_session_in_chromium(browser, screenshots):
    errors: list = []
    with running_server(max_sessions=1) as server:
        page = _open(browser, server.url, errors)
        # ----- the chart code on known data
        found = page.evaluate(_CHART_CHECKS)
        assert found["short"] == {"outside": 0, "labels": ["1", "2"]}  # bars in their slots
        assert found["zeros"] == {"zeros": [1, 2], "xLow": 0.5}  # underflow marked, not dropped
        assert found["spike"] is True and found["plain"]["log"] is False
        assert all(0 <= label["from"] and label["to"] <= found["plain"]["width"]
                   for label in found["plain"]["labels"])  # "1500" inside the canvas
        assert found["format"] == ["7.46e-4", "1e-4", "0.0159", "1.23e+4"]
        # ----- the RNN tab with T = 2, and a gradient at t = 1 that underflowed
        page.click("#tab-rnn")
        _type(page, '#rnn [data-control="steps"] input', "2")
        _wait(page, "window.playground.states.rnn.settings.steps === 2")
        outside = page.evaluate("(() => { const chart = window.playground.charts().rnn.steps; return "
                                "%s([chart.canvas, chart.layout, [8, 119, 189]]); })()"
                                % _OUTSIDE_PIXELS)
        assert outside == 0
        page.screenshot(path=os.path.join(screenshots, "playground_rnn_T2.png"), full_page=True)
        ratio = page.evaluate("(() => { const state = structuredClone(window.playground.states.rnn);"
                              " state.step_gradients.norms[0] = 0; Rnn.render(state);"
                              " return document.querySelector('#rnn-metrics').innerText; })()")
        assert "underflowed to 0" in ratio
        # ----- a hidden tab gives back its connection (a browser has six per server) ...
        session = server.store.get(page.evaluate("window.playground.session"))
        assert session.streams == 1
        _set_hidden(page, True)
        _until(lambda: session.streams == 0)
        Client(server).settings(session.id, "rnn", {"seed": 5})  # changed meanwhile
        _set_hidden(page, False)  # ... and streams again when shown, from the current state
        _wait(page, "window.playground.states.rnn.settings.seed === 5")
        assert session.streams == 1
        # ----- a second tab finds every session taken: it says so, and offers no dead control
        other = _open(browser, server.url, errors,
                      ready="document.getElementById('status').textContent === 'no session'")
        message = other.inner_text("#message")
        assert "1 playground session is open" in message, message
        requests: list = []
        other.on("request", lambda request: requests.append(request.url))
        for selector in ("#mlp .play", "#add-layer", '#mlp [data-control="single_neuron"] input'):
            assert other.is_disabled(selector)
        other.click('#mlp [data-export="model"]')
        other.click("#tab-rnn")
        other.wait_for_timeout(300)  # time for a request the click would have sent
        assert requests == [] and other.inner_text("#message") == message
        other.close()
        page.close()
    # the refused session is logged by the browser as a failed request; nothing else
    assert len(errors) == 1 and "status of 503" in errors[0], errors


def _set_hidden(page, hidden: bool) -> None:
    """What the browser does when the tab is put in the background or shown again."""
    page.evaluate("(hidden) => { Object.defineProperty(document, 'hidden', {configurable: true,"
                  " get: () => hidden}); document.dispatchEvent(new Event('visibilitychange')); }",
                  hidden)


def _until(condition, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit  # a condition never reached fails the test
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)
