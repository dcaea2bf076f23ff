// app.js — the selfheal dashboard: polls /api/v1/pipelines, keeps a short
// history of each pipeline's model metric and drift score, draws them on a
// canvas, and shows the live event feed from the /api/v1/events websocket
// (resuming with ?since= after a reconnect). No framework, no network but
// the controller. Compiled into the binary by gen_assets.sh.
'use strict';

const POLL_MS = 2000;
const HISTORY = 120;
const MAX_EVENTS = 300;
const history = new Map(); // key -> {metric: [[t, v]], drift: [[t, v]]}
let selected = null;
let lastSeq = 0;
let retryMs = 500;

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function get(o, path) {
  return path.split('.').reduce((a, k) => (a && typeof a === 'object' ? a[k] : undefined), o);
}

function fmt(v, digits) {
  return typeof v === 'number' ? v.toFixed(digits) : (v === undefined || v === null ? '–' : String(v));
}

function remember(key, what, value, t) {
  if (typeof value !== 'number') return;
  let h = history.get(key);
  if (!h) { h = {metric: [], drift: []}; history.set(key, h); }
  const a = h[what];
  a.push([t, value]);
  if (a.length > HISTORY) a.shift();
}

function renderTable(pipelines) {
  const tbody = document.querySelector('#pipelines tbody');
  tbody.textContent = '';
  document.getElementById('empty').style.display = pipelines.length ? 'none' : '';
  if (!selected && pipelines.length) selected = pipelines[0].key;
  for (const p of pipelines) {
    const st = p.status || {};
    const tr = el('tr', {'data-key': p.key});
    if (p.key === selected) tr.className = 'selected';
    tr.appendChild(el('td', {}, p.key));
    tr.appendChild(el('td', {class: 'phase-' + p.phase}, p.phase));
    const conds = el('td');
    for (const c of (st.conditions || [])) {
      conds.appendChild(el('span', {class: 'cond cond-' + c.status, title: (c.reason || '') + ': ' + (c.message || '')},
        c.type + '=' + c.status));
    }
    tr.appendChild(conds);
    tr.appendChild(el('td', {}, fmt(get(st, 'model.version'))));
    // the deciding metric ("rmse 41250.5 > 40000"); every metric in the tooltip
    const ms = get(st, 'model.metrics');
    const all = ms && typeof ms === 'object' ? Object.keys(ms).map(k => k + ' ' + ms[k]).join(', ') : '';
    tr.appendChild(el('td', all ? {title: all} : {},
      get(st, 'model.deciding') || fmt(get(st, 'model.metric'), 3)));
    tr.appendChild(el('td', {}, fmt(get(st, 'drift.score'), 3)));
    tr.appendChild(el('td', {}, fmt(get(st, 'service.recoveryAttempts'))));
    tr.addEventListener('click', () => { selected = p.key; renderTable(pipelines); drawCharts(); });
    tbody.appendChild(tr);
  }
}

function drawChart(canvas, points, color) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width, h = canvas.height, pad = 24;
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = '#e5e7eb';
  ctx.strokeRect(pad, 4, w - pad - 4, h - pad - 4);
  if (!points || points.length === 0) {
    ctx.fillStyle = '#6b7280';
    ctx.fillText('no data yet', pad + 8, h / 2);
    return;
  }
  let lo = Math.min(...points.map(p => p[1])), hi = Math.max(...points.map(p => p[1]));
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const t0 = points[0][0], t1 = Math.max(points[points.length - 1][0], t0 + 1);
  const x = t => pad + (t - t0) / (t1 - t0) * (w - pad - 8);
  const y = v => 4 + (1 - (v - lo) / (hi - lo)) * (h - pad - 8);
  ctx.fillStyle = '#6b7280';
  ctx.fillText(hi.toFixed(3), 2, 12);
  ctx.fillText(lo.toFixed(3), 2, h - pad);
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.beginPath();
  points.forEach((p, i) => (i ? ctx.lineTo(x(p[0]), y(p[1])) : ctx.moveTo(x(p[0]), y(p[1]))));
  ctx.stroke();
}

function drawCharts() {
  const h = (selected && history.get(selected)) || {metric: [], drift: []};
  document.getElementById('sel-metric').textContent = selected || '';
  document.getElementById('sel-drift').textContent = selected || '';
  drawChart(document.getElementById('metric-chart'), h.metric, '#2563eb');
  drawChart(document.getElementById('drift-chart'), h.drift, '#d97706');
}

// On a cluster the API needs a bearer token (docs/security.md): asked once,
// kept for this tab only, sent as Authorization to the API and as
// access_token to the event stream (a browser's WebSocket cannot set headers).
function token() { return sessionStorage.getItem('selfheal-token') || ''; }
function authHeaders() { return token() ? {Authorization: 'Bearer ' + token()} : {}; }
let asked = false;
function askToken(status) {
  if (asked) return;
  asked = true;
  const t = prompt((status === 403 ? 'This token may not get selfhealingpipelines. ' : '') +
    'Bearer token (kubectl create token NAME):');
  if (t) { sessionStorage.setItem('selfheal-token', t.trim()); asked = false; }
}

async function poll() {
  try {
    const r = await fetch('/api/v1/pipelines', {cache: 'no-store', headers: authHeaders()});
    if (r.status === 401 || r.status === 403) askToken(r.status);
    if (r.ok) {
      const pipelines = await r.json();
      const t = Date.now();
      for (const p of pipelines) {
        remember(p.key, 'metric', get(p.status, 'model.metric'), t);
        remember(p.key, 'drift', get(p.status, 'drift.score'), t);
      }
      renderTable(pipelines);
      drawCharts();
      document.getElementById('updated').textContent = 'updated ' + new Date(t).toLocaleTimeString();
    }
  } catch (e) {
    document.getElementById('updated').textContent = 'controller unreachable';
  }
  setTimeout(poll, POLL_MS);
}

function addEvent(ev) {
  const ul = document.getElementById('events');
  const who = ev.namespace ? ev.namespace + '/' + ev.name : '(controller)';
  const time = (ev.time || '').replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const li = el('li', {class: ev.type || 'Normal', 'data-seq': String(ev.seq)},
    `#${ev.seq} ${time} ${ev.type} ${who} ${ev.reason}: ${ev.message}`);
  ul.insertBefore(li, ul.firstChild);
  while (ul.children.length > MAX_EVENTS) ul.removeChild(ul.lastChild);
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const auth = token() ? '&access_token=' + encodeURIComponent(token()) : '';
  const ws = new WebSocket(`${proto}//${location.host}/api/v1/events?since=${lastSeq}${auth}`);
  const conn = document.getElementById('conn');
  ws.onopen = () => { conn.textContent = 'live'; conn.className = 'conn up'; retryMs = 500; };
  ws.onmessage = m => {
    let ev;
    try { ev = JSON.parse(m.data); } catch (e) { return; }
    if (typeof ev.seq === 'number') lastSeq = Math.max(lastSeq, ev.seq);
    addEvent(ev);
  };
  ws.onclose = ev => {
    conn.textContent = ev.reason ? 'reconnecting (' + ev.reason + ')' : 'reconnecting';
    conn.className = 'conn down';
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 10000);
  };
}

poll();
connect();
