// The agent server: websocket sessions, each with its own SAC-N agent, trained online or inference only.
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { z } from 'zod';
import { CheckpointError, ConfigError, ProtocolError, SasError, type ErrorCode } from '../common/errors.js';
import { confinedPath } from '../common/safe-dir.js';
import { parseOrThrow } from '../common/validate.js';
import { initBackend } from './backend.js';
import { saveCheckpoint, loadCheckpoint } from './checkpoint.js';
import { resolveAgentConfig, type AgentConfig } from './config.js';
import { OBS_MAX, OBS_MIN } from './env-math.js';
import { maskActionDim } from './mask.js';
import { ANON_SESSION_PREFIX, errorMessage, parseClientMessage, PROTOCOL_VERSION, TOKEN_MAX_LENGTH, type HelloMessage, type ServerMessage, type StepMessage } from './protocol.js';
import { SacAgent, type SacMetrics } from './sac.js';

/** The server's own token needs this many characters at least (a hello may carry 1-1024; a shorter one simply fails). */
export const SERVER_TOKEN_MIN_LENGTH = 8;

/** Server options (validated; ConfigError names the field, prefix `agentServer`). */
export const agentServerOptionsSchema = z
  .object({
    /** Interface to bind. Loopback by default; binding elsewhere exposes the agent to the network. */
    host: z.string().min(1).default('127.0.0.1'),
    /** TCP port; 0 picks a free one (see `AgentServer.port`). */
    port: z.number().int().min(0).max(65535).default(0),
    /** Shared secret every hello must carry: 8 to 1024 characters (hello.token accepts 1-1024; any other value is AUTH_FAILED). */
    token: z.string().min(SERVER_TOKEN_MIN_LENGTH).max(TOKEN_MAX_LENGTH),
    /** 'train': online SAC-N; 'evaluate': inference only (deterministic actions). */
    mode: z.enum(['train', 'evaluate']).default('train'),
    /** Checkpoint each new session starts from (fine-tuning); absent = fresh weights. */
    checkpoint: z.string().optional(),
    /** Agent config (preset `finetune` with a checkpoint, `sac` without, then these overrides). */
    agent: z.record(z.string(), z.unknown()).default({}),
    /** Directory where sessions write checkpoints (`<dir>/<session>`); absent = checkpoints refused. */
    checkpointDir: z.string().optional(),
    /** Write a checkpoint every N steps of a training session (0 = only on request and at the end). Reference: every 10 online iterations (§2.7). */
    checkpointEvery: z.number().int().min(0).default(0),
    /** Stop training after this many steps (then inference only). Reference online `num_iters` 500 (§2.7). */
    maxSteps: z.number().int().min(1).default(500),
    /** The target-imbalance stop applies only from this step on (the step budget always does). 0 = from the first step. */
    minSteps: z.number().int().min(0).default(0),
    /** Stop training once info.imbalance ≤ this. Reference: negative_imbalance ≥ −0.01 (§2.1). */
    targetImbalance: z.number().min(0).default(0.01),
    /** Sessions held at once (each holds its own networks and replay). A detached session gives its slot up to a new one when all are taken. */
    maxSessions: z.number().int().min(1).max(256).default(8),
    /** Open connections at once, authenticated or not; one more is refused (AGENT_UNAVAILABLE, close 1013). Our choice: 8 per default session slot. */
    maxConnections: z.number().int().min(1).max(65536).default(64),
    /** A connection that has not sent a valid hello this long after opening is closed (1008), ms. Our choice. */
    helloTimeoutMs: z.number().int().min(1).default(5_000),
    /** Largest accepted message in bytes; a larger one closes the connection (ws code 1009). */
    maxPayloadBytes: z.number().int().min(1024).default(1 << 20),
    /** How long a disconnected named session is kept for a reconnect, ms (sooner if a new session needs its slot). */
    sessionTtlMs: z.number().int().min(0).default(600_000),
  })
  .strict();

/** Input form of the server options. */
export type AgentServerOptions = z.input<typeof agentServerOptionsSchema> & {
  /** Structured events (session opened/closed, metrics, checkpoints, rejections). */
  onEvent?: (e: AgentServerEvent) => void;
};

