// The aistrack dashboard: vessels on a Leaflet map, a searchable list, and a detail panel with the
// latest record, 24 h stats, the track coloured by speed and a speed chart.
//
// Everything from the feed is untrusted (a vessel name is whatever a transponder sends): it reaches
// the DOM only through textContent and attributes, never innerHTML; Leaflet gets DOM nodes, not
// HTML strings. Without Leaflet (not installed) the list and the details still work.
import { VesselFeed } from './live.js';
import { drawSpeedChart, speedColor } from './chart.js';
import { withToken } from './token.js';

const MAX_LIST_ROWS = 500; // rows drawn at once; the search narrows the rest
const TRACK_HOURS = 24;
const TRACK_PAGE_LIMIT = 1000; // the API's default page: within any TRACK_MAX_LIMIT left near its default
const TRACK_MAX_FIXES = 20000; // more in 24 h: the window shrinks so the newest fixes are the ones drawn
const MAX_MARKERS = 3000; // DOM markers at once; beyond it, zoom in
const TRACK_GAP_MS = 10 * 60 * 1000; // a longer silence breaks the track line
const STATS_REFRESH_MS = 60000;
const DEFAULT_VIEW = { center: [54.0, 4.0], zoom: 6 }; // the North Sea, where the simulator sails
const SVG_NS = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);

const state = {
  vessels: new Map(), // mmsi → record (as GET /v1/ais/{mmsi})
  markers: new Map(), // mmsi → {marker, group, shape, label}
  selected: null, // mmsi
  track: [], // selected vessel's fixes [{t, lat, lon, sog}], oldest first
  autoFit: true, // fit the view to the fleet until the user moves the map or picks a vessel
  listDirty: true,
  trackDirty: false,
};

let map = null;
let trackLayer = null;
let viewBounds = null; // markers exist only for vessels in here (the view and a margin)

// ---- records ----

function validRecord(r) {
  return r && typeof r === 'object' && Number.isInteger(r.mmsi) && r.mmsi > 0 && r.mmsi <= 999999999;
}

function hasPosition(r) {
  return Number.isFinite(r.lat) && Number.isFinite(r.lon) && Math.abs(r.lat) <= 90 && Math.abs(r.lon) <= 180;
}

function mmsiText(mmsi) {
  return String(mmsi).padStart(9, '0');
}

function displayName(r) {
  return typeof r.name === 'string' && r.name.trim() !== '' ? r.name : `MMSI ${mmsiText(r.mmsi)}`;
}

/** The list's name column: the name, or a note that static data has not come yet. */
function listName(r) {
  return typeof r.name === 'string' && r.name.trim() !== '' ? r.name : '(no name yet)';
}

/** Direction the arrow points, degrees true: heading, else COG; null draws a dot. */
function direction(r) {
  if (Number.isFinite(r.heading)) return r.heading;
  if (Number.isFinite(r.cog)) return r.cog;
  return null;
}

function fmt(v, digits, unit) {
  return Number.isFinite(v) ? `${v.toFixed(digits)}${unit}` : '—';
}

function fmtTime(iso) {
  if (typeof iso !== 'string') return '—';
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  const ago = Math.max(0, Math.round((Date.now() - ms) / 1000));
  const agoText = ago < 120 ? `${ago} s ago` : ago < 7200 ? `${Math.round(ago / 60)} min ago` : `${Math.round(ago / 3600)} h ago`;
  return `${iso.slice(0, 19).replace('T', ' ')} UTC (${agoText})`;
}

