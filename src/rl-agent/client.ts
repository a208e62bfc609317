// Engine-side agent client: fire-and-forget steps, latest action on demand, reconnect with backoff + jitter.
import WebSocket from 'ws';
import { Rng } from '../common/rng.js';
import { SasError, isErrorCode } from '../common/errors.js';
import { parseServerMessage, PROTOCOL_VERSION, type ActionMessage, type CheckpointAckMessage, type JobSpec, type WelcomeMessage } from './protocol.js';

/** Reconnect backoff: delay = min(maxMs, initialMs·factor^attempt)·(1 − jitter·u), u uniform in [0, 1). */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  /** Fraction of the delay that is randomised away ("equal jitter" at 0.5). */
  readonly jitter: number;
}

/** Default backoff: 100 ms doubling to 10 s, half jittered. Our choice. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 10_000, factor: 2, jitter: 0.5 };

/** Delay before reconnect attempt `attempt` (0-based). Pure apart from `rng`. */
export function backoffDelay(attempt: number, b: BackoffOptions, rng: Rng): number {
  const base = Math.min(b.maxMs, b.initialMs * Math.pow(b.factor, Math.min(attempt, 60)));
  return base * (1 - b.jitter * rng.next());
}

/** Client options. */
export interface AgentClientOptions {
  /** ws://host:port of the agent server. */
  readonly url: string;
  readonly token: string;
  readonly job: JobSpec;
  /** Stable session name: after a reconnect the server resumes the same agent. */
  readonly session?: string;
  readonly mode?: 'train' | 'evaluate';
  readonly backoff?: Partial<BackoffOptions>;
  /** Seed of the backoff jitter. */
  readonly seed?: number;
  /** Steps are dropped while this many bytes are still unsent (a slow agent never blocks records). Default 1 MiB. */
  readonly maxBufferedBytes?: number;
  /** Called for every action received (after `latestAction` is updated), with the whole message (`training`, `updates`). Exceptions are swallowed. */
  readonly onAction?: (action: Float32Array, seq: number, message: ActionMessage) => void;
  /** Called for server errors and connection problems. Exceptions are swallowed. */
  readonly onError?: (e: SasError) => void;
  /** Called when an established session's connection ends (a reconnect follows unless closed). */
  readonly onDisconnect?: () => void;
  /** Called on every welcome (first connect and each reconnect). */
  readonly onWelcome?: (w: WelcomeMessage) => void;
  /** Timer injection for tests; defaults to setTimeout/clearTimeout. */
  readonly timers?: { set(fn: () => void, ms: number): unknown; clear(h: unknown): void };
}

/** Counters of a client, for metrics and tests. */
export interface AgentClientStats {
  sent: number;
  dropped: number;
  actions: number;
  errors: number;
  connects: number;
}

/**
 * The engine's side of the protocol. `submit` sends a step if the session is up and the socket is not
 * backed up, else drops it and returns false: it never waits and never throws. `latestAction()`
 * returns the most recent action (or undefined before the first), so the partitioner keeps routing
 * with its last table while the agent is slow or gone. The connection is re-established with
 * exponential backoff and jitter until `close()`, or until the server answers with a fatal AUTH_FAILED.
 */
export class AgentClient {
  readonly stats: AgentClientStats = { sent: 0, dropped: 0, actions: 0, errors: 0, connects: 0 };
  private readonly opts: AgentClientOptions;
  private readonly backoff: BackoffOptions;
  private readonly rng: Rng;
  private readonly timers: { set(fn: () => void, ms: number): unknown; clear(h: unknown): void };
  private ws: WebSocket | undefined;
  private ready = false;
  private closed = false;
  private attempt = 0;
  private timer: unknown;
  private seq = 0;
  private action: Float32Array | undefined;
  private actionSeq = -1;
  private welcome: WelcomeMessage | undefined;
  private readonly pendingCheckpoints = new Map<string, (a: CheckpointAckMessage) => void>();

  constructor(opts: AgentClientOptions) {
    this.opts = opts;
    this.backoff = { ...DEFAULT_BACKOFF, ...(opts.backoff ?? {}) };
    this.rng = new Rng(opts.seed ?? 0);
    this.timers = opts.timers ?? { set: (fn, ms) => setTimeout(fn, ms), clear: (h) => clearTimeout(h as NodeJS.Timeout) };
  }

  /** Opens the connection (idempotent). Returns immediately; readiness shows in `connected`. */
  start(): this {
    if (!this.ws && !this.closed && this.timer === undefined) this.connect();
    return this;
  }

  /** True between the server's welcome and the connection's end. */
  get connected(): boolean {
    return this.ready;
  }

  /** The welcome of the current connection. */
  get session(): WelcomeMessage | undefined {
    return this.welcome;
  }

