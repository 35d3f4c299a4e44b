// Canvas drawing for the playground: colour maps, heat maps and line charts (linear or log).
"use strict";

const Charts = (() => {
  const NEGATIVE = [245, 147, 34];   // orange: class 0, negative values
  const ZERO = [236, 238, 239];
  const POSITIVE = [8, 119, 189];    // blue: class 1, positive values
  const PALETTE = ["#f59322", "#0877bd", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                   "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  function mix(a, b, t) {
    return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t));
  }

  // v in [-1, 1] -> [r, g, b]: orange through light grey to blue
  function diverging(v) {
    const t = Math.max(-1, Math.min(1, v));
    return t < 0 ? mix(ZERO, NEGATIVE, -t) : mix(ZERO, POSITIVE, t);
  }

  function hexToRgb(hex) {
    const n = parseInt(hex.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }

  function decode(base64) {
    const text = atob(base64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    return bytes;
  }

  // bytes 0..255 <-> [-1, 1]
  function unit(byte) { return byte / 127.5 - 1; }

  // An offscreen canvas of size x size pixels for a heat map: "binary"/"regression"/"unit"
  // values on the diverging map, or "classes" (a class per cell, coloured with the palette,
  // fading to white with lower confidence).
  function heatmap(size, values, classes) {
    const canvas = document.createElement("canvas");
    canvas.width = size; canvas.height = size;
    const context = canvas.getContext("2d");
    const image = context.createImageData(size, size);
    for (let i = 0; i < size * size; i++) {
      let rgb;
      if (classes) {
        const confidence = (unit(values[i]) + 1) / 2;
        rgb = mix([255, 255, 255], hexToRgb(PALETTE[classes[i] % PALETTE.length]),
                  Math.max(0, Math.min(1, confidence)) * 0.75);
      } else {
        rgb = diverging(unit(values[i]) * 0.85);
      }
      image.data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
    }
    context.putImageData(image, 0, 0);
    return canvas;
  }

  function niceTicks(low, high, count) {
    const span = high - low || 1;
    const step0 = Math.pow(10, Math.floor(Math.log10(span / count)));
    const step = [1, 2, 5, 10].map((m) => m * step0).find((s) => span / s <= count) || step0 * 10;
    const ticks = [];
    for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) ticks.push(v);
    return ticks;
  }

  // three significant digits; powers of ten for very small or large numbers (7.46e-4)
  function format(v) {
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a >= 1e4 || a < 1e-3) return Number(v.toPrecision(3)).toExponential();
    return String(Number(v.toPrecision(3)));
  }

  const ZERO_COLOR = "#999";  // a value of exactly 0 on a log scale (an underflow), at the floor
  const AUTO_LOG_DECADES = 3;  // autoLog: a log scale once the values span more than this

  // A line (or bar) chart: update([{name, color, xs, ys, dashed}]) draws and keeps the data in
  // .series; options: log (a log y axis), autoLog (log when the values span more than
  // AUTO_LOG_DECADES, so one early spike does not flatten the rest), bars (one bar per
  // whole-number x, e.g. a time step). .layout records what was drawn (for tests).
  class LineChart {
    constructor(canvas, options = {}) {
      this.canvas = canvas;
      this.log = Boolean(options.log);
      this.autoLog = Boolean(options.autoLog);
      this.xLabel = options.xLabel || "";
      this.yLabel = options.yLabel || "";
      this.bars = Boolean(options.bars);
      this.series = [];
      this.layout = null;
    }

    update(series) {
      this.series = series;
      this.draw();
    }

    _valid(y, log) {
      return y !== null && y !== undefined && Number.isFinite(y) && (!log || y > 0);
    }

    _useLog() {
      if (this.log || !this.autoLog) return this.log;
      const ys = this.series.flatMap((s) => s.ys.filter((y) => this._valid(y, false)));
      if (!ys.length || Math.min(...ys) <= 0) return false;
      return Math.log10(Math.max(...ys) / Math.min(...ys)) > AUTO_LOG_DECADES;
    }

    draw() {
      const canvas = this.canvas;
      const context = canvas.getContext("2d");
      const width = canvas.width, height = canvas.height;
      const left = 52, right = 10, top = 10, bottom = 30;
      const log = this._useLog();
      context.clearRect(0, 0, width, height);
      context.font = "11px system-ui, sans-serif";
      let xs = [], ys = [];
      const zeros = [];  // on a log scale: points that are exactly 0, marked at the floor
      for (const s of this.series) {
        s.xs.forEach((x, i) => {
          if (this._valid(s.ys[i], log)) { xs.push(x); ys.push(log ? Math.log10(s.ys[i]) : s.ys[i]); }
          else if (log && s.ys[i] === 0) zeros.push(x);
        });
      }
      context.fillStyle = "#666";
      this.layout = { log, zeros, left, top, right: width - right, bottom: height - bottom, labels: [] };
      if (!xs.length) {
        context.fillText(zeros.length ? "every value is 0" : "no data yet", left + 10, top + 20);
        return;
      }
      let xLow = Math.min(...xs, ...zeros), xHigh = Math.max(...xs, ...zeros);
      if (this.bars) { xLow -= 0.5; xHigh += 0.5; }  // each bar in a slot of its own
      if (xHigh === xLow) xHigh = xLow + 1;
      let yLow = Math.min(...ys), yHigh = Math.max(...ys);
      if (log) { yLow = Math.floor(yLow); yHigh = Math.ceil(yHigh); }
      if (!log) yLow = Math.min(0, yLow);
      if (yHigh - yLow < 1e-12) yHigh = yLow + 1;
      const px = (x) => left + (x - xLow) / (xHigh - xLow) * (width - left - right);
      const py = (y) => top + (1 - (y - yLow) / (yHigh - yLow)) * (height - top - bottom);
      // axes and ticks
      context.strokeStyle = "#ccc"; context.lineWidth = 1;
      context.beginPath();
      context.moveTo(left, top); context.lineTo(left, height - bottom); context.lineTo(width - right, height - bottom);
      context.stroke();
      const yTicks = log ? niceTicks(yLow, yHigh, 5).filter((v) => Number.isInteger(Math.round(v * 1e6) / 1e6))
                         : niceTicks(yLow, yHigh, 4);
      context.textAlign = "right"; context.textBaseline = "middle";
      for (const t of yTicks) {
        const y = py(t);
        context.strokeStyle = "#eee"; context.beginPath(); context.moveTo(left, y); context.lineTo(width - right, y); context.stroke();
        context.fillText(log ? "1e" + Math.round(t) : format(t), left - 4, y);
      }
      context.textAlign = "center"; context.textBaseline = "top";
      let xTicks = niceTicks(xLow, xHigh, 6);
      if (this.bars) xTicks = xTicks.filter((t) => Number.isInteger(t));  // no step 1.5
      for (const t of xTicks) {  // the end labels are kept inside the canvas
        const text = format(t), half = context.measureText(text).width / 2;
        const x = Math.min(Math.max(px(t), half + 1), width - half - 1);
        context.fillText(text, x, height - bottom + 4);
        this.layout.labels.push({ text, from: x - half, to: x + half });
      }
      context.fillText(this.xLabel, (left + width - right) / 2, height - 13);
      context.save(); context.translate(11, (top + height - bottom) / 2); context.rotate(-Math.PI / 2);
      context.fillText(log && !this.log ? this.yLabel + " (log)" : this.yLabel, 0, -6); context.restore();
      Object.assign(this.layout, { xLow, xHigh, yLow, yHigh });
      // series, drawn inside the plot's rectangle only
      context.save();
      context.beginPath(); context.rect(left, top, width - left - right, height - top - bottom); context.clip();
      const slot = px(xLow + 1) - px(xLow);
      for (const s of this.series) {
        context.strokeStyle = s.color; context.fillStyle = s.color; context.lineWidth = 1.6;
        context.setLineDash(s.dashed ? [5, 4] : []);
        if (this.bars) {
          const w = Math.max(1, slot * 0.7);
          s.xs.forEach((x, i) => {
            if (!this._valid(s.ys[i], log)) return;
            const y = py(log ? Math.log10(s.ys[i]) : s.ys[i]);
            context.fillRect(px(x) - w / 2, y, w, height - bottom - y);
          });
        } else {
          context.beginPath();
          let drawing = false;
          s.xs.forEach((x, i) => {
            if (!this._valid(s.ys[i], log)) { drawing = false; return; }
            const y = py(log ? Math.log10(s.ys[i]) : s.ys[i]);
            if (drawing) context.lineTo(px(x), y); else context.moveTo(px(x), y);
            drawing = true;
          });
          context.stroke();
        }
        context.setLineDash([]);
      }
      context.fillStyle = ZERO_COLOR;  // exactly 0: a short stub on the floor of the log axis
      for (const x of zeros) context.fillRect(px(x) - Math.max(1, slot * 0.35), height - bottom - 4, Math.max(2, slot * 0.7), 4);
      context.restore();
      // legend
      let legendX = left + 8;
      const legend = this.series.filter((s) => s.name).map((s) => [s.name, s.color]);
      if (zeros.length) legend.push(["0 (underflow)", ZERO_COLOR]);
      for (const [name, color] of legend) {
        context.fillStyle = color;
        context.textAlign = "left"; context.textBaseline = "top";
        context.fillRect(legendX, top + 2, 10, 3);
        context.fillText(name, legendX + 14, top - 3);
        legendX += 22 + context.measureText(name).width;
      }
    }
  }

  return { diverging, decode, heatmap, LineChart, PALETTE, hexToRgb, format };
})();
