// Test helper: a raw websocket that records every server message and the close code, and waits on events (no sleeps).
import WebSocket from 'ws';
import { parseServerMessage, type JobSpec, type ServerMessage } from '../../src/rl-agent/protocol.js';

export const TOKEN = 'test-token-123';
export const job: JobSpec = { name: 'unit', numWorkers: 3, numHotKeys: 2, mask: [{ start: 0, end: 2 }, { start: 1, end: 3 }], obsDim: 6, actionDim: 4 };
export const hello = (extra: Record<string, unknown> = {}) => ({ v: 1, type: 'hello', token: TOKEN, job, ...extra });
export const step = (seq: number, extra: Record<string, unknown> = {}) => ({ v: 1, type: 'step', seq, obs: [1, 1, 1, 0.5, 0.6, 0.7], reward: 0.1 * seq, info: { imbalance: 0.4 }, done: false, ...extra });
/** A small agent that learns after 4 transitions. */
export const tinyAgent = { hidden: [8, 8], batchSize: 4, learningStarts: 4, bufferSize: 100 };

/** A raw websocket that records every message and the close code, for poking the server. */
export class Raw {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[] = [];
  closeCode: number | undefined;
  private waiters: (() => void)[] = [];
  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (d) => {
      this.messages.push(parseServerMessage(d as Buffer));
      this.wake();
    });
    this.ws.on('close', (c) => {
      this.closeCode = c;
      this.wake();
    });
    this.ws.on('error', () => undefined);
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  open(): Promise<void> {
    return new Promise((r) => (this.ws.readyState === WebSocket.OPEN ? r() : this.ws.once('open', () => r())));
  }
  send(x: unknown): void {
    this.ws.send(typeof x === 'string' ? x : JSON.stringify(x));
  }
  /** Resolves once `pred` holds (checked after every message and at close). */
  async until(pred: () => boolean): Promise<void> {
    while (!pred()) await new Promise<void>((r) => this.waiters.push(r));
  }
  /** Resolves when `n` messages arrived (or the socket closed). */
  next(n: number): Promise<void> {
    return this.until(() => this.messages.length >= n || this.closeCode !== undefined);
  }
  closed(): Promise<void> {
    return this.until(() => this.closeCode !== undefined);
  }
  /** Closes from this side and resolves when the close completed. */
  async end(): Promise<void> {
    if (this.closeCode === undefined) this.ws.close();
    await this.closed();
  }
}

/** Lets the server's post-reply training tick (setImmediate) run. */
export const tick = (): Promise<void> => new Promise<void>((r) => setImmediate(r));
