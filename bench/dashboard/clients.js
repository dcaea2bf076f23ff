// clients.js — N websocket clients on the controller's /api/v1/events for
// SECONDS, counting messages (node's built-in WebSocket). Prints one JSON
// line: {"clients", "opened", "messages", "closedEarly", "closeReasons"}.
//   node --experimental-websocket clients.js URL N SECONDS
'use strict';
const [url, n, secs] = [process.argv[2], Number(process.argv[3] || 100), Number(process.argv[4] || 15)];
let opened = 0, messages = 0, closedEarly = 0, done = false;
const reasons = {};
const socks = [];
for (let i = 0; i < n; i++) {
  const ws = new WebSocket(url);
  ws.onopen = () => { opened++; };
  ws.onmessage = () => { messages++; };
  ws.onclose = e => {
    if (done) return;
    closedEarly++;
    reasons[e.code + ' ' + e.reason] = (reasons[e.code + ' ' + e.reason] || 0) + 1;
  };
  socks.push(ws);
}
setTimeout(() => {
  done = true;
  console.log(JSON.stringify({clients: n, opened, messages, closedEarly, closeReasons: reasons}));
  for (const ws of socks) try { ws.close(); } catch (e) { /* closing anyway */ }
  setTimeout(() => process.exit(0), 200);
}, secs * 1000);