  /** The most recent action, or undefined. Do not mutate. */
  latestAction(): Float32Array | undefined {
    return this.action;
  }

  /** `seq` of the step the latest action answered (−1 before any). */
  get latestActionSeq(): number {
    return this.actionSeq;
  }

  /** Sends one step; returns false (and counts a drop) when it cannot be sent right now. Never throws. */
  submit(obs: ArrayLike<number>, reward: number, info: Record<string, number>, done: boolean): boolean {
    try {
      const ws = this.ws;
      if (!this.ready || !ws || ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > (this.opts.maxBufferedBytes ?? 1 << 20)) {
        this.stats.dropped++;
        return false;
      }
      const msg = { v: PROTOCOL_VERSION, type: 'step', seq: this.seq++, obs: Array.from(obs), reward, info, done };
      ws.send(JSON.stringify(msg));
      this.stats.sent++;
      return true;
    } catch (e) {
      this.stats.dropped++;
      this.report(new SasError('AGENT_UNAVAILABLE', `submit failed: ${(e as Error).message}`, { retriable: true }));
      return false;
    }
  }

  /** Asks the server to write a checkpoint; resolves with the ack, or undefined if not connected or the connection ends first. */
  requestCheckpoint(requestId: string): Promise<CheckpointAckMessage | undefined> {
    if (!this.ready || !this.ws) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.pendingCheckpoints.set(requestId, resolve as (a: CheckpointAckMessage) => void);
      this.ws?.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'checkpoint', requestId }));
    });
  }

  /** Stops reconnecting and closes the socket. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    for (const r of this.pendingCheckpoints.values()) r(undefined as unknown as CheckpointAckMessage);
    this.pendingCheckpoints.clear();
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close();
    });
  }

  private connect(): void {
    this.timer = undefined;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.opts.url);
    } catch (e) {
      this.report(new SasError('AGENT_UNAVAILABLE', `cannot connect to ${this.opts.url}: ${(e as Error).message}`, { retriable: true }));
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.on('open', () => {
      const hello = { v: PROTOCOL_VERSION, type: 'hello', token: this.opts.token, job: this.opts.job, ...(this.opts.session ? { session: this.opts.session } : {}), ...(this.opts.mode ? { mode: this.opts.mode } : {}) };
      ws.send(JSON.stringify(hello));
    });
    ws.on('message', (data: WebSocket.RawData) => this.onMessage(data));
    ws.on('error', (e) => this.report(new SasError('AGENT_UNAVAILABLE', `agent connection: ${e.message}`, { retriable: true })));
    ws.on('close', () => {
      if (this.ws === ws) this.ws = undefined;
      const wasReady = this.ready;
      this.ready = false;
      for (const r of this.pendingCheckpoints.values()) r(undefined as unknown as CheckpointAckMessage);
      this.pendingCheckpoints.clear();
      if (wasReady) this.safe(() => this.opts.onDisconnect?.());
      if (!this.closed) this.scheduleReconnect();
    });
  }

  private onMessage(data: WebSocket.RawData): void {
    let m;
    try {
      m = parseServerMessage(data as Buffer);
    } catch (e) {
      this.report(e as SasError);
      return;
    }
    switch (m.type) {
      case 'welcome':
        this.welcome = m;
        this.ready = true;
        this.attempt = 0;
        this.stats.connects++;
        this.safe(() => this.opts.onWelcome?.(m));
        return;
      case 'action': {
        if (m.seq < this.actionSeq && this.actionSeq - m.seq < 1e9) return; // stale
        this.action = Float32Array.from(m.action);
        this.actionSeq = m.seq;
        this.stats.actions++;
        const a = this.action;
        this.safe(() => this.opts.onAction?.(a, m.seq, m));
        return;
      }
      case 'checkpoint_ack': {
        const r = this.pendingCheckpoints.get(m.requestId);
        this.pendingCheckpoints.delete(m.requestId);
        r?.(m);
        return;
      }
      case 'error':
        // A wrong token does not become right: after a fatal AUTH_FAILED the client stops reconnecting.
        if (m.fatal && m.code === 'AUTH_FAILED') this.closed = true;
        this.report(new SasError(isErrorCode(m.code) ? m.code : 'PROTOCOL_INVALID', `agent: ${m.message}`, { context: { seq: m.seq, requestId: m.requestId, fatal: m.fatal } }));
        return;
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timer !== undefined) return;
    const delay = backoffDelay(this.attempt++, this.backoff, this.rng);
    this.timer = this.timers.set(() => this.connect(), delay);
  }

  private report(e: SasError): void {
    this.stats.errors++;
    this.safe(() => this.opts.onError?.(e));
  }

  private safe(f: () => void): void {
    try {
      f();
    } catch {
      // callbacks must not break the client
    }
  }
}