/** Events the server reports; `sas agent` logs them with pino. */
export type AgentServerEvent =
  | { type: 'listening'; host: string; port: number }
  | { type: 'session_open'; session: string; mode: 'train' | 'evaluate'; resumed: boolean }
  /** `updates`: gradient steps made in this session. `reason`: the connection ended, the detached session expired, gave its slot to a new one, or the server closed. */
  /** A named session lost its connection and is kept `sessionTtlMs` for a reconnect (or until a new session needs its slot). */
  | { type: 'session_detached'; session: string; steps: number }
  | { type: 'session_closed'; session: string; steps: number; updates: number; reason: 'disconnected' | 'expired' | 'evicted' | 'server_closed' }
  | { type: 'train'; session: string; step: number; metrics: SacMetrics }
  | { type: 'step'; session: string; step: number; reward: number; info: Record<string, number> }
  | { type: 'training_stopped'; session: string; step: number; reason: 'max_steps' | 'target_imbalance' }
  | { type: 'checkpoint'; session: string; path: string; updates: number }
  | { type: 'rejected'; session?: string; code: string; message: string };


/** A running server. */
export interface AgentServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Names of the sessions currently held (attached or waiting for a reconnect). */
  sessions(): string[];
  /** Open connections, authenticated or not. */
  connections(): number;
  /** Closes every connection, disposes every agent (writing a final checkpoint where configured). Idempotent. */
  close(): Promise<void>;
}

interface Session {
  readonly id: string;
  readonly agent: SacAgent;
  readonly hello: HelloMessage;
  /** The client chose the name: the session outlives its connection by `sessionTtlMs`. */
  readonly named: boolean;
  mode: 'train' | 'evaluate';
  training: boolean;
  socket: WebSocket | undefined;
  prevObs: Float32Array | undefined;
  prevAction: Float32Array | undefined;
  steps: number;
  /** Connections that attached to this session (> 1 = resumed). */
  attaches: number;
  expiry: NodeJS.Timeout | undefined;
  /** agent.updates when the session opened (a loaded checkpoint's own count): the session made `updates − baseUpdates`. */
  readonly baseUpdates: number;
  /** agent.updates that `<checkpointDir>/<id>` holds (baseUpdates before the first write): no new update, no write. */
  savedUpdates: number;
  /** When the session lost its connection, as a serial number: a new session evicts the longest-detached one. */
  detachedAt: number;
}

/** Per-connection state. */
interface Connection {
  session: Session | undefined;
  /** Set once a fatal error was sent: later frames are ignored. */
  closing: boolean;
  /** Highest accepted step `seq` on this connection (−1 before the first). */
  lastSeq: number;
  deadline: NodeJS.Timeout | undefined;
}

