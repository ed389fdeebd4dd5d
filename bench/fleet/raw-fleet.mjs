/**
 * The fan-out floor's clients: N plain WebSockets that count what arrives and nothing else (no
 * protocol, no parsing). Driven over IPC by bench/lib/ws-floor.ts: argv url and N; 'count' answers
 * the messages received so far, 'close' closes every socket and exits.
 */
import WebSocket from 'ws';

const [url, n] = [process.argv[2], Number(process.argv[3])];
let received = 0;
const sockets = [];
for (let i = 0; i < n; i++) {
  const s = new WebSocket(url, { perMessageDeflate: false });
  s.on('message', () => received++);
  s.on('error', () => {});
  sockets.push(s);
}
process.on('message', (m) => {
  if (m === 'count') process.send(received);
  if (m === 'close') {
    for (const s of sockets) s.terminate();
    process.exit(0);
  }
});
