// The agent client on its own thread: the engine posts steps and takes the latest action synchronously, so a synchronous (virtual-clock) run still hears the agent.
import { MessageChannel, isMainThread, parentPort, receiveMessageOnPort, workerData, type MessagePort, type Worker } from 'node:worker_threads';
import { SasError, isErrorCode, type ErrorCode } from '../common/errors.js';
import { startModuleWorker } from '../common/threads.js';
import { AgentClient, type AgentClientOptions, type AgentClientStats } from './client.js';
import type { CheckpointAckMessage, WelcomeMessage } from './protocol.js';

/** What the thread is given: everything of AgentClientOptions that is plain data. */
export type ThreadedClientOptions = Omit<AgentClientOptions, 'onAction' | 'onError' | 'onDisconnect' | 'onWelcome' | 'timers'>;

/** An error the agent or the connection reported, as plain data. */
export interface ClientErrorInfo {
  readonly code: ErrorCode;
  readonly message: string;
  /** The server sent it as fatal (it closed the socket); a fatal AUTH_FAILED also ends the reconnects. */
  readonly fatal: boolean;
}

/** How the first connection attempt ended (`ThreadedAgentClient.ready`). */
export type StartOutcome =
  | { readonly state: 'connected'; readonly welcome: WelcomeMessage }
  /** The first attempt failed (refused, reset, unknown host) or the server was full: the client keeps retrying in the background. */
  | { readonly state: 'unreachable'; readonly error: ClientErrorInfo }
  /** The server refused this client for good (fatal error: wrong token, a job it cannot serve). */
  | { readonly state: 'refused'; readonly error: ClientErrorInfo }
  /** Neither a welcome nor an error within the timeout (a silent host): the client keeps trying. */
  | { readonly state: 'timeout' };

type ToThread =
  | { type: 'init'; port: MessagePort; options: ThreadedClientOptions }
  | { type: 'step'; obs: Float32Array; reward: number; info: Record<string, number>; done: boolean }
  | { type: 'checkpoint'; requestId: string }
  | { type: 'flush'; id: number }
  | { type: 'close' };

type FromThread =
  | { type: 'welcome'; welcome: WelcomeMessage; stats: AgentClientStats }
  | { type: 'action'; seq: number; action: Float32Array; training: boolean; updates: number; stats: AgentClientStats }
  | { type: 'error'; error: ClientErrorInfo; stats: AgentClientStats }
  | { type: 'disconnect'; stats: AgentClientStats }
  | { type: 'stats'; stats: AgentClientStats; flushId?: number }
  | { type: 'ack'; requestId: string; ack: CheckpointAckMessage | undefined }
  | { type: 'closed'; stats: AgentClientStats };

/** Marks the workerData of this module's thread (other threads importing it do nothing). */
const THREAD_MARK = 'sas-agent-client-thread';

/**
 * An `AgentClient` that runs in a worker thread. The engine's side never waits and never needs the event
 * loop to turn: `submit` posts the step to the thread (which sends it, or counts a drop when the session
 * is down or backed up), and `takeAction` drains the thread's messages with `receiveMessageOnPort` and
 * returns an action newer than the last one taken, or undefined. So on the virtual clock, which routes
 * a whole run in one synchronous call, an action the agent sent while the run was going is taken at the
 * first slide boundary after it arrived. The thread reconnects with the client's backoff until `close`.
 * Counters (`stats`) are the thread's, as of the last message drained.
 */
export class ThreadedAgentClient {
  private readonly opts: ThreadedClientOptions;
  private worker: Worker | undefined;
  private port: MessagePort | undefined;
  private statsNow: AgentClientStats = { sent: 0, dropped: 0, actions: 0, errors: 0, connects: 0 };
  private welcomeMsg: WelcomeMessage | undefined;
  private up = false;
  private everUp = false;
  private action: Float32Array | undefined;
  private actionSeq = -1;
  private takenSeq = -1;
  private trainingNow: boolean | undefined;
  private updatesNow = 0;
  private firstError: ClientErrorInfo | undefined;
  private fatalError: ClientErrorInfo | undefined;
  private flushId = 0;
  private readonly waiters = new Set<() => void>();
  private readonly acks = new Map<string, (a: CheckpointAckMessage | undefined) => void>();
  private readonly flushed = new Map<number, () => void>();
  private closedPromise: Promise<void> | undefined;
  /** Steps handed to `submit`. */
  steps = 0;

  constructor(opts: ThreadedClientOptions) {
    this.opts = opts;
  }