/** Constant-time token comparison (hash first, so lengths never leak through timing). */
export function tokensEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** `20261208T013623Z`: the server's start time, in the names of its anonymous sessions. */
function compactStamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Starts the agent server (`sas agent`). The `checkpoint` option is loaded once before listening, so a
 * missing or corrupt one fails here (FileNotFoundError / CHECKPOINT_INVALID) instead of at every hello.
 * Per connection: the first message must be a valid `hello` with the right token within `helloTimeoutMs`;
 * anything else (no hello in time, another message first, a malformed hello, a wrong or missing token)
 * gets a fatal error (AUTH_FAILED for the token, else PROTOCOL_INVALID) and the socket is closed (1008).
 * More than `maxConnections` open sockets: the newest is refused (AGENT_UNAVAILABLE, 1013). After the
 * welcome, every `step` gets an `action` back at once, and in train mode the transition is learned from
 * after the reply is sent; an invalid message (including a `seq` not above the connection's last) gets a
 * non-fatal `error` and is dropped. Each session has its own agent (networks, replay, RNG): sessions never
 * share state. Checkpoints go to `<checkpointDir>/<session>` (confinedPath) and are written only when the
 * session made gradient steps since the last write.
 */
export async function startAgentServer(options: AgentServerOptions): Promise<AgentServer> {
  const { onEvent, ...rest } = options;
  const opts = parseOrThrow(agentServerOptionsSchema, rest, 'agentServer');
  const emit = (e: AgentServerEvent): void => {
    try {
      onEvent?.(e);
    } catch {
      // a failing logger must not take the server down
    }
  };
  await initBackend();
  const baseConfig: AgentConfig = resolveAgentConfig(opts.checkpoint ? 'finetune' : 'sac', opts.agent, 'agentServer.agent');
  // With a checkpoint, the network shape comes from the checkpoint; only training fields are overridden.
  const { hidden: _h, activation: _a, ensembleSize: _e, ...trainingFields } = baseConfig;
  if (opts.checkpoint !== undefined) {
    const field = 'agentServer.checkpoint';
    if (!existsSync(opts.checkpoint)) throw new SasError('FILE_NOT_FOUND', `${field}: checkpoint folder not found: ${opts.checkpoint}`, { context: { field, path: opts.checkpoint } });
    if (!lstatIsDir(opts.checkpoint)) throw new CheckpointError(`${field}: ${opts.checkpoint} is a file, not a checkpoint folder`, { field, path: opts.checkpoint });
    loadCheckpoint(opts.checkpoint, { overrides: trainingFields }).agent.dispose(); // every check a session's load makes, once
  }
  if (opts.checkpointDir !== undefined && existsSync(opts.checkpointDir) && !lstatIsDir(opts.checkpointDir)) {
    throw new ConfigError(`agentServer.checkpointDir: ${opts.checkpointDir} is not a folder`, { field: 'agentServer.checkpointDir', got: opts.checkpointDir });
  }
  const sessions = new Map<string, Session>();
  const anonStamp = `${compactStamp(new Date())}-${process.pid}`;
  let anon = 0;
  let detachSerial = 0;

  const wss = new WebSocketServer({ host: opts.host, port: opts.port, maxPayload: opts.maxPayloadBytes });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('error', (e) => emit({ type: 'rejected', code: 'AGENT_UNAVAILABLE', message: e.message }));
  const addr = wss.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  emit({ type: 'listening', host: opts.host, port });

  const send = (ws: WebSocket, m: ServerMessage): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
  };
  const reject = (ws: WebSocket, code: ErrorCode, message: string, extra: { seq?: number; requestId?: string; session?: string } = {}): void => {
    emit({ type: 'rejected', session: extra.session, code, message });
    send(ws, errorMessage(code, message, extra));
  };
  /** Sends a fatal error and closes the socket; the connection ignores anything it sends afterwards. */
  const fatal = (ws: WebSocket, conn: Connection, code: ErrorCode, message: string, closeCode = 1008): void => {
    emit({ type: 'rejected', session: conn.session?.id, code, message });
    send(ws, errorMessage(code, message, { fatal: true }));
    conn.closing = true;
    if (conn.deadline) clearTimeout(conn.deadline);
    ws.close(closeCode, code);
  };
  const updatesOf = (s: Session): number => s.agent.updates - s.baseUpdates;
  const isCurrent = (s: Session): boolean => sessions.get(s.id) === s;

  /** Writes the session's agent to `<checkpointDir>/<name>`; `name` is confined to that folder. */
  const writeCheckpoint = (s: Session, name: string, field: string): string => {
    if (!opts.checkpointDir) throw new SasError('CONFIG_INVALID', 'the server has no checkpointDir', { context: { field: 'agentServer.checkpointDir' } });
    const dir = confinedPath(opts.checkpointDir, name, field);
    const j = s.hello.job;
    saveCheckpoint(dir, s.agent, { numWorkers: j.numWorkers, hotKeys: j.hotKeys, hotKeyFreqs: j.hotKeyFreqs, mask: j.mask, source: `agent session ${s.id}` });
    emit({ type: 'checkpoint', session: s.id, path: dir, updates: updatesOf(s) });
    return dir;
  };
  /** The session's own checkpoint `<checkpointDir>/<id>`, written only if it would hold new gradient steps. */
  const writeSessionCheckpoint = (s: Session): void => {
    if (!opts.checkpointDir || s.mode !== 'train' || s.agent.updates <= s.savedUpdates) return;
    writeCheckpoint(s, s.id, 'session');
    s.savedUpdates = s.agent.updates;
  };

  const dropSession = (s: Session, reason: 'disconnected' | 'expired' | 'evicted' | 'server_closed'): void => {
    if (s.expiry) clearTimeout(s.expiry);
    s.expiry = undefined;
    if (!isCurrent(s)) return;
    sessions.delete(s.id);
    try {
      writeSessionCheckpoint(s);
    } catch (e) {
      emit({ type: 'rejected', session: s.id, code: e instanceof SasError ? e.code : 'CHECKPOINT_INVALID', message: (e as Error).message });
    }
    emit({ type: 'session_closed', session: s.id, steps: s.steps, updates: updatesOf(s), reason });
    s.agent.dispose();
  };

  /** The session detached longest ago, if any (it gives its slot to a new session). */
  const evictable = (): Session | undefined => {
    let best: Session | undefined;
    for (const s of sessions.values()) if (!s.socket && (!best || s.detachedAt < best.detachedAt)) best = s;
    return best;
  };

  /** A name no client may choose (ANON_SESSION_PREFIX), unique in this run, and with no checkpoint from an earlier run. */
  const anonymousName = (): string => {
    for (;;) {
      const id = `${ANON_SESSION_PREFIX}${anonStamp}-${++anon}`;
      if (sessions.has(id)) continue;
      if (opts.checkpointDir && existsSync(confinedPath(opts.checkpointDir, id, 'session'))) continue;
      return id;
    }
  };

  const openSession = (ws: WebSocket, conn: Connection, hello: HelloMessage): Session | undefined => {
    const j = hello.job;
    if (j.obsDim !== 2 * j.numWorkers) return void fatal(ws, conn, 'PROTOCOL_INVALID', `hello.job.obsDim: expected 2·numWorkers = ${2 * j.numWorkers}, got ${j.obsDim}`);
    if (j.mask.some((r) => r.end > j.numWorkers || r.start >= r.end)) return void fatal(ws, conn, 'PROTOCOL_INVALID', `hello.job.mask: every range needs 0 <= start < end <= ${j.numWorkers}`);
    if (j.actionDim !== maskActionDim(j.mask)) return void fatal(ws, conn, 'PROTOCOL_INVALID', `hello.job.actionDim: expected the mask's size ${maskActionDim(j.mask)}, got ${j.actionDim}`);
    if (j.mask.length > j.numHotKeys) return void fatal(ws, conn, 'PROTOCOL_INVALID', `hello.job.mask: ${j.mask.length} ranges but numHotKeys is ${j.numHotKeys}`);
    const existing = hello.session !== undefined ? sessions.get(hello.session) : undefined;
    if (existing) {
      if (existing.socket) return void fatal(ws, conn, 'PROTOCOL_INVALID', `hello.session: session ${existing.id} is attached to another connection`);
      if (existing.agent.dims.obsDim !== j.obsDim || existing.agent.dims.actionDim !== j.actionDim) {
        return void fatal(ws, conn, 'PROTOCOL_INVALID', `hello.session: session ${existing.id} was opened with other dimensions`);
      }
      if (existing.expiry) clearTimeout(existing.expiry);
      existing.expiry = undefined;
      existing.socket = ws;
      existing.attaches++;
      existing.prevObs = undefined; // steps were lost while detached: no transition across the gap
      existing.prevAction = undefined;
      return existing;
    }
    if (sessions.size >= opts.maxSessions && !evictable()) return void fatal(ws, conn, 'AGENT_UNAVAILABLE', `server holds its maximum of ${opts.maxSessions} sessions, all attached`, 1013);
    let agent: SacAgent;
    try {
      if (opts.checkpoint) {
        agent = loadCheckpoint(opts.checkpoint, { overrides: trainingFields }).agent;
        if (agent.dims.obsDim !== j.obsDim || agent.dims.actionDim !== j.actionDim) {
          agent.dispose();
          return void fatal(ws, conn, 'CHECKPOINT_INVALID', `hello.job: the server's checkpoint has obs/action dims ${agent.dims.obsDim}/${agent.dims.actionDim}, the job ${j.obsDim}/${j.actionDim}`);
        }
      } else {
        agent = new SacAgent(baseConfig, { obsDim: j.obsDim, actionDim: j.actionDim });
      }
    } catch (e) {
      const code = e instanceof SasError ? e.code : 'CHECKPOINT_INVALID';
      return void fatal(ws, conn, code, (e as Error).message);
    }
    // Only now that the new session is sure to open does a detached one give up its slot.
    while (sessions.size >= opts.maxSessions) {
      const victim = evictable();
      if (!victim) break;
      dropSession(victim, 'evicted');
    }
    const id = hello.session ?? anonymousName();
    const mode = hello.mode === 'evaluate' || opts.mode === 'evaluate' ? 'evaluate' : 'train';
    const s: Session = { id, agent, hello, named: hello.session !== undefined, mode, training: mode === 'train', socket: ws, prevObs: undefined, prevAction: undefined, steps: 0, attaches: 1, expiry: undefined, baseUpdates: agent.updates, savedUpdates: agent.updates, detachedAt: 0 };
    sessions.set(id, s);
    return s;
  };

  const learn = (s: Session, step: StepMessage, prevObs: Float32Array | undefined, prevAction: Float32Array | undefined, obs: Float32Array): void => {
    if (!s.training || !isCurrent(s)) return;
    if (prevObs && prevAction) {
      const m = s.agent.observe({ obs: prevObs, action: prevAction, reward: step.reward, nextObs: obs, done: step.done });
      if (m) emit({ type: 'train', session: s.id, step: s.steps, metrics: m });
    }
    if (opts.checkpointEvery > 0 && s.steps % opts.checkpointEvery === 0) writeSessionCheckpoint(s);
    const imb = step.info.imbalance;
    const reason = s.steps >= opts.maxSteps ? 'max_steps' : s.steps >= opts.minSteps && imb !== undefined && imb <= opts.targetImbalance ? 'target_imbalance' : undefined;
    if (reason) {
      s.training = false;
      emit({ type: 'training_stopped', session: s.id, step: s.steps, reason });
      writeSessionCheckpoint(s);
    }
  };

  const onStep = (ws: WebSocket, conn: Connection, s: Session, step: StepMessage): void => {
    const d = s.agent.dims.obsDim;
    if (step.seq <= conn.lastSeq) return reject(ws, 'PROTOCOL_INVALID', `step.seq: expected more than ${conn.lastSeq} (the last step of this connection), got ${step.seq}`, { seq: step.seq, session: s.id });
    if (step.obs.length !== d) return reject(ws, 'PROTOCOL_INVALID', `step.obs: expected ${d} values, got ${step.obs.length}`, { seq: step.seq, session: s.id });
    if (step.obs.some((x) => x < OBS_MIN || x > OBS_MAX)) return reject(ws, 'PROTOCOL_INVALID', `step.obs: values must lie in [${OBS_MIN}, ${OBS_MAX}] (scaled with env-math.scaleObservation)`, { seq: step.seq, session: s.id });
    conn.lastSeq = step.seq;
    const obs = Float32Array.from(step.obs);
    const action = s.agent.act(obs, { deterministic: !s.training });
    send(ws, { v: PROTOCOL_VERSION, type: 'action', seq: step.seq, action: Array.from(action), training: s.training, updates: updatesOf(s) });
    s.steps++;
    emit({ type: 'step', session: s.id, step: s.steps, reward: step.reward, info: step.info });
    const [prevObs, prevAction] = [s.prevObs, s.prevAction];
    s.prevObs = obs;
    s.prevAction = action;
    // Learn after the reply is on its way, so the engine never waits for a gradient step.
    setImmediate(() => {
      try {
        learn(s, step, prevObs, prevAction, obs);
      } catch (e) {
        emit({ type: 'rejected', session: s.id, code: e instanceof SasError ? e.code : 'INVARIANT', message: (e as Error).message });
      }
    });
  };

  const onCheckpointRequest = (ws: WebSocket, s: Session, requestId: string): void => {
    const name = `${s.id}-${requestId}`;
    try {
      if (name.length > 64) throw new ConfigError(`requestId: the checkpoint name <session>-<requestId> = ${name} is longer than 64 characters; use a shorter requestId`, { field: 'requestId', got: requestId });
      const p = writeCheckpoint(s, name, 'requestId');
      send(ws, { v: PROTOCOL_VERSION, type: 'checkpoint_ack', requestId, ok: true, path: p, updates: updatesOf(s) });
    } catch (e) {
      emit({ type: 'rejected', session: s.id, code: e instanceof SasError ? e.code : 'CHECKPOINT_INVALID', message: (e as Error).message });
      send(ws, { v: PROTOCOL_VERSION, type: 'checkpoint_ack', requestId, ok: false, updates: updatesOf(s), message: (e as Error).message });
    }
  };

  wss.on('connection', (ws) => {
    const conn: Connection = { session: undefined, closing: false, lastSeq: -1, deadline: undefined };
    ws.on('error', () => undefined); // oversize frames and resets: ws closes the socket itself
    if (wss.clients.size > opts.maxConnections) return fatal(ws, conn, 'AGENT_UNAVAILABLE', `server holds its maximum of ${opts.maxConnections} connections`, 1013);
    conn.deadline = setTimeout(() => {
      if (!conn.session && !conn.closing) fatal(ws, conn, 'PROTOCOL_INVALID', `no valid hello within ${opts.helloTimeoutMs} ms of connecting`);
    }, opts.helloTimeoutMs);
    conn.deadline.unref();
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (conn.closing) return;
      let msg;
      try {
        if (isBinary) throw new ProtocolError('binary frames are not accepted; send JSON text', { field: '(root)' });
        msg = parseClientMessage(data as Buffer);
      } catch (e) {
        const ctx = (e as ProtocolError).context ?? {};
        const message = (e as Error).message;
        // Before the welcome a connection has one chance: a malformed hello, above all its token, closes it.
        if (!conn.session) return fatal(ws, conn, ctx.type === 'hello' && ctx.field === 'token' ? 'AUTH_FAILED' : 'PROTOCOL_INVALID', message);
        return reject(ws, 'PROTOCOL_INVALID', message, { session: conn.session.id, seq: typeof ctx.seq === 'number' ? ctx.seq : undefined, requestId: typeof ctx.requestId === 'string' ? ctx.requestId : undefined });
      }
      if (!conn.session) {
        if (msg.type !== 'hello') return fatal(ws, conn, 'PROTOCOL_INVALID', `type: expected hello first, got ${msg.type}`);
        if (!tokensEqual(msg.token, opts.token)) return fatal(ws, conn, 'AUTH_FAILED', 'hello.token: wrong token');
        const s = openSession(ws, conn, msg);
        if (!s) return;
        conn.session = s;
        if (conn.deadline) clearTimeout(conn.deadline);
        send(ws, { v: PROTOCOL_VERSION, type: 'welcome', session: s.id, mode: s.mode, actionDim: s.agent.dims.actionDim, resumed: s.attaches > 1, updates: updatesOf(s) });
        emit({ type: 'session_open', session: s.id, mode: s.mode, resumed: s.attaches > 1 });
        return;
      }
      if (msg.type === 'hello') return reject(ws, 'PROTOCOL_INVALID', 'type: hello was already received on this connection', { session: conn.session.id });
      if (msg.type === 'step') return onStep(ws, conn, conn.session, msg);
      return onCheckpointRequest(ws, conn.session, msg.requestId);
    });
    ws.on('close', () => {
      if (conn.deadline) clearTimeout(conn.deadline);
      const s = conn.session;
      if (!s || s.socket !== ws || !isCurrent(s)) return;
      s.socket = undefined;
      s.detachedAt = ++detachSerial;
      if (s.named && opts.sessionTtlMs > 0 && !stopping) {
        s.expiry = setTimeout(() => dropSession(s, 'expired'), opts.sessionTtlMs);
        s.expiry.unref();
        emit({ type: 'session_detached', session: s.id, steps: s.steps });
      } else {
        dropSession(s, stopping ? 'server_closed' : 'disconnected');
      }
    });
  });

  let stopping = false;
  let closed: Promise<void> | undefined;
  return {
    host: opts.host,
    port,
    url: `ws://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`,
    sessions: () => [...sessions.keys()],
    connections: () => wss.clients.size,
    close: () =>
      (closed ??= (async () => {
        stopping = true;
        for (const c of wss.clients) c.terminate();
        await new Promise<void>((r) => wss.close(() => r()));
        for (const s of [...sessions.values()]) dropSession(s, 'server_closed');
      })()),
  };
}

function lstatIsDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
