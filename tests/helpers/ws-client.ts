import WebSocket from 'ws';

/** A raw protocol client for tests: collects every JSON message and can wait for one. */
export class TestClient {
  readonly messages: any[] = [];
  readonly binaries: Buffer[] = [];
  private waiters: { pred: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  readonly ws: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string, options?: WebSocket.ClientOptions) {
    this.ws = new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.binaries.push(data as Buffer);
        return;
      }
      const m = JSON.parse(String(data));
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    });
  }

  static async open(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
    const c = new TestClient(url, options);
    await c.opened;
    await c.next((m) => m.type === 'hello');
    return c;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** The first message (already received or future) matching `pred`. */
  next(pred: (m: any) => boolean, timeoutMs = 30_000): Promise<any> {
    const have = this.messages.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no matching message in ${timeoutMs} ms; got ${this.messages.map((m) => m.type).join(',')}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }

  /** Waits for a new message matching `pred`, ignoring those already received. */
  nextNew(pred: (m: any) => boolean, timeoutMs = 30_000): Promise<any> {
    const seen = new Set(this.messages);
    return this.next((m) => !seen.has(m) && pred(m), timeoutMs);
  }

  of(type: string): any[] {
    return this.messages.filter((m) => m.type === type);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
