// The agent server: websocket sessions, each with its own SAC-N agent, trained online or inference only.
import { createHash, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { z } from 'zod';
import { ProtocolError, SasError, type ErrorCode } from '../common/errors.js';
import { parseOrThrow } from '../common/validate.js';
import { initBackend } from './backend.js';
import { saveCheckpoint, loadCheckpoint } from './checkpoint.js';
import { resolveAgentConfig, type AgentConfig } from './config.js';
import { OBS_MAX, OBS_MIN } from './env-math.js';
import { maskActionDim } from './mask.js';
import { errorMessage, parseClientMessage, PROTOCOL_VERSION, type HelloMessage, type ServerMessage, type StepMessage } from './protocol.js';
import { SacAgent, type SacMetrics } from './sac.js';

/** Server options (validated; ConfigError names the field, prefix `agentServer`). */
export const agentServerOptionsSchema = z
  .object({
    /** Interface to bind. Loopback by default; binding elsewhere exposes the agent to the network. */
    host: z.string().min(1).default('127.0.0.1'),
    /** TCP port; 0 picks a free one (see `AgentServer.port`). */
    port: z.number().int().min(0).max(65535).default(0),
    /** Shared secret every hello must carry (at least 8 characters). */
    token: z.string().min(8),
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
    /** Stop training once info.imbalance ≤ this. Reference: negative_imbalance ≥ −0.01 (§2.1). */
    targetImbalance: z.number().min(0).default(0.01),
    /** Concurrent sessions (each holds its own networks and replay). */
    maxSessions: z.number().int().min(1).max(256).default(8),
    /** Largest accepted message in bytes; a larger one closes the connection (ws code 1009). */
    maxPayloadBytes: z.number().int().min(1024).default(1 << 20),
    /** How long a disconnected named session is kept for a reconnect, ms. */
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
  | { type: 'session_closed'; session: string; steps: number; updates: number }
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
  /** Closes every connection, disposes every agent (writing a final checkpoint where configured). */
  close(): Promise<void>;
}

interface Session {
  readonly id: string;
  readonly agent: SacAgent;
  readonly hello: HelloMessage;
  mode: 'train' | 'evaluate';
  training: boolean;
  socket: WebSocket | undefined;
  prevObs: Float32Array | undefined;
  prevAction: Float32Array | undefined;
  steps: number;
  /** Connections that attached to this session (> 1 = resumed). */
  attaches: number;
  expiry: NodeJS.Timeout | undefined;
}

/** Constant-time token comparison (hash first, so lengths never leak through timing). */
export function tokensEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/**
 * Starts the agent server (`sas agent`). Per connection: the first message must be a valid `hello`
 * with the right token (else AUTH_FAILED / PROTOCOL_INVALID error and close); then every `step` gets
 * an `action` back at once, and in train mode the transition is learned from after the reply is sent.
 * Any invalid message gets an `error` reply and is dropped; the connection and the server stay up.
 * Each session has its own agent (networks, replay, RNG): sessions never share state.
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
  const sessions = new Map<string, Session>();
  let anon = 0;

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
  const reject = (ws: WebSocket, code: ErrorCode, message: string, extra: { seq?: number; requestId?: string; fatal?: boolean; session?: string } = {}): void => {
    emit({ type: 'rejected', session: extra.session, code, message });
    send(ws, errorMessage(code, message, extra));
    if (extra.fatal) ws.close(1008, code);
  };

  const writeCheckpoint = (s: Session, name = s.id): string => {
    if (!opts.checkpointDir) throw new SasError('CONFIG_INVALID', 'the server has no checkpointDir', { context: { field: 'agentServer.checkpointDir' } });
    const dir = path.join(opts.checkpointDir, name);
    const j = s.hello.job;
    saveCheckpoint(dir, s.agent, { numWorkers: j.numWorkers, hotKeys: j.hotKeys, hotKeyFreqs: j.hotKeyFreqs, mask: j.mask, source: `agent session ${s.id}` });
    emit({ type: 'checkpoint', session: s.id, path: dir, updates: s.agent.updates });
    return dir;
  };

  const dropSession = (s: Session): void => {
    if (s.expiry) clearTimeout(s.expiry);
    sessions.delete(s.id);
    if (s.mode === 'train' && s.agent.updates > 0 && opts.checkpointDir) {
      try {
        writeCheckpoint(s);
      } catch (e) {
        emit({ type: 'rejected', session: s.id, code: 'CHECKPOINT_INVALID', message: (e as Error).message });
      }
    }
    emit({ type: 'session_closed', session: s.id, steps: s.steps, updates: s.agent.updates });
    s.agent.dispose();
  };

  const openSession = (ws: WebSocket, hello: HelloMessage): Session | undefined => {
    const j = hello.job;
    if (j.obsDim !== 2 * j.numWorkers) return void reject(ws, 'PROTOCOL_INVALID', `hello.job.obsDim: expected 2·numWorkers = ${2 * j.numWorkers}, got ${j.obsDim}`, { fatal: true });
    if (j.mask.some((r) => r.end > j.numWorkers || r.start >= r.end)) return void reject(ws, 'PROTOCOL_INVALID', `hello.job.mask: every range needs 0 <= start < end <= ${j.numWorkers}`, { fatal: true });
    if (j.actionDim !== maskActionDim(j.mask)) return void reject(ws, 'PROTOCOL_INVALID', `hello.job.actionDim: expected the mask's size ${maskActionDim(j.mask)}, got ${j.actionDim}`, { fatal: true });
    if (j.mask.length > j.numHotKeys) return void reject(ws, 'PROTOCOL_INVALID', `hello.job.mask: ${j.mask.length} ranges but numHotKeys is ${j.numHotKeys}`, { fatal: true });
    const existing = hello.session !== undefined ? sessions.get(hello.session) : undefined;
    if (existing) {
      if (existing.socket) return void reject(ws, 'PROTOCOL_INVALID', `session ${existing.id} is attached to another connection`, { fatal: true });
      if (existing.agent.dims.obsDim !== j.obsDim || existing.agent.dims.actionDim !== j.actionDim) {
        return void reject(ws, 'PROTOCOL_INVALID', `session ${existing.id} was opened with other dimensions`, { fatal: true });
      }
      if (existing.expiry) clearTimeout(existing.expiry);
      existing.expiry = undefined;
      existing.socket = ws;
      existing.attaches++;
      existing.prevObs = undefined; // steps were lost while detached: no transition across the gap
      existing.prevAction = undefined;
      return existing;
    }
    if (sessions.size >= opts.maxSessions) return void reject(ws, 'AGENT_UNAVAILABLE', `server holds its maximum of ${opts.maxSessions} sessions`, { fatal: true });
    const id = hello.session ?? `s${++anon}`;
    let agent: SacAgent;
    try {
      if (opts.checkpoint) {
        agent = loadCheckpoint(opts.checkpoint, { overrides: trainingFields }).agent;
        if (agent.dims.obsDim !== j.obsDim || agent.dims.actionDim !== j.actionDim) {
          agent.dispose();
          return void reject(ws, 'CHECKPOINT_INVALID', `checkpoint has obs/action dims ${agent.dims.obsDim}/${agent.dims.actionDim}, the job ${j.obsDim}/${j.actionDim}`, { fatal: true });
        }
      } else {
        agent = new SacAgent(baseConfig, { obsDim: j.obsDim, actionDim: j.actionDim });
      }
    } catch (e) {
      const code = e instanceof SasError ? e.code : 'CHECKPOINT_INVALID';
      return void reject(ws, code, (e as Error).message, { fatal: true });
    }
    const mode = hello.mode === 'evaluate' || opts.mode === 'evaluate' ? 'evaluate' : 'train';
    const s: Session = { id, agent, hello, mode, training: mode === 'train', socket: ws, prevObs: undefined, prevAction: undefined, steps: 0, attaches: 1, expiry: undefined };
    sessions.set(id, s);
    return s;
  };

  const learn = (s: Session, step: StepMessage, prevObs: Float32Array | undefined, prevAction: Float32Array | undefined, obs: Float32Array): void => {
    if (!s.training || !sessions.has(s.id)) return;
    if (prevObs && prevAction) {
      const m = s.agent.observe({ obs: prevObs, action: prevAction, reward: step.reward, nextObs: obs, done: step.done });
      if (m) emit({ type: 'train', session: s.id, step: s.steps, metrics: m });
    }
    if (opts.checkpointDir && opts.checkpointEvery > 0 && s.steps % opts.checkpointEvery === 0) writeCheckpoint(s);
    const imb = step.info.imbalance;
    const reason = s.steps >= opts.maxSteps ? 'max_steps' : imb !== undefined && imb <= opts.targetImbalance ? 'target_imbalance' : undefined;
    if (reason) {
      s.training = false;
      emit({ type: 'training_stopped', session: s.id, step: s.steps, reason });
      if (opts.checkpointDir) writeCheckpoint(s);
    }
  };

  const onStep = (ws: WebSocket, s: Session, step: StepMessage): void => {
    const d = s.agent.dims.obsDim;
    if (step.obs.length !== d) return reject(ws, 'PROTOCOL_INVALID', `step.obs: expected ${d} values, got ${step.obs.length}`, { seq: step.seq, session: s.id });
    if (step.obs.some((x) => x < OBS_MIN || x > OBS_MAX)) return reject(ws, 'PROTOCOL_INVALID', `step.obs: values must lie in [${OBS_MIN}, ${OBS_MAX}] (scaled with env-math.scaleObservation)`, { seq: step.seq, session: s.id });
    const obs = Float32Array.from(step.obs);
    const action = s.agent.act(obs, { deterministic: !s.training });
    send(ws, { v: PROTOCOL_VERSION, type: 'action', seq: step.seq, action: Array.from(action), training: s.training, updates: s.agent.updates });
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

  wss.on('connection', (ws) => {
    let session: Session | undefined;
    ws.on('error', () => undefined); // oversize frames and resets: ws closes the socket itself
    ws.on('message', (data: RawData, isBinary: boolean) => {
      let msg;
      try {
        if (isBinary) throw new ProtocolError('binary frames are not accepted; send JSON text', { field: '(root)' });
        msg = parseClientMessage(data as Buffer);
      } catch (e) {
        const pe = e as ProtocolError;
        return reject(ws, 'PROTOCOL_INVALID', pe.message, { session: session?.id, seq: typeof pe.context?.seq === 'number' ? pe.context.seq : undefined });
      }
      if (!session) {
        if (msg.type !== 'hello') return reject(ws, 'PROTOCOL_INVALID', `expected hello first, got ${msg.type}`);
        if (!tokensEqual(msg.token, opts.token)) return reject(ws, 'AUTH_FAILED', 'bad token', { fatal: true });
        session = openSession(ws, msg);
        if (session) {
          const s = session;
          send(ws, { v: PROTOCOL_VERSION, type: 'welcome', session: s.id, mode: s.mode, actionDim: s.agent.dims.actionDim, resumed: s.attaches > 1, updates: s.agent.updates });
          emit({ type: 'session_open', session: s.id, mode: s.mode, resumed: s.attaches > 1 });
        }
        return;
      }
      if (msg.type === 'hello') return reject(ws, 'PROTOCOL_INVALID', 'hello was already received on this connection', { session: session.id });
      if (msg.type === 'step') return onStep(ws, session, msg);
      const s = session;
      try {
        const p = writeCheckpoint(s, `${s.id}-${msg.requestId}`);
        send(ws, { v: PROTOCOL_VERSION, type: 'checkpoint_ack', requestId: msg.requestId, ok: true, path: p, updates: s.agent.updates });
      } catch (e) {
        send(ws, { v: PROTOCOL_VERSION, type: 'checkpoint_ack', requestId: msg.requestId, ok: false, updates: s.agent.updates, message: (e as Error).message });
      }
    });
    ws.on('close', () => {
      const s = session;
      if (!s || s.socket !== ws) return;
      s.socket = undefined;
      if (s.hello.session !== undefined && opts.sessionTtlMs > 0) {
        s.expiry = setTimeout(() => dropSession(s), opts.sessionTtlMs);
        s.expiry.unref();
      } else {
        dropSession(s);
      }
    });
  });

  return {
    host: opts.host,
    port,
    url: `ws://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`,
    sessions: () => [...sessions.keys()],
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      for (const s of [...sessions.values()]) dropSession(s);
    },
  };
}