function fmtDuration(s) {
  if (!Number.isFinite(s)) return '—';
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min`;
}

// ---- map markers ----

function makeMarkerParts(r) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('width', '24');
  svg.setAttribute('height', '24');
  svg.setAttribute('viewBox', '-12 -12 24 24');
  const group = document.createElementNS(SVG_NS, 'g');
  svg.appendChild(group);
  const label = document.createElement('span');
  const parts = { svg, group, shape: null, kind: null, label };
  updateMarkerParts(parts, r);
  return parts;
}

function updateMarkerParts(parts, r) {
  const dir = direction(r);
  const kind = dir === null ? 'dot' : 'arrow';
  if (parts.kind !== kind) {
    parts.group.replaceChildren();
    const shape =
      kind === 'arrow' ? document.createElementNS(SVG_NS, 'path') : document.createElementNS(SVG_NS, 'circle');
    if (kind === 'arrow') {
      shape.setAttribute('d', 'M0,-10 L6.5,8 L0,4 L-6.5,8 Z'); // points north before rotation
    } else {
      shape.setAttribute('r', '4.5');
    }
    shape.setAttribute('class', 'shape');
    parts.group.appendChild(shape);
    parts.shape = shape;
    parts.kind = kind;
  }
  parts.group.setAttribute('transform', kind === 'arrow' ? `rotate(${dir})` : '');
  parts.shape.setAttribute('fill', speedColor(r.sog));
  parts.label.textContent = displayName(r);
}

/** Mirrors a vessel's state into data attributes: for the eye of a test, and for CSS. */
function syncMarkerElement(entry, r) {
  const el = entry.marker.getElement();
  if (!el) return;
  el.dataset.mmsi = mmsiText(r.mmsi);
  el.dataset.lat = String(r.lat);
  el.dataset.lon = String(r.lon);
  el.dataset.kind = entry.parts.kind;
  el.dataset.direction = entry.parts.kind === 'arrow' ? String(direction(r)) : '';
  el.classList.toggle('selected', state.selected === r.mmsi);
}

function updateMarker(r) {
  if (!map) return;
  let entry = state.markers.get(r.mmsi);
  // Off-screen vessels get no DOM marker (the selected one always does): a world feed has
  // tens of thousands of vessels, a browser draws a few thousand markers smoothly.
  const wanted =
    hasPosition(r) &&
    (r.mmsi === state.selected ||
      (viewBounds !== null && viewBounds.contains([r.lat, r.lon]) && (entry || state.markers.size < MAX_MARKERS)));
  if (!wanted) {
    if (entry) {
      entry.marker.remove();
      state.markers.delete(r.mmsi);
    }
    return;
  }
  if (!entry) {
    const parts = makeMarkerParts(r);
    const icon = L.divIcon({ html: parts.svg, className: 'vessel-marker', iconSize: [24, 24], iconAnchor: [12, 12] });
    const marker = L.marker([r.lat, r.lon], { icon, keyboard: false, riseOnHover: true });
    marker.bindTooltip(parts.label, { direction: 'top', offset: [0, -10] });
    marker.on('click', () => select(r.mmsi, false));
    marker.addTo(map);
    entry = { marker, parts };
    state.markers.set(r.mmsi, entry);
  } else {
    entry.marker.setLatLng([r.lat, r.lon]);
    updateMarkerParts(entry.parts, r);
  }
  syncMarkerElement(entry, r);
}

/** Re-decides which vessels have markers after the view moved. */
function refreshView() {
  viewBounds = map.getBounds().pad(0.25);
  for (const r of state.vessels.values()) updateMarker(r);
  const onMap = [...state.vessels.values()].filter((r) => hasPosition(r) && viewBounds.contains([r.lat, r.lon])).length;
  $('marker-note').textContent = onMap > state.markers.size ? `${state.markers.size} of ${onMap} shown: zoom in` : '';
}

function removeVessel(mmsi) {
  const entry = state.markers.get(mmsi);
  if (entry) entry.marker.remove();
  state.markers.delete(mmsi);
  state.vessels.delete(mmsi);
}

// The first reports of a fleet trickle in over a minute: keep every vessel in view until the user
// takes over (a drag, a wheel, a click on the map or a vessel).
function autoFit() {
  if (!state.autoFit || !map) return;
  const pts = [...state.vessels.values()].filter(hasPosition).map((r) => [r.lat, r.lon]);
  if (pts.length === 0) return;
  const bounds = L.latLngBounds(pts);
  if (map.getBounds().contains(bounds) && map.getZoom() > 3) return;
  map.fitBounds(bounds.pad(0.15), { maxZoom: 9 });
}

// ---- list ----

function matches(r, q) {
  if (q === '') return true;
  return mmsiText(r.mmsi).includes(q) || (typeof r.name === 'string' && r.name.toLowerCase().includes(q));
}

// Rows are kept per vessel and updated in place: a row rebuilt between mousedown and mouseup
// would swallow the click.
const rowCache = new Map(); // mmsi → {li, swatch, name, mmsi, sog}

function rowOf(r) {
  let row = rowCache.get(r.mmsi);
  if (!row) {
    const li = document.createElement('li');
    li.dataset.mmsi = mmsiText(r.mmsi);
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    const name = document.createElement('span');
    name.className = 'row-name';
    const mmsi = document.createElement('span');
    mmsi.className = 'row-mmsi';
    mmsi.textContent = mmsiText(r.mmsi);
    const sog = document.createElement('span');
    sog.className = 'row-sog';
    li.append(swatch, name, mmsi, sog);
    row = { li, swatch, name, sog };
    rowCache.set(r.mmsi, row);
  }
  row.li.classList.toggle('selected', r.mmsi === state.selected);
  row.swatch.style.background = hasPosition(r) ? speedColor(r.sog) : 'transparent';
  row.name.textContent = listName(r);
  row.name.classList.toggle('unnamed', !(typeof r.name === 'string' && r.name.trim() !== ''));
  row.sog.textContent = fmt(r.sog, 1, ' kn');
  return row.li;
}

function renderList() {
  state.listDirty = false;
  const q = $('search').value.trim().toLowerCase();
  const rows = [...state.vessels.values()].filter((r) => matches(r, q));
  // Named vessels first, by name; those whose static data has not come yet after them, by MMSI.
  const named = (r) => typeof r.name === 'string' && r.name.trim() !== '';
  rows.sort((a, b) => named(b) - named(a) || listName(a).localeCompare(listName(b)) || a.mmsi - b.mmsi);
  const shown = rows.slice(0, MAX_LIST_ROWS);
  $('vessel-list').replaceChildren(...shown.map(rowOf));
  for (const mmsi of rowCache.keys()) if (!state.vessels.has(mmsi)) rowCache.delete(mmsi);
  $('list-summary').textContent =
    rows.length > shown.length ? `${shown.length} of ${rows.length} matches (narrow the search)` : `${rows.length} vessels`;
  $('vessel-count').textContent = `${state.vessels.size} vessels`;
}

// ---- detail panel ----

function detailFields(r) {
  const dims = r.dimensions && Number.isFinite(r.dimensions.length_m) ? `${r.dimensions.length_m} × ${r.dimensions.beam_m} m` : '—';
  return [
    ['Position', hasPosition(r) ? `${r.lat.toFixed(5)}, ${r.lon.toFixed(5)}` : '—'],
    ['Time', fmtTime(r.time)],
    ['SOG', fmt(r.sog, 1, ' kn')],
    ['COG', fmt(r.cog, 1, '°')],
    ['Heading', fmt(r.heading, 0, '°')],
    ['Status', r.nav_status ?? '—'],
    ['Type', r.ship_type ?? '—'],
    ['Call sign', r.callsign ?? '—'],
    ['IMO', r.imo ?? '—'],
    ['Destination', r.destination ?? '—'],
    ['Size', dims],
    ['Draught', fmt(r.draught_m, 1, ' m')],
    ['Class', r.station_class ?? '—'],
    ['Source', r.source ?? '—'],
    ['Last seen', fmtTime(r.last_seen)],
  ];
}

function renderDetail(r) {
  $('detail-name').textContent = displayName(r);
  $('detail-mmsi').textContent = mmsiText(r.mmsi);
  const nodes = [];
  for (const [k, v] of detailFields(r)) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = String(v);
    nodes.push(dt, dd);
  }
  $('detail-fields').replaceChildren(...nodes);
}

function showError(text) {
  const el = $('detail-error');
  el.textContent = text;
  el.hidden = text === '';
}

async function getJson(url) {
  const res = await fetch(withToken(url));
  let body = null;
  try {
    body = await res.json();
  } catch {
    // an empty or non-JSON body: reported by status below
  }
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

/** Fills the stats of the panel; returns the number of fixes in 24 h (null when unknown). */
async function loadStats(mmsi) {
  try {
    const s = await getJson(`/v1/stats/${mmsiText(mmsi)}?hours=24`);
    if (state.selected !== mmsi) return;
    $('stats-points').textContent = String(s.points);
    $('stats-distance').textContent = fmt(s.distance_nm, 2, ' nm');
    $('stats-avg-sog').textContent = fmt(s.avg_sog_kn, 1, ' kn');
    $('stats-max-sog').textContent = fmt(s.max_sog_kn, 1, ' kn');
    $('stats-moving').textContent = fmtDuration(s.moving_time_s);
    $('stats-stopped').textContent = fmtDuration(s.stopped_time_s);
    $('stats-gaps').textContent = s.gaps ? `${s.gaps.count}` : '—';
    return Number.isFinite(s.points) ? s.points : null;
  } catch (e) {
    if (state.selected === mmsi) showError(`stats: ${e.message}`);
    return null;
  }
}

/** Loads the track of the last 24 h, or of a shorter window when `points` (fixes in 24 h) is too many. */
async function loadTrack(mmsi, points) {
  const fixes = [];
  const hours = points > TRACK_MAX_FIXES ? (TRACK_HOURS * TRACK_MAX_FIXES) / points : TRACK_HOURS;
  $('track-window').textContent = hours < TRACK_HOURS ? `(last ${hours.toFixed(1)} h)` : `(last ${TRACK_HOURS} h)`;
  try {
    let cursor = null;
    while (fixes.length < TRACK_MAX_FIXES) {
      const c = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const t = await getJson(`/v1/ais/${mmsiText(mmsi)}/track?hours=${hours}&limit=${TRACK_PAGE_LIMIT}${c}`);
      if (state.selected !== mmsi) return;
      for (const f of t.fixes ?? []) {
        const ms = Date.parse(f.time);
        if (Number.isFinite(ms) && Number.isFinite(f.lat) && Number.isFinite(f.lon)) {
          fixes.push({ t: ms, lat: f.lat, lon: f.lon, sog: Number.isFinite(f.sog) ? f.sog : null });
        }
      }
      cursor = t.next_cursor;
      if (!cursor) break;
    }
  } catch (e) {
    if (state.selected === mmsi) showError(`track: ${e.message}`);
  }
  if (state.selected !== mmsi) return;
  // Updates that arrived while the track loaded are newer than the stored fixes: keep them.
  const newest = fixes.length ? fixes[fixes.length - 1].t : -Infinity;
  state.track = fixes.concat(state.track.filter((f) => f.t > newest));
  renderTrack();
}

/** Adds the selected vessel's newest position to its track (the Store commits in batches). */
function appendToTrack(r) {
  if (!hasPosition(r)) return;
  const ms = Date.parse(r.time);
  if (!Number.isFinite(ms)) return;
  const last = state.track[state.track.length - 1];
  if (last && last.t >= ms) return;
  state.track.push({ t: ms, lat: r.lat, lon: r.lon, sog: Number.isFinite(r.sog) ? r.sog : null });
  state.trackDirty = true;
}

function renderTrack() {
  state.trackDirty = false;
  drawSpeedChart($('speed-chart'), state.track, TRACK_GAP_MS);
  if (!trackLayer) return;
  trackLayer.clearLayers();
  // Consecutive segments of one colour become one polyline: a day of fixes is a handful of layers.
  let run = null;
  const flush = () => {
    if (run && run.pts.length > 1) {
      L.polyline(run.pts, { color: run.color, weight: 4, opacity: 0.9, className: 'track-segment', interactive: false }).addTo(trackLayer);
    }
  };
  for (let i = 1; i < state.track.length; i++) {
    const a = state.track[i - 1];
    const b = state.track[i];
    if (b.t - a.t > TRACK_GAP_MS) {
      flush();
      run = null;
      continue;
    }
    const color = speedColor(b.sog ?? a.sog);
    if (!run || run.color !== color) {
      flush();
      run = { color, pts: [[a.lat, a.lon]] };
    }
    run.pts.push([b.lat, b.lon]);
  }
  flush();
}

async function select(mmsi, pan) {
  const r = state.vessels.get(mmsi);
  const previous = state.selected;
  state.selected = mmsi;
  state.autoFit = false;
  state.track = [];
  if (previous !== null && state.vessels.has(previous)) updateMarker(state.vessels.get(previous));
  $('detail').hidden = false;
  showError('');
  for (const id of ['stats-points', 'stats-distance', 'stats-avg-sog', 'stats-max-sog', 'stats-moving', 'stats-stopped', 'stats-gaps']) {
    $(id).textContent = '…';
  }
  $('detail-map-link').href = withToken(`/v1/map/${mmsiText(mmsi)}?width=800&height=600`);
  if (r) {
    renderDetail(r);
    updateMarker(r);
    if (pan && map && hasPosition(r)) map.panTo([r.lat, r.lon]);
  }
  if (map) map.invalidateSize();
  renderList();
  renderTrack();
  // The feed's record may be a few seconds old: ask for the latest too.
  getJson(`/v1/ais/${mmsiText(mmsi)}`)
    .then((latest) => {
      if (state.selected === mmsi && validRecord(latest)) onUpdate(latest);
    })
    .catch((e) => state.selected === mmsi && showError(`latest: ${e.message}`));
  await loadTrack(mmsi, await loadStats(mmsi));
}

function closeDetail() {
  const previous = state.selected;
  state.selected = null;
  state.track = [];
  $('detail').hidden = true;
  if (trackLayer) trackLayer.clearLayers();
  if (previous !== null && state.vessels.has(previous)) updateMarker(state.vessels.get(previous));
  if (map) map.invalidateSize();
  state.listDirty = true;
}

// ---- feed ----

function onUpdate(r) {
  if (!validRecord(r)) return;
  const old = state.vessels.get(r.mmsi);
  // Never step back in time (a polled page and a pushed update may cross).
  if (old && typeof old.last_seen === 'string' && typeof r.last_seen === 'string' && r.last_seen < old.last_seen) return;
  state.vessels.set(r.mmsi, r);
  updateMarker(r);
  state.listDirty = true;
  if (r.mmsi === state.selected) {
    renderDetail(r);
    appendToTrack(r);
  }
}

function onSnapshot(records) {
  const seen = new Set();
  for (const r of records) {
    if (!validRecord(r)) continue;
    seen.add(r.mmsi);
    onUpdate(r);
  }
  for (const mmsi of [...state.vessels.keys()]) if (!seen.has(mmsi)) removeVessel(mmsi);
  autoFit();
  state.listDirty = true;
}

function onStatus(mode, text) {
  const el = $('feed-status');
  el.className = `status status-${mode}`;
  el.textContent = text;
  el.dataset.mode = mode;
}

// ---- start ----

function initMap() {
  if (typeof window.L === 'undefined') {
    $('map-missing').hidden = false;
    return;
  }
  map = L.map('map', { worldCopyJump: true }).setView(DEFAULT_VIEW.center, DEFAULT_VIEW.zoom);
  const tiles = L.tileLayer(withToken('/v1/tiles/{z}/{x}/{y}.png'), {
    maxZoom: 19,
    attribution: '© OpenStreetMap contributors; offline: Natural Earth',
  });
  // Tiles are optional: without them the page still shows every vessel on a blank sea.
  tiles.on('tileerror', () => {
    $('tile-notice').hidden = false;
  });
  tiles.on('tileload', () => {
    $('tile-notice').hidden = true;
  });
  tiles.addTo(map);
  trackLayer = L.layerGroup().addTo(map);
  map.on('moveend', refreshView);
  refreshView();
  for (const ev of ['pointerdown', 'wheel', 'keydown']) {
    map.getContainer().addEventListener(ev, () => (state.autoFit = false), { passive: true });
  }
}

function main() {
  initMap();
  $('search').addEventListener('input', () => {
    state.listDirty = true;
    renderList();
  });
  $('vessel-list').addEventListener('click', (ev) => {
    const li = ev.target.closest('li[data-mmsi]');
    if (li) select(Number(li.dataset.mmsi), true);
  });
  $('detail-close').addEventListener('click', closeDetail);
  // The list and the track are redrawn at most once a second, however fast updates come.
  setInterval(() => {
    if (state.listDirty) renderList();
    if (state.trackDirty) renderTrack();
  }, 1000);
  setInterval(() => state.selected !== null && loadStats(state.selected), STATS_REFRESH_MS);
  new VesselFeed({ onSnapshot, onUpdate, onStatus }).start();
}

// Leaflet is loaded with `defer`, modules run after deferred scripts: window.L is there if it loaded.
main();