  /** Starts the thread, which connects at once (idempotent). */
  start(): this {
    if (this.worker) return this;
    const self = import.meta.url;
    const entry = new URL(self.endsWith('.ts') ? './client-thread.ts' : './client-thread.js', self);
    const worker = startModuleWorker(entry, { [THREAD_MARK]: true });
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (m: FromThread) => this.handle(m));
    port1.unref();
    worker.on('error', (e: Error) => this.handle({ type: 'error', error: { code: 'AGENT_UNAVAILABLE', message: `agent client thread: ${e.message}`, fatal: false }, stats: this.statsNow }));
    worker.unref(); // a run that forgets close() still exits
    worker.postMessage({ type: 'init', port: port2, options: this.opts } satisfies ToThread, [port2]);
    this.worker = worker;
    this.port = port1;
    return this;
  }

  /**
   * Waits for the first connection attempt's outcome, at most `timeoutMs` (wall): a welcome, the first
   * failure (the client goes on retrying), a fatal refusal, or the timeout.
   */
  async ready(timeoutMs: number): Promise<StartOutcome> {
    const outcome = (): StartOutcome | undefined => {
      if (this.welcomeMsg) return { state: 'connected', welcome: this.welcomeMsg };
      if (this.fatalError) return { state: 'refused', error: this.fatalError };
      if (this.firstError) return { state: 'unreachable', error: this.firstError };
      return undefined;
    };
    return (await this.until(outcome, timeoutMs)) ?? { state: 'timeout' };
  }

  /** True while the thread's client has a session (as of the last message drained). */
  get connected(): boolean {
    this.drain();
    return this.up;
  }

  /** True once a welcome was received (this client had a session at some point). */
  get wasConnected(): boolean {
    this.drain();
    return this.everUp;
  }

  /** The latest welcome (session name, mode, resumed), undefined before the first. */
  get session(): WelcomeMessage | undefined {
    this.drain();
    return this.welcomeMsg;
  }

  /** The thread's counters as of the last message drained (sent, dropped, actions received, errors, connects). */
  get stats(): AgentClientStats {
    this.drain();
    return { ...this.statsNow };
  }

  /** `updates` of the latest action (gradient steps of this session), 0 before any. */
  get updates(): number {
    this.drain();
    return this.updatesNow;
  }

  /** `training` of the latest action (undefined before any). */
  get training(): boolean | undefined {
    this.drain();
    return this.trainingNow;
  }

  /** `seq` of the step the latest received action answered (−1 before any). */
  get latestActionSeq(): number {
    this.drain();
    return this.actionSeq;
  }

  /** The fatal error the server closed this client with, if any. */
  get refusal(): ClientErrorInfo | undefined {
    this.drain();
    return this.fatalError;
  }

  /** Posts one step to the thread. Never waits, never throws. */
  submit(obs: ArrayLike<number>, reward: number, info: Record<string, number>, done: boolean): void {
    this.steps++;
    try {
      this.send({ type: 'step', obs: Float32Array.from(obs), reward, info, done });
    } catch {
      // a dead thread counts as a drop in the summary (steps − sent)
    }
  }

  /** The latest action if it is newer than the one taken last, else undefined. Synchronous, never waits. */
  takeAction(): Float32Array | undefined {
    this.drain();
    if (!this.action || this.actionSeq === this.takenSeq) return undefined;
    this.takenSeq = this.actionSeq;
    return this.action;
  }

  /** Resolves with the counters once the thread has handled every step posted before this call (undefined after `timeoutMs`). */
  async flush(timeoutMs: number): Promise<AgentClientStats | undefined> {
    if (!this.worker) return undefined;
    const id = ++this.flushId;
    let done = false;
    this.flushed.set(id, () => (done = true));
    this.send({ type: 'flush', id });
    const ok = await this.until(() => (done ? true : undefined), timeoutMs);
    this.flushed.delete(id);
    return ok ? { ...this.statsNow } : undefined;
  }

  /**
   * Waits until every step the thread sent has its action back, the session is down, or `timeoutMs` passed.
   * Used after a run, before asking for a checkpoint, so that the server has learned from every step.
   */
  async settle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const flushed = await this.flush(timeoutMs);
    if (!flushed) return false;
    const r = await this.until(() => (!this.up || this.statsNow.actions >= this.statsNow.sent ? true : undefined), Math.max(0, deadline - Date.now()));
    return r === true;
  }

  /** Asks the agent to write a checkpoint; the ack, or undefined when not connected, the connection ended or `timeoutMs` passed. */
  async requestCheckpoint(requestId: string, timeoutMs: number): Promise<CheckpointAckMessage | undefined> {
    if (!this.worker || !this.connected) return undefined;
    let got: { ack: CheckpointAckMessage | undefined } | undefined;
    this.acks.set(requestId, (ack) => (got = { ack }));
    this.send({ type: 'checkpoint', requestId });
    await this.until(() => got, timeoutMs);
    this.acks.delete(requestId);
    return got?.ack;
  }

  /** Closes the connection and ends the thread. */
  close(): Promise<void> {
    return (this.closedPromise ??= (async () => {
      const worker = this.worker;
      if (!worker) return;
      let closed = false;
      const prev = this.handleClosed;
      this.handleClosed = () => {
        closed = true;
        prev();
      };
      this.send({ type: 'close' });
      await this.until(() => (closed ? true : undefined), 2_000);
      await worker.terminate();
      this.port?.close();
      this.up = false;
    })());
  }

  private handleClosed: () => void = () => undefined;

  /** Posts to the thread over the channel (after `init`, the thread listens there only). */
  private send(m: Exclude<ToThread, { type: 'init' }>): void {
    this.port?.postMessage(m);
  }

  /** Takes every message the thread has posted, without the event loop (receiveMessageOnPort). */
  private drain(): void {
    const port = this.port;
    if (!port) return;
    for (let r = receiveMessageOnPort(port); r !== undefined; r = receiveMessageOnPort(port)) this.handle(r.message as FromThread);
  }

  private handle(m: FromThread): void {
    switch (m.type) {
      case 'welcome':
        this.welcomeMsg = m.welcome;
        this.up = true;
        this.everUp = true;
        break;
      case 'action':
        if (m.seq >= this.actionSeq || this.actionSeq - m.seq >= 1e9) {
          this.action = m.action;
          this.actionSeq = m.seq;
          this.trainingNow = m.training;
          this.updatesNow = m.updates;
        }
        break;
      case 'error':
        this.firstError ??= m.error;
        // A full server (fatal AGENT_UNAVAILABLE) is retried like an unreachable one; other fatal errors are a refusal.
        if (m.error.fatal && m.error.code !== 'AGENT_UNAVAILABLE') this.fatalError ??= m.error;
        break;
      case 'disconnect':
        this.up = false;
        break;
      case 'ack':
        this.acks.get(m.requestId)?.(m.ack);
        break;
      case 'closed':
        this.up = false;
        this.handleClosed();
        break;
      case 'stats':
        if (m.flushId !== undefined) this.flushed.get(m.flushId)?.();
        break;
    }
    if ('stats' in m) this.statsNow = m.stats;
    for (const w of [...this.waiters]) w();
  }

  /** Resolves with `f()` once it is defined (checked on every message), or undefined after `timeoutMs`. */
  private until<T>(f: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    this.drain();
    const now = f();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const check = (): void => {
        const v = f();
        if (v === undefined) return;
        finish(v);
      };
      const finish = (v: T | undefined): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(v);
      };
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      this.waiters.add(check);
    });
  }
}

