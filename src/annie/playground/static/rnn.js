// The RNN tab: task and cell controls, the gradient at every time step (log scale), the loss,
// the gradient norm before clipping and the share of clipped steps.
"use strict";

const Rnn = (() => {
  const NOTES = {
    adding: "Adding problem: two channels, a value and a marker; the target is the sum of the two "
          + "marked values, one marker in each half. Always answering the mean sum (about 1) "
          + "scores MSE 0.167.",
    sine: "Forecast the next value of a noisy sum of two sine waves from the last T values.",
    digits: "Handwritten 8x8 digits read row by row (T = 8 steps of 8 pixels): many-to-one "
          + "classification into 10 classes.",
  };
  let section, app, state = null, stepChart, lossChart, normChart;

  function init(element, descriptions, playground) {
    section = element; app = playground;
    Controls.build(section, descriptions, (name, value) => app.change("rnn", { [name]: value }));
    stepChart = new Charts.LineChart(section.querySelector("#rnn-steps"),
      { log: true, bars: true, xLabel: "time step t", yLabel: "||dL/dh_t||" });
    lossChart = new Charts.LineChart(section.querySelector("#rnn-loss"),
      { autoLog: true, xLabel: "epoch", yLabel: "loss" });
    normChart = new Charts.LineChart(section.querySelector("#rnn-norm"),
      { log: true, xLabel: "epoch", yLabel: "||g||" });
  }

  function table(id, rows) {
    const element = section.querySelector(id);
    element.textContent = "";
    for (const row of rows) {
      const tr = document.createElement("tr");
      row.forEach((cell, c) => {
        const td = document.createElement(c === 0 ? "th" : "td");
        td.textContent = typeof cell === "number" ? Charts.format(cell) : cell;
        tr.appendChild(td);
      });
      element.appendChild(tr);
    }
  }

  function render(newState) {
    state = newState;
    const s = state.settings;
    Controls.show(section, s, { steps: s.task === "digits", noise: s.task !== "sine", clip_norm: !s.clip });
    section.querySelector(".task-note").textContent = NOTES[s.task] || "";
    const norms = state.step_gradients.norms;
    stepChart.update([{ name: `${s.cell.toUpperCase()} (${s.init} init), step ${state.step_gradients.measured_at_step}`,
                        color: "#0877bd", xs: norms.map((_, t) => t + 1), ys: norms }]);
    const h = state.history;
    const lossSeries = [
      { name: "train", color: "#183d4e", xs: h.epoch, ys: h.train_loss },
      { name: "held out", color: "#f59322", xs: h.epoch, ys: h.test_loss },
    ];
    if (state.metrics.baseline !== null && h.epoch.length) {
      lossSeries.push({ name: state.metrics.baseline_name, color: "#999", dashed: true,
                        xs: [h.epoch[0], h.epoch[h.epoch.length - 1]],
                        ys: [state.metrics.baseline, state.metrics.baseline] });
    }
    lossChart.update(lossSeries);
    normChart.update([{ name: "mean per step", color: "#7f3c8d", xs: h.epoch, ys: h.grad_norm },
                      ...(s.clip ? [{ name: "threshold", color: "#d62728", dashed: true,
                                     xs: [h.epoch[0] || 0, h.epoch[h.epoch.length - 1] || 1],
                                     ys: [s.clip_norm, s.clip_norm] }] : [])]);
    const m = state.metrics, c = state.clipping;
    const first = norms[0], last = norms[norms.length - 1];
    const rows = [["training loss", m.train_loss], ["held-out loss", m.test_loss]];
    if (m.test_accuracy !== undefined) rows.push(["held-out accuracy", m.test_accuracy]);
    if (m.baseline !== null) rows.push([`baseline (${m.baseline_name})`, m.baseline]);
    rows.push(["||dL/dh_1|| / ||dL/dh_T||", !(last > 0) ? "-"
      : first === 0 ? "0: the gradient at t = 1 underflowed to 0 (vanished entirely)" : first / last]);
    rows.push(["clipped steps", c.enabled ? `${(100 * c.recent_fraction).toFixed(0)}% of the last 100, ${(100 * c.fraction).toFixed(0)}% of all ${state.steps}` : "clipping is off"]);
    table("#rnn-metrics", rows);
    table("#rnn-examples", state.examples.length ? [["target", "prediction"], ...state.examples] : []);
  }

  return { init, render, charts: () => ({ steps: stepChart, loss: lossChart, norm: normChart }) };
})();
