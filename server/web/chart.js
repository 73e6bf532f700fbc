// Speed colours (the same scale as the PNG maps, src/map_renderer.cpp speed_color) and the speed
// chart, drawn by hand on a canvas: one small function is less to serve than a chart library.

const STOPS = [
  [0, [37, 99, 235]],
  [5, [22, 163, 74]],
  [10, [234, 179, 8]],
  [15, [234, 88, 12]],
  [20, [220, 38, 38]],
];
const UNKNOWN = 'rgb(120,120,120)';

/** CSS colour of a speed in knots: blue (stopped) → green → yellow → orange → red (20 kn and more). */
export function speedColor(sogKn) {
  if (typeof sogKn !== 'number' || !Number.isFinite(sogKn)) return UNKNOWN;
  // Whole knots: fewer distinct colours lets the track join segments into fewer polylines.
  const kn = Math.min(Math.max(Math.round(sogKn), 0), 20);
  for (let i = 1; i < STOPS.length; i++) {
    const [k1, c1] = STOPS[i];
    if (kn <= k1) {
      const [k0, c0] = STOPS[i - 1];
      const t = (kn - k0) / (k1 - k0);
      const c = c0.map((v, j) => Math.round(v + (c1[j] - v) * t));
      return `rgb(${c[0]},${c[1]},${c[2]})`;
    }
  }
  return UNKNOWN;
}

/** UTC time of day: HH:MM, or HH:MM:SS when the chart spans less than 10 minutes. */
function timeLabel(ms, spanMs) {
  return new Date(ms).toISOString().slice(11, spanMs < 600000 ? 19 : 16);
}

/**
 * Draws SOG (knots) against time for `fixes` ([{t: ms UTC, sog: kn or null}], oldest first) on
 * `canvas`; a gap longer than `gapMs` breaks the line.
 */
export function drawSpeedChart(canvas, fixes, gapMs = 600000) {
  const dpr = window.devicePixelRatio || 1;
  const cssW = canvas.clientWidth || canvas.width;
  const cssH = canvas.clientHeight || canvas.height;
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(cssH * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  ctx.font = '10px system-ui, sans-serif';
  ctx.fillStyle = '#555';

  const pts = fixes.filter((f) => typeof f.sog === 'number' && Number.isFinite(f.sog));
  if (pts.length === 0) {
    ctx.fillText('no speed reported yet', 10, cssH / 2);
    return;
  }
  const left = 30;
  const right = cssW - 8;
  const top = 14;
  const bottom = cssH - 18;
  const t0 = pts[0].t;
  const t1 = Math.max(pts[pts.length - 1].t, t0 + 60000);
  const maxSog = Math.max(5, Math.ceil((Math.max(...pts.map((p) => p.sog)) * 1.1) / 5) * 5);
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (right - left);
  const y = (s) => bottom - (s / maxSog) * (bottom - top);

  // Grid and labels: knots every 5 (or 10 above 30), times at the ends and the middle.
  ctx.strokeStyle = '#e5e7eb';
  ctx.lineWidth = 1;
  const step = maxSog > 30 ? 10 : 5;
  for (let s = 0; s <= maxSog; s += step) {
    ctx.beginPath();
    ctx.moveTo(left, y(s) + 0.5);
    ctx.lineTo(right, y(s) + 0.5);
    ctx.stroke();
    ctx.fillText(`${s}`, 4, y(s) + 3);
  }
  ctx.fillText('kn', left, 10);
  ctx.fillText('UTC', right - ctx.measureText('UTC').width, 10);
  for (const t of [t0, (t0 + t1) / 2, t1]) {
    const label = timeLabel(t, t1 - t0);
    const w = ctx.measureText(label).width;
    ctx.fillText(label, Math.min(Math.max(x(t) - w / 2, left), right - w), cssH - 4);
  }

  ctx.lineWidth = 2;
  ctx.lineCap = 'round';
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1];
    const b = pts[i];
    if (b.t - a.t > gapMs) continue;
    ctx.strokeStyle = speedColor((a.sog + b.sog) / 2);
    ctx.beginPath();
    ctx.moveTo(x(a.t), y(a.sog));
    ctx.lineTo(x(b.t), y(b.sog));
    ctx.stroke();
  }
  if (pts.length === 1) {
    ctx.fillStyle = speedColor(pts[0].sog);
    ctx.fillRect(x(pts[0].t) - 2, y(pts[0].sog) - 2, 4, 4);
  }
}