/** The thread's side: one AgentClient, driven by the engine's messages. */
function runThread(): void {
  let port: MessagePort | undefined;
  let client: AgentClient | undefined;
  const post = (m: FromThread, transfer: ArrayBuffer[] = []): void => port?.postMessage(m, transfer);
  const stats = (): AgentClientStats => ({ ...(client?.stats ?? { sent: 0, dropped: 0, actions: 0, errors: 0, connects: 0 }) });
  const errorInfo = (e: SasError): ClientErrorInfo => ({ code: isErrorCode(e.code) ? e.code : 'PROTOCOL_INVALID', message: e.message, fatal: e.context.fatal === true });
  const onMessage = (m: ToThread): void => {
    switch (m.type) {
      case 'init':
        port = m.port;
        port.on('message', onMessage);
        client = new AgentClient({
          ...m.options,
          onWelcome: (welcome) => post({ type: 'welcome', welcome, stats: stats() }),
          onAction: (action, seq, msg) => {
            const copy = Float32Array.from(action);
            post({ type: 'action', seq, action: copy, training: msg.training, updates: msg.updates, stats: stats() }, [copy.buffer as ArrayBuffer]);
          },
          onError: (e) => post({ type: 'error', error: errorInfo(e), stats: stats() }),
          onDisconnect: () => post({ type: 'disconnect', stats: stats() }),
        }).start();
        return;
      case 'step': {
        const before = client?.stats.dropped ?? 0;
        client?.submit(m.obs, m.reward, m.info, m.done);
        if ((client?.stats.dropped ?? 0) !== before) post({ type: 'stats', stats: stats() });
        return;
      }
      case 'flush':
        post({ type: 'stats', stats: stats(), flushId: m.id });
        return;
      case 'checkpoint':
        void (client?.requestCheckpoint(m.requestId) ?? Promise.resolve(undefined)).then((ack) => post({ type: 'ack', requestId: m.requestId, ack }));
        return;
      case 'close':
        void (client?.close() ?? Promise.resolve()).then(() => {
          post({ type: 'closed', stats: stats() });
          port?.close();
        });
        return;
    }
  };
  // The init message comes through the thread's own port; everything after it through the channel.
  parentPort?.once('message', onMessage);
}

if (!isMainThread && (workerData as Record<string, unknown> | null)?.[THREAD_MARK] === true) runThread();

/** The SasError of a ClientErrorInfo (for callers that throw or report it). */
export function clientError(e: ClientErrorInfo): SasError {
  return new SasError(e.code, e.message, { retriable: !e.fatal, context: { fatal: e.fatal } });
}
