// The dashboard's vessel feed: the /v1/live WebSocket when the server offers it, else polling
// GET /v1/vessels, so the page works against any server version and through proxies that drop
// WebSockets. While polling, the WebSocket is retried with backoff; once it opens, polling stops.
//
// Callbacks: onSnapshot(records) with every vessel (the set replaces the previous one),
// onUpdate(record) for one changed vessel, onStatus(mode, text) with mode live | polling | offline.

import { withToken } from './token.js';

const POLL_INTERVAL_MS = 3000;
const PAGE_LIMIT = 1000; // the largest page /v1/vessels gives
const MAX_POLLED_VESSELS = 20000; // a bound on what one poll fetches
const WS_RETRY_MIN_MS = 2000;
const WS_RETRY_MAX_MS = 60000;

export class VesselFeed {
  constructor({ onSnapshot, onUpdate, onStatus }) {
    this.onSnapshot = onSnapshot;
    this.onUpdate = onUpdate;
    this.onStatus = onStatus;
    this.ws = null;
    this.retryMs = WS_RETRY_MIN_MS;
    this.pollTimer = null;
    this.polling = false;
    this.pollInFlight = false;
  }

  /** Connects: WebSocket first, polling while it is not open. */
  start() {
    this.#connect();
  }

  #connect() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new WebSocket(withToken(`${scheme}//${location.host}/v1/live`));
    } catch {
      this.#startPolling();
      this.#scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = WS_RETRY_MIN_MS;
      this.#stopPolling();
      // Neither mmsi nor bbox: every vessel. The answer is a snapshot, then updates.
      ws.send(JSON.stringify({ type: 'subscribe' }));
      this.onStatus('live', 'live');
    };
    ws.onmessage = (event) => {
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return; // not ours to fix; the next message may be fine
      }
      if (msg?.type === 'snapshot' && Array.isArray(msg.vessels)) {
        this.onSnapshot(msg.vessels);
      } else if (msg?.type === 'update' && msg.vessel && typeof msg.vessel === 'object') {
        this.onUpdate(msg.vessel);
      } else if (msg?.type === 'error') {
        console.warn('live feed error', msg.error);
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.#startPolling();
      this.#scheduleReconnect();
    };
  }

  #scheduleReconnect() {
    const wait = this.retryMs * (0.5 + Math.random() / 2);
    this.retryMs = Math.min(this.retryMs * 2, WS_RETRY_MAX_MS);
    setTimeout(() => this.#connect(), wait);
  }

  #startPolling() {
    if (this.polling) return;
    this.polling = true;
    this.onStatus('polling', `polling every ${POLL_INTERVAL_MS / 1000} s`);
    const tick = async () => {
      if (!this.polling) return;
      await this.#pollOnce();
      if (this.polling) this.pollTimer = setTimeout(tick, POLL_INTERVAL_MS);
    };
    tick();
  }

  #stopPolling() {
    this.polling = false;
    clearTimeout(this.pollTimer);
  }

  async #pollOnce() {
    if (this.pollInFlight) return;
    this.pollInFlight = true;
    try {
      const all = [];
      for (let offset = 0; offset < MAX_POLLED_VESSELS; offset += PAGE_LIMIT) {
        const res = await fetch(withToken(`/v1/vessels?limit=${PAGE_LIMIT}&offset=${offset}`));
        if (!res.ok) throw new Error(`GET /v1/vessels: HTTP ${res.status}`);
        const page = await res.json();
        if (!Array.isArray(page.vessels)) throw new Error('GET /v1/vessels: no vessels array');
        all.push(...page.vessels);
        if (page.vessels.length < PAGE_LIMIT || offset + PAGE_LIMIT >= page.total) break;
      }
      // The WebSocket may have opened while we fetched: its snapshot is newer.
      if (this.polling) {
        this.onSnapshot(all);
        this.onStatus('polling', `polling every ${POLL_INTERVAL_MS / 1000} s`);
      }
    } catch (e) {
      if (this.polling) this.onStatus('offline', `server unreachable (${e.message})`);
    } finally {
      this.pollInFlight = false;
    }
  }
}
