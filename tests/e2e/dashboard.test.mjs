// End-to-end test of the dashboard (issue #7) in a real browser: starts the real aistrack-server on
// the simulator (temporary database, free port, no tile server: tiles come from the offline basemap),
// opens http://127.0.0.1:PORT/ in Debian's headless Chromium through playwright-core, and checks
// that vessel markers appear and move, that arrows point along heading (else COG), that clicking a
// vessel shows its details, 24 h stats, track and speed chart, that the search filters the list,
// that a vessel name made of markup (sent as real AIS over the server's NMEA UDP input) shows as
// text, and saves a screenshot (AISTRACK_E2E_OUT/dashboard.png).
//
// The page must use the /v1/live WebSocket (and not poll while it is open), and fall back to polling
// GET /v1/vessels when the socket is refused (checked in a second page whose WebSocket is closed).
//
// The server runs with access control on (issue #8): a read-only API token, given to the page once
// as /#access_token=…, so every API call, tile and the WebSocket of the dashboard must carry it.
//
// Prints "SKIPPED: ..." and exits 0 when Chromium or playwright-core is absent (ctest reports it
// as skipped); scripts/install-deps.sh installs both. Timeouts are generous: CI also runs this
// against an ASan Debug build of the server.
//
// Environment (set by tests/CMakeLists.txt): AISTRACK_SERVER_BIN, AISTRACK_NPM_DIR (node_modules),
// AISTRACK_E2E_OUT; optional CHROMIUM_PATH (default /usr/bin/chromium).
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const SERVER_BIN = process.env.AISTRACK_SERVER_BIN;
const NPM_DIR = process.env.AISTRACK_NPM_DIR;
const OUT_DIR = process.env.AISTRACK_E2E_OUT ?? path.join(os.tmpdir(), 'aistrack-e2e');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WAIT_S = 90; // any single wait; the ASan Debug server is several times slower

function skip(reason) {
  console.log(`SKIPPED: ${reason}`);
  process.exit(0);
}

function fail(message) {
  throw new Error(message);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `fn` (async) until it returns a truthy value or `seconds` pass; returns the value or throws `what`. */
async function waitFor(what, fn, seconds = WAIT_S) {
  const end = Date.now() + seconds * 1000;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) fail(`timed out after ${seconds} s waiting for ${what} (last: ${last})`);
    await sleep(250);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    sock.on('error', reject);
    sock.bind(0, '127.0.0.1', () => {
      const { port } = sock.address();
      sock.close(() => resolve(port));
    });
  });
}

// ---- AIS: a hostile name, encoded as a transponder would send it (ITU-R M.1371, NMEA 0183) ----

const SIXBIT_TEXT = '@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !"#$%&\'()*+,-./0123456789:;<=>?';

/** Bits of `fields` ([value, width] pairs; negative values two's complement) as an NMEA sentence. */
function aivdm(fields) {
  let bits = '';
  for (const [value, width] of fields) bits += (BigInt.asUintN(width, BigInt(value)) | (1n << BigInt(width))).toString(2).slice(1);
  const fill = (6 - (bits.length % 6)) % 6;
  bits += '0'.repeat(fill);
  let payload = '';
  for (let i = 0; i < bits.length; i += 6) {
    const v = parseInt(bits.slice(i, i + 6), 2);
    payload += String.fromCharCode(v < 40 ? v + 48 : v + 56);
  }
  const body = `AIVDM,1,1,,A,${payload},${fill}`;
  let sum = 0;
  for (const ch of body) sum ^= ch.charCodeAt(0);
  return `!${body}*${sum.toString(16).toUpperCase().padStart(2, '0')}`;
}

function sixbitText(text, chars) {
  return [...text.padEnd(chars, '@')].map((ch) => [SIXBIT_TEXT.indexOf(ch), 6]);
}

const HOSTILE_MMSI = 244000001;
const HOSTILE_NAME = '<B>X</B>&<I>"Y"</I>'; // 19 characters of the AIS alphabet; markup if innerHTML'd
/** A class B position (type 18) near the simulated fleet and the vessel's name (type 24 part A). */
function hostileSentences() {
  const position = aivdm([
    [18, 6], [0, 2], [HOSTILE_MMSI, 30], [0, 8], [85, 10], [0, 1],
    [Math.round(4.0 * 600000), 28], [Math.round(54.2 * 600000), 27], [900, 12], [511, 9], [60, 6],
    [0, 2], [1, 1], [0, 1], [1, 1], [1, 1], [1, 1], [0, 1], [0, 1], [0, 20],
  ]);
  const name = aivdm([[24, 6], [0, 2], [HOSTILE_MMSI, 30], [0, 2], ...sixbitText(HOSTILE_NAME, 20), [0, 8]]);
  return [position, name];
}

