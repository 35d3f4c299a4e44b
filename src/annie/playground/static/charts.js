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

  function format(v) {
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a >= 1e4 || a < 1e-3) return v.toExponential(0);
    return String(Number(v.toPrecision(3)));
  }

  // A line chart: update([{name, color, xs, ys, dashed}]) draws and keeps the data in .series
  class LineChart {
    constructor(canvas, options = {}) {
      this.canvas = canvas;
      this.log = Boolean(options.log);
      this.xLabel = options.xLabel || "";
      this.yLabel = options.yLabel || "";
      this.bars = Boolean(options.bars);
      this.series = [];
    }

    update(series) {
      this.series = series;
      this.draw();
    }

    _valid(y) {
      return y !== null && y !== undefined && Number.isFinite(y) && (!this.log || y > 0);
    }

    draw() {
      const canvas = this.canvas;
      const context = canvas.getContext("2d");
      const width = canvas.width, height = canvas.height;
      const left = 52, right = 10, top = 10, bottom = 30;
      context.clearRect(0, 0, width, height);
      context.font = "11px system-ui, sans-serif";
      let xs = [], ys = [];
      for (const s of this.series) {
        s.xs.forEach((x, i) => {
          if (this._valid(s.ys[i])) { xs.push(x); ys.push(this.log ? Math.log10(s.ys[i]) : s.ys[i]); }
        });
      }
      context.fillStyle = "#666";
      if (!xs.length) {
        context.fillText("no data yet", left + 10, top + 20);
        return;
      }
      let xLow = Math.min(...xs), xHigh = Math.max(...xs);
      if (xHigh === xLow) xHigh = xLow + 1;
      let yLow = Math.min(...ys), yHigh = Math.max(...ys);
      if (this.log) { yLow = Math.floor(yLow); yHigh = Math.ceil(yHigh); }
      if (!this.log) yLow = Math.min(0, yLow);
      if (yHigh - yLow < 1e-12) yHigh = yLow + 1;
      const px = (x) => left + (x - xLow) / (xHigh - xLow) * (width - left - right);
      const py = (y) => top + (1 - (y - yLow) / (yHigh - yLow)) * (height - top - bottom);
      // axes and ticks
      context.strokeStyle = "#ccc"; context.lineWidth = 1;
      context.beginPath();
      context.moveTo(left, top); context.lineTo(left, height - bottom); context.lineTo(width - right, height - bottom);
      context.stroke();
      const yTicks = this.log ? niceTicks(yLow, yHigh, 5).filter((v) => Number.isInteger(Math.round(v * 1e6) / 1e6))
                              : niceTicks(yLow, yHigh, 4);
      context.textAlign = "right"; context.textBaseline = "middle";
      for (const t of yTicks) {
        const y = py(t);
        context.strokeStyle = "#eee"; context.beginPath(); context.moveTo(left, y); context.lineTo(width - right, y); context.stroke();
        context.fillText(this.log ? "1e" + Math.round(t) : format(t), left - 4, y);
      }
      context.textAlign = "center"; context.textBaseline = "top";
      for (const t of niceTicks(xLow, xHigh, 6)) context.fillText(format(t), px(t), height - bottom + 4);
      context.fillText(this.xLabel, (left + width - right) / 2, height - 13);
      context.save(); context.translate(11, (top + height - bottom) / 2); context.rotate(-Math.PI / 2);
      context.fillText(this.yLabel, 0, -6); context.restore();
      // series
      let legendX = left + 8;
      for (const s of this.series) {
        context.strokeStyle = s.color; context.fillStyle = s.color; context.lineWidth = 1.6;
        context.setLineDash(s.dashed ? [5, 4] : []);
        if (this.bars) {
          const w = Math.max(1, (width - left - right) / Math.max(1, s.xs.length) * 0.7);
          s.xs.forEach((x, i) => {
            if (!this._valid(s.ys[i])) return;
            const y = py(this.log ? Math.log10(s.ys[i]) : s.ys[i]);
            context.fillRect(px(x) - w / 2, y, w, height - bottom - y);
          });
        } else {
          context.beginPath();
          let drawing = false;
          s.xs.forEach((x, i) => {
            if (!this._valid(s.ys[i])) { drawing = false; return; }
            const y = py(this.log ? Math.log10(s.ys[i]) : s.ys[i]);
            if (drawing) context.lineTo(px(x), y); else context.moveTo(px(x), y);
            drawing = true;
          });
          context.stroke();
        }
        context.setLineDash([]);
        if (s.name) {
          context.textAlign = "left"; context.textBaseline = "top";
          context.fillRect(legendX, top + 2, 10, 3);
          context.fillText(s.name, legendX + 14, top - 3);
          legendX += 22 + context.measureText(s.name).width;
        }
      }
    }
  }

  return { diverging, decode, heatmap, LineChart, PALETTE, hexToRgb, format };
})();
