// The MLP tab: data, network editor and diagram, decision boundary, loss curves, one neuron.
"use strict";

const Mlp = (() => {
  const MAX_LAYERS = 6, MAX_NEURONS = 8;
  let section, app, state = null, lossChart, chosenPoint = null;

  function init(element, descriptions, playground) {
    section = element; app = playground;
    Controls.build(section, descriptions, (name, value) => app.change("mlp", withLoss(name, value)));
    lossChart = new Charts.LineChart(section.querySelector("#mlp-loss"),
      { autoLog: true, xLabel: "epoch", yLabel: "loss" });
    section.querySelector("#add-layer").addEventListener("click", () => {
      const hidden = state.settings.hidden;
      app.change("mlp", { hidden: [...hidden, hidden.length ? hidden[hidden.length - 1] : 2] });
    });
    section.querySelector("#remove-layer").addEventListener("click", () => {
      app.change("mlp", { hidden: state.settings.hidden.slice(0, -1) });
    });
    section.querySelector("#mlp-upload").addEventListener("change", (event) => {
      const file = event.target.files[0];
      if (file) app.upload(file);
      event.target.value = "";
    });
    section.querySelector("#mlp-regenerate").addEventListener("click", () => {
      app.change("mlp", { seed: (state.settings.seed + 1) % 2147483647 });
    });
    section.querySelector("#show-test").addEventListener("change", () => drawBoundary());
    section.querySelector("#boundary").addEventListener("click", choosePoint);
  }

  // One output neuron needs a loss with one output: switching single-neuron mode on with
  // cross-entropy (two outputs) also switches to binary cross-entropy (a sigmoid neuron).
  function withLoss(name, value) {
    const changes = { [name]: value };
    const oneOutput = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "hinge"];
    if (name === "single_neuron" && value === true && state.data.task === "classification"
        && !oneOutput.includes(state.settings.loss)) {
      changes.loss = "binary_cross_entropy";
    }
    return changes;
  }

  // ----- the input plane ---------------------------------------------------------------------
  function planeToCanvas(extent, canvas) {
    const [x0, x1, y0, y1] = extent;
    return (x, y) => [(x - x0) / (x1 - x0) * canvas.width, (1 - (y - y0) / (y1 - y0)) * canvas.height];
  }

  function boundaryImage(boundary) {
    const values = Charts.decode(boundary.values);
    const classes = boundary.kind === "classes" ? Charts.decode(boundary.classes) : null;
    return Charts.heatmap(boundary.size, values, classes);
  }

  function pointColour(label, data) {
    if (data.task === "regression") {
      const b = state.boundary;
      const v = 2 * (label - b.low) / Math.max(b.high - b.low, 1e-9) - 1;
      return `rgb(${Charts.diverging(v).join(",")})`;
    }
    return Charts.PALETTE[label % Charts.PALETTE.length];
  }

  function drawBoundary() {
    if (!state) return;
    const canvas = section.querySelector("#boundary");
    const context = canvas.getContext("2d");
    context.imageSmoothingEnabled = true;
    context.drawImage(boundaryImage(state.boundary), 0, 0, canvas.width, canvas.height);
    const data = state.data;
    const place = planeToCanvas(data.extent, canvas);
    const showTest = section.querySelector("#show-test").checked;
    const parts = showTest ? [["train", "#fff"], ["test", "#000"]] : [["train", "#fff"]];
    for (const [part, ring] of parts) {
      for (const [x, y, label] of data[part]) {
        const [px, py] = place(x, y);
        context.beginPath();
        context.arc(px, py, 3.2, 0, 2 * Math.PI);
        context.fillStyle = pointColour(label, data);
        context.fill();
        context.lineWidth = 1; context.strokeStyle = ring; context.stroke();
      }
    }
    if (state.neuron && chosenPoint) {
      const [px, py] = place(chosenPoint[0], chosenPoint[1]);
      context.beginPath(); context.arc(px, py, 6, 0, 2 * Math.PI);
      context.lineWidth = 2; context.strokeStyle = "#d62728"; context.stroke();
    }
  }

  // ----- the network diagram -----------------------------------------------------------------
  function columnsX(count, width, margin = 40) {
    return Array.from({ length: count }, (_, i) => margin + i * (width - 2 * margin) / Math.max(1, count - 1));
  }

  function inputImage(which, size) {
    const values = new Uint8Array(size * size);
    for (let row = 0; row < size; row++) {
      for (let col = 0; col < size; col++) {
        const v = which === 0 ? (col + 0.5) / size * 2 - 1 : 1 - (row + 0.5) / size * 2;
        values[row * size + col] = Math.round((v + 1) * 127.5);
      }
    }
    return Charts.heatmap(size, values, null);
  }

  function drawNetwork() {
    const canvas = section.querySelector("#network");
    const context = canvas.getContext("2d");
    context.clearRect(0, 0, canvas.width, canvas.height);
    const network = state.network;
    const sizes = network.sizes;
    const xs = columnsX(sizes.length, canvas.width, state.neuron ? 90 : 40);
    const node = 34;
    const positions = sizes.map((count, layer) => {
      const spacing = Math.min(44, (canvas.height - 20) / count);
      const top = canvas.height / 2 - (count - 1) * spacing / 2;
      return Array.from({ length: count }, (_, i) => [xs[layer], top + i * spacing]);
    });
    // weights as lines: blue positive, orange negative, width by |w|
    network.layers.forEach((layer, l) => {
      layer.weight.forEach((row, j) => {
        row.forEach((w, i) => {
          const [xa, ya] = positions[l][i], [xb, yb] = positions[l + 1][j];
          context.strokeStyle = `rgba(${Charts.diverging(w > 0 ? 1 : -1).join(",")},0.75)`;
          context.lineWidth = Math.min(7, 0.4 + Math.abs(w) * 2.2);
          context.beginPath(); context.moveTo(xa + node / 2, ya); context.lineTo(xb - node / 2, yb); context.stroke();
        });
      });
    });
    // nodes: inputs, hidden neurons (their output over the plane), outputs
    context.font = "11px system-ui, sans-serif"; context.textAlign = "center"; context.fillStyle = "#333";
    positions[0].forEach(([x, y], i) => {
      context.drawImage(inputImage(i, 16), x - node / 2, y - node / 2, node, node);
      context.fillText(state.data.feature_names[i] || `x${i + 1}`, x, y + node / 2 + 11);
    });
    network.neurons.forEach((maps, layer) => {
      maps.forEach((encoded, i) => {
        const [x, y] = positions[layer + 1][i];
        const image = Charts.heatmap(network.neuron_grid, Charts.decode(encoded), null);
        context.imageSmoothingEnabled = true;
        context.drawImage(image, x - node / 2, y - node / 2, node, node);
        context.strokeStyle = "#999"; context.lineWidth = 1;
        context.strokeRect(x - node / 2, y - node / 2, node, node);
      });
      const [x] = positions[layer + 1][0];
      context.fillText(network.activation, x, 10);
    });
    const last = positions[positions.length - 1];
    if (state.neuron) {  // the lecture's neuron: weighted sum, bias, activation
      const [x, y] = last[0];
      context.beginPath(); context.arc(x, y, 34, 0, 2 * Math.PI);
      context.fillStyle = "#183d4e"; context.fill();
      context.fillStyle = "#fff"; context.font = "bold 14px system-ui, sans-serif";
      context.fillText("\u03a3 + b", x, y - 4);
      context.font = "11px system-ui, sans-serif";
      context.fillText(`f = ${state.neuron.activation.split(" ")[0]}`, x, y + 13);
      context.fillStyle = "#333";
      context.fillText(`b = ${state.neuron.bias.toFixed(3)}`, x, y + 50);
      state.neuron.weight.forEach((w, i) => {
        const [xa, ya] = positions[0][i];
        context.fillText(`w${i + 1} = ${w.toFixed(3)}`, (xa + x) / 2, (ya + y) / 2 + (i ? 18 : -8));
      });
    } else {
      last.forEach(([x, y], i) => {
        context.beginPath(); context.arc(x, y, 11, 0, 2 * Math.PI);
        context.fillStyle = sizes[sizes.length - 1] > 1 ? Charts.PALETTE[i % Charts.PALETTE.length] : "#183d4e";
        context.fill();
        context.fillStyle = "#333";
        const classes = state.data.classes;
        context.fillText(sizes[sizes.length - 1] > 1 ? `class ${classes[i]}` : (network.output_activation || "output"), x, y + 24);
      });
    }
    drawNeuronButtons(xs);
  }

  function drawNeuronButtons(xs) {
    const holder = section.querySelector("#neuron-buttons");
    holder.textContent = "";
    holder.style.position = "relative";
    holder.style.marginLeft = "0";
    holder.style.width = section.querySelector("#network").width + "px";
    if (state.settings.single_neuron) return;
    state.settings.hidden.forEach((count, layer) => {
      const group = document.createElement("span");
      group.className = "layer";
      group.style.position = "absolute";
      group.style.left = (xs[layer + 1] - 34) + "px";
      group.style.width = "68px";
      const plus = document.createElement("button");
      plus.textContent = "+"; plus.title = "Add a neuron"; plus.disabled = count >= MAX_NEURONS;
      plus.addEventListener("click", () => resize(layer, +1));
      const minus = document.createElement("button");
      minus.textContent = "\u2212"; minus.title = "Remove a neuron"; minus.disabled = count <= 1;
      minus.addEventListener("click", () => resize(layer, -1));
      const label = document.createElement("span");
      label.textContent = String(count);
      group.append(minus, label, plus);
      holder.appendChild(group);
    });
  }

  function resize(layer, change) {
    const hidden = [...state.settings.hidden];
    hidden[layer] += change;
    app.change("mlp", { hidden });
  }

  // ----- numbers, curves and the single neuron -----------------------------------------------
  function drawMetrics() {
    const m = state.metrics;
    const rows = [["", "loss", state.data.task === "classification" ? "accuracy" : ""],
                  ["train", m.train_loss, m.train_accuracy], ["held out", m.test_loss, m.test_accuracy]];
    const table = section.querySelector("#mlp-metrics");
    table.textContent = "";
    rows.forEach((row, r) => {
      const tr = document.createElement("tr");
      row.forEach((cell, c) => {
        const td = document.createElement(r === 0 || c === 0 ? "th" : "td");
        td.textContent = typeof cell === "number" ? cell.toFixed(4) : (cell ?? "");
        td.dataset.metric = r && c ? `${r === 1 ? "train" : "test"}_${c === 1 ? "loss" : "accuracy"}` : "";
        tr.appendChild(td);
      });
      table.appendChild(tr);
    });
  }

  function drawLoss() {
    const h = state.history;
    lossChart.update([
      { name: "train", color: "#183d4e", xs: h.epoch, ys: h.train_loss },
      { name: "held out", color: "#f59322", xs: h.epoch, ys: h.test_loss, dashed: true },
    ]);
  }

  function activate(name, z) {
    if (name.startsWith("sigmoid")) return 1 / (1 + Math.exp(-z));
    return z;
  }

  function drawNeuron() {
    const panel = section.querySelector("#neuron-panel");
    const neuron = state.neuron;
    panel.hidden = !neuron;
    if (!neuron) return;
    const [w1, w2] = neuron.weight, b = neuron.bias;
    let x = neuron.example.x, label = neuron.example.label, shownPoint = chosenPoint;
    if (chosenPoint) {
      const t = state.input_transform;
      x = t ? chosenPoint.slice(0, 2).map((v, i) => v * t.scale[i] + t.offset[i]) : chosenPoint.slice(0, 2);
      label = chosenPoint[2];
    } else {
      shownPoint = state.data.train[0];
    }
    const z = w1 * x[0] + w2 * x[1] + b;
    const y = activate(neuron.activation, z);
    const f = neuron.activation;
    const predicted = f === "sign" ? (z > 0 ? 1 : 0) : (y > 0.5 ? 1 : 0);
    const n = (v) => (v < 0 ? `(${v.toFixed(3)})` : v.toFixed(3));
    panel.innerHTML = "";
    const lines = [
      ["The lecture's neuron", "y = f(w\u2081x\u2081 + w\u2082x\u2082 + b)"],
      ["weights and bias", `w\u2081 = ${w1.toFixed(3)}, w\u2082 = ${w2.toFixed(3)}, b = ${b.toFixed(3)}, f = ${f}`],
      [`point (${shownPoint[0].toFixed(2)}, ${shownPoint[1].toFixed(2)})`, "click the output plot to choose another"],
      ["weighted sum", `z = ${n(w1)}\u00b7${n(x[0])} + ${n(w2)}\u00b7${n(x[1])} + ${n(b)} = ${z.toFixed(3)}`],
      ["activation", f === "sign" ? `score z = ${z.toFixed(3)}: class ${predicted}`
                                  : `y = ${f.split(" ")[0]}(${z.toFixed(3)}) = ${y.toFixed(3)}`],
    ];
    if (state.data.task === "classification") lines.push(["prediction", `class ${predicted} (label ${label})`]);
    for (const [name, text] of lines) {
      const p = document.createElement("div");
      const strong = document.createElement("b"); strong.textContent = name + ": ";
      const span = document.createElement("span"); span.className = "formula"; span.textContent = text;
      p.append(strong, span);
      panel.appendChild(p);
    }
  }

  function choosePoint(event) {
    if (!state || !state.neuron) return;
    const canvas = event.currentTarget;
    const rect = canvas.getBoundingClientRect();
    const place = planeToCanvas(state.data.extent, canvas);
    const cx = (event.clientX - rect.left) * canvas.width / rect.width;
    const cy = (event.clientY - rect.top) * canvas.height / rect.height;
    let best = null, bestDistance = Infinity;
    for (const point of state.data.train) {
      const [px, py] = place(point[0], point[1]);
      const d = (px - cx) ** 2 + (py - cy) ** 2;
      if (d < bestDistance) { bestDistance = d; best = point; }
    }
    chosenPoint = best;
    drawNeuron(); drawBoundary();
  }

  function render(newState) {
    if (state && (newState.data.source !== state.data.source || newState.settings.seed !== state.settings.seed)) chosenPoint = null;
    state = newState;
    const settings = state.settings;
    Controls.show(section, settings, { activation: settings.single_neuron });
    const uploadButton = section.querySelector('.datasets button[data-value="upload"]');
    if (uploadButton) uploadButton.disabled = !state.has_upload;
    const generated = settings.dataset !== "upload";
    for (const name of ["noise", "samples"]) {
      const input = section.querySelector(`[data-control="${name}"] input`);
      if (input) input.disabled = !generated;
    }
    section.querySelector(".data-source").textContent = generated ? "" : `from ${state.data.source}: ${state.data.task}` +
      (state.data.task === "classification" ? ` (${state.data.classes.join(", ")})` : "");
    section.querySelector("#add-layer").disabled = settings.single_neuron || settings.hidden.length >= MAX_LAYERS;
    section.querySelector("#remove-layer").disabled = settings.single_neuron || settings.hidden.length === 0;
    drawBoundary(); drawNetwork(); drawMetrics(); drawLoss(); drawNeuron();
  }

  return { init, render, charts: () => ({ loss: lossChart }) };
})();