// ---- prerequisites ----

if (!SERVER_BIN || !fs.existsSync(SERVER_BIN)) fail(`AISTRACK_SERVER_BIN (${SERVER_BIN}) is not a file`);
if (!fs.existsSync(CHROMIUM)) skip(`Chromium is not installed at ${CHROMIUM} (scripts/install-deps.sh installs it)`);
let chromium;
try {
  const require = createRequire(path.join(NPM_DIR ?? '.', 'package.json'));
  ({ chromium } = require('playwright-core'));
} catch (e) {
  skip(`playwright-core is not installed in ${NPM_DIR} (scripts/install-deps.sh installs it): ${e.message}`);
}

fs.mkdirSync(OUT_DIR, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aistrack-e2e-'));
const port = await freePort();
const nmeaPort = await freeUdpPort();
const base = `http://127.0.0.1:${port}`;
const logPath = path.join(OUT_DIR, 'server.log');
const log = fs.openSync(logPath, 'w');
const TOKEN = 'e2e-dashboard-read-0123456789';
const env = { ...process.env };
delete env.AISSTREAM_API_KEY;
Object.assign(env, {
  ENV_FILE: '',
  API_TOKENS: `dashboard:ro:${TOKEN}`,
  SOURCE: 'simulator',
  SIM_VESSELS: '12',
  SIM_SEED: '3',
  DB_PATH: path.join(work, 'aistrack.db'),
  HTTP_PORT: String(port),
  HTTP_BIND: '127.0.0.1',
  STORE_BATCH_MS: '500',
  // No tile server (the test has no internet): /v1/tiles draws the offline basemap.
  MAP_TILE_URL: '',
  MAP_SEAMARK_URL: '',
  MAP_TILE_CACHE_DIR: path.join(work, 'tiles'),
  NMEA_UDP_PORT: String(nmeaPort),
  NMEA_UDP_BIND: '127.0.0.1',
});
const server = spawn(SERVER_BIN, [], { cwd: work, env, stdio: ['ignore', log, log] });
let serverExit = null;
server.on('exit', (code, signal) => {
  serverExit = { code, signal };
});

// The test's own API calls carry the token in the header, as a script would.
const authed = (url) => fetch(url, { headers: { Authorization: `Bearer ${TOKEN}` } });

async function api(pathAndQuery) {
  const res = await authed(base + pathAndQuery);
  if (!res.ok) fail(`GET ${pathAndQuery}: HTTP ${res.status}`);
  return res.json();
}

let browser;
const pageErrors = [];
let exitCode = 0;
try {
  await waitFor('the server to answer /health', async () => {
    if (serverExit) fail(`the server exited early (${JSON.stringify(serverExit)}); see ${logPath}`);
    return (await fetch(`${base}/health`)).ok;
  });

  // The hostile vessel, sent until the server has its name (UDP may be dropped before it listens).
  const udp = dgram.createSocket('udp4');
  await waitFor('the vessel with a markup name to be tracked', async () => {
    for (const line of hostileSentences()) udp.send(`${line}\r\n`, nmeaPort, '127.0.0.1');
    const res = await authed(`${base}/v1/ais/${HOSTILE_MMSI}`);
    return res.ok && (await res.json()).name === HOSTILE_NAME;
  });
  udp.close();

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout: WAIT_S * 1000,
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
  page.setDefaultTimeout(WAIT_S * 1000);
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  let polls = 0; // GET /v1/vessels: the page's fallback when the WebSocket is closed
  page.on('request', (req) => {
    if (new URL(req.url()).pathname === '/v1/vessels') polls++;
  });
  if ((await fetch(`${base}/v1/vessels`)).status !== 401) fail('the API answered without a token');
  await page.goto(`${base}/#access_token=${TOKEN}`);
  // The feed is the /v1/live WebSocket (the server has it), so the page does not poll.
  await waitFor('the live feed', async () => (await page.getAttribute('#feed-status', 'data-mode')) === 'live');
  const pollsAtLive = polls;

  // 1. Markers appear.
  const markerPositions = () =>
    page.$$eval('.vessel-marker[data-mmsi]', (els) =>
      Object.fromEntries(els.map((el) => [el.dataset.mmsi, [Number(el.dataset.lat), Number(el.dataset.lon)]])),
    );
  const first = await waitFor('at least 5 vessel markers', async () => {
    const p = await markerPositions();
    return Object.keys(p).length >= 5 ? p : null;
  });
  console.log(`markers: ${Object.keys(first).length}`);

  // 2. They move: some vessel's marker is somewhere else later.
  const moved = await waitFor('a marker to move', async () => {
    const now = await markerPositions();
    return Object.keys(now).find((m) => first[m] && (now[m][0] !== first[m][0] || now[m][1] !== first[m][1]));
  });
  console.log(`marker of ${moved} moved`);

  // 3. Arrows point along the heading, else COG (as the API has it now); a dot when neither.
  const arrows = await page.$$eval('.vessel-marker[data-kind="arrow"]', (els) => els.length);
  if (arrows === 0) fail('no arrow markers');
  await waitFor(`the marker of ${moved} to point along its heading or COG`, async () => {
    const v = await api(`/v1/ais/${moved}`);
    const want = v.heading ?? v.cog;
    const el = await page.$(`.vessel-marker[data-mmsi="${moved}"]`);
    const kind = await el.getAttribute('data-kind');
    const dir = await el.getAttribute('data-direction');
    const transform = await el.$eval('svg g', (g) => g.getAttribute('transform'));
    if (want === null) return kind === 'dot';
    return kind === 'arrow' && Math.abs(Number(dir) - want) < 1e-9 && transform === `rotate(${want})`;
  });

  // 4. Click a marker (a real mouse click where nothing covers it): the panel shows that vessel. A click
  // on the map's corner first, as a user's would, stops the page re-fitting the view to the fleet.
  const box = await page.locator('#map').boundingBox();
  await page.mouse.click(box.x + box.width - 3, box.y + 3);
  const target = await waitFor('a marker that can be clicked', () =>
    page.$$eval('.vessel-marker[data-mmsi]', (els) => {
      for (const el of els) {
        const r = el.getBoundingClientRect();
        const x = r.left + r.width / 2;
        const y = r.top + r.height / 2;
        if (x < 0 || y < 0 || x > innerWidth || y > innerHeight) continue;
        const hit = document.elementFromPoint(x, y)?.closest('.vessel-marker');
        if (hit === el) return { mmsi: el.dataset.mmsi, x, y };
      }
      return null;
    }),
  );
  await page.mouse.click(target.x, target.y);
  await waitFor('the detail panel', () => page.isVisible('#detail'));
  const shownMmsi = await page.textContent('#detail-mmsi');
  if (shownMmsi !== target.mmsi) fail(`detail panel shows MMSI ${shownMmsi}, clicked ${target.mmsi}`);
  await waitFor(`the name of ${target.mmsi} in the panel`, async () => {
    const v = await api(`/v1/ais/${target.mmsi}`);
    const want = v.name ?? `MMSI ${target.mmsi}`;
    return (await page.textContent('#detail-name')) === want;
  });
  const name = (await api(`/v1/ais/${target.mmsi}`)).name;
  console.log(`clicked ${target.mmsi} (${name ?? 'no name yet'})`);
  const stats = await waitFor('24 h stats in the panel', async () => {
    const points = Number(await page.textContent('#stats-points'));
    const distance = await page.textContent('#stats-distance');
    return points >= 1 && /^\d+\.\d\d nm$/.test(distance) ? { points, distance } : null;
  });
  const apiStats = await api(`/v1/stats/${target.mmsi}?hours=24`);
  if (apiStats.points < stats.points) fail(`panel shows ${stats.points} fixes, the API only ${apiStats.points}`);
  console.log(`stats: ${stats.points} fixes, ${stats.distance}`);
  const mapHref = await page.getAttribute('#detail-map-link', 'href');
  if (!mapHref.startsWith(`/v1/map/${target.mmsi}`)) fail(`map link is ${mapHref}`);

  // 5. Track on the map coloured by speed, and a speed chart with something drawn.
  await waitFor('the track on the map', async () => (await page.$$('path.track-segment')).length > 0);
  const strokes = await page.$$eval('path.track-segment', (els) => els.map((e) => e.getAttribute('stroke')));
  if (!strokes.every((s) => /^rgb\(\d+,\d+,\d+\)$/.test(s))) fail(`track colours: ${strokes}`);
  await waitFor('the speed chart', () =>
    page.$eval('#speed-chart', (c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let coloured = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] !== d[i + 1] || d[i + 1] !== d[i + 2])) coloured++;
      return coloured > 20;
    }),
  );

  // 6. Search by MMSI, then by name.
  await page.fill('#search', target.mmsi);
  await waitFor('the list to show only the searched MMSI', async () => {
    const rows = await page.$$eval('#vessel-list li', (els) => els.map((e) => e.dataset.mmsi));
    return rows.length === 1 && rows[0] === target.mmsi;
  });
  if (name) {
    const part = name.slice(1, Math.min(name.length, 5)).toLowerCase();
    await page.fill('#search', part);
    await waitFor(`the list to show names containing "${part}"`, async () => {
      const names = await page.$$eval('#vessel-list li .row-name', (els) => els.map((e) => e.textContent));
      return names.length >= 1 && names.every((n) => n.toLowerCase().includes(part)) && names.includes(name);
    });
  }

  // 7. A name made of markup is shown as text, in the list and in the panel, and adds no element.
  await page.fill('#search', String(HOSTILE_MMSI));
  await waitFor('the markup-named vessel in the list', async () => {
    const names = await page.$$eval('#vessel-list li .row-name', (els) => els.map((e) => e.textContent));
    return names.length === 1 && names[0] === HOSTILE_NAME;
  });
  await page.click(`#vessel-list li[data-mmsi="${HOSTILE_MMSI}"]`);
  await waitFor('the markup-named vessel in the panel', async () => (await page.textContent('#detail-name')) === HOSTILE_NAME);
  const injected = await page.$$eval('b, i', (els) => els.length);
  if (injected !== 0) fail(`${injected} <b>/<i> elements in the page: a vessel name was parsed as HTML`);
  await page.fill('#search', '');

  // 8. Tiles: from the offline basemap when world-atlas is installed; without them the page still works.
  const tile = await authed(`${base}/v1/tiles/6/33/20.png`);
  if (tile.ok) {
    if (tile.headers.get('x-tile-source') !== 'basemap') fail(`tile source ${tile.headers.get('x-tile-source')}`);
    await waitFor('map tiles to load', async () => (await page.$$('img.leaflet-tile-loaded')).length > 0);
  } else {
    await waitFor('the tile notice', () => page.isVisible('#tile-notice'));
  }

  const mode = await page.getAttribute('#feed-status', 'data-mode');
  console.log(`feed: ${mode} (${await page.textContent('#feed-status')}), ${polls} polls`);
  if (mode !== 'live') fail(`feed status is ${mode}, not live`);
  if (polls !== pollsAtLive) fail(`the page polled /v1/vessels ${polls - pollsAtLive} times while live`);

  // 10. Without the WebSocket (a proxy that drops it) the page falls back to polling and still works.
  const degraded = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  degraded.setDefaultTimeout(WAIT_S * 1000);
  degraded.on('pageerror', (e) => pageErrors.push(String(e)));
  await degraded.routeWebSocket(/\/v1\/live(\?|$)/, (ws) => ws.close());
  await degraded.goto(`${base}/#access_token=${TOKEN}`);
  await waitFor('the polling fallback', async () => (await degraded.getAttribute('#feed-status', 'data-mode')) === 'polling');
  const polledFirst = await waitFor('markers while polling', async () => {
    const p = await degraded.$$eval('.vessel-marker[data-mmsi]', (els) =>
      Object.fromEntries(els.map((el) => [el.dataset.mmsi, el.dataset.lat + ',' + el.dataset.lon])),
    );
    return Object.keys(p).length >= 5 ? p : null;
  });
  await waitFor('a marker to move while polling', async () => {
    const now = await degraded.$$eval('.vessel-marker[data-mmsi]', (els) =>
      Object.fromEntries(els.map((el) => [el.dataset.mmsi, el.dataset.lat + ',' + el.dataset.lon])),
    );
    return Object.keys(now).some((m) => polledFirst[m] && now[m] !== polledFirst[m]);
  });
  console.log('polling fallback: markers shown and moving');
  await degraded.close();

  // 9. Nothing threw in the page.
  if (pageErrors.length > 0) fail(`errors in the page: ${pageErrors.join('; ')}`);

  const shot = path.join(OUT_DIR, 'dashboard.png');
  await page.screenshot({ path: shot });
  console.log(`screenshot: ${shot}`);
  console.log('e2e dashboard: passed');
} catch (e) {
  exitCode = 1;
  console.error(`e2e dashboard: FAILED: ${e.message}`);
  if (pageErrors.length > 0) console.error(`page errors: ${pageErrors.join('; ')}`);
  console.error(`server log: ${logPath}`);
} finally {
  if (browser) await browser.close().catch(() => {});
  if (!serverExit) {
    server.kill('SIGTERM');
    const end = Date.now() + 30000;
    while (!serverExit && Date.now() < end) await sleep(100);
    if (!serverExit) server.kill('SIGKILL');
    else if (serverExit.code !== 0) {
      console.error(`the server exited with ${JSON.stringify(serverExit)} after SIGTERM`);
      exitCode = 1;
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(exitCode);
