// The agent wire protocol (version 1): zod schemas of every JSON message between engine and agent server.
import { z } from 'zod';
import { ProtocolError, type ErrorCode } from '../common/errors.js';
import { SAFE_NAME } from '../common/safe-dir.js';

/** Protocol version carried as `v` in every message. A peer rejects other versions. */
export const PROTOCOL_VERSION = 1;

const v = z.literal(PROTOCOL_VERSION);
const finite = z.number().refine(Number.isFinite, 'expected a finite number');
/**
 * Prefix of the names the server gives sessions that arrive without one (`anon-<start>-<pid>-<n>`).
 * A client may not choose a name with it, so an anonymous session never takes a named one's state.
 */
export const ANON_SESSION_PREFIX = 'anon-';

/** Lengths of the shared secret in `hello.token`. The server's own token must be at least 8 characters. */
export const TOKEN_MIN_LENGTH = 1;
export const TOKEN_MAX_LENGTH = 1024;

/**
 * A client-chosen session name: a safe folder name (SAFE_NAME: 1-64 of A-Z a-z 0-9 _ . -, not only
 * dots; the final checkpoint is `<checkpointDir>/<session>`) that does not start with ANON_SESSION_PREFIX.
 */
export const sessionNameSchema = z
  .string()
  .regex(SAFE_NAME, 'expected 1-64 of A-Z a-z 0-9 _ . - (not only dots)')
  .refine((x) => !x.startsWith(ANON_SESSION_PREFIX), `names starting with "${ANON_SESSION_PREFIX}" are reserved for anonymous sessions`);

/** A checkpoint request id: 1-64 of A-Z a-z 0-9 _ . - (not only dots). */
export const requestIdSchema = z.string().regex(SAFE_NAME, 'expected 1-64 of A-Z a-z 0-9 _ . - (not only dots)');

const range = z.object({ start: z.number().int().min(0), end: z.number().int().min(1) }).strict();

/** The job an engine describes in `hello`: P, the hot-key slots and the mask that defines the action. */
export const jobSpecSchema = z
  .object({
    /** Free-form job name (logs, checkpoint paths are derived from the session id instead). */
    name: z.string().max(200).optional(),
    /** P, number of workers. */
    numWorkers: z.number().int().min(1).max(65536),
    /** Hot-key slots (rank positions) the partitioner tracks. */
    numHotKeys: z.number().int().min(1).max(65536),
    /** Key ids currently in the slots (informational). */
    hotKeys: z.array(z.number().int().min(0)).optional(),
    /** Frequencies the mask was built from (informational). */
    hotKeyFreqs: z.array(finite).optional(),
    /** One worker range per true hot key; the action is key-major over these ranges. */
    mask: z.array(range).min(1),
    /** Must be 2·numWorkers. */
    obsDim: z.number().int().min(2),
    /** Must be Σ (end − start) over the mask. */
    actionDim: z.number().int().min(1),
    /** Steps per episode (informational; `done` in `step` is authoritative). */
    episodeLength: z.number().int().min(1).optional(),
    /** Reward base the engine uses (informational). */
    rewardBase: z.number().positive().optional(),
  })
  .strict();

/** Engine → agent: first message of a connection. */
export const helloSchema = z
  .object({
    v,
    type: z.literal('hello'),
    /** Shared secret; compared in constant time. */
    token: z.string().min(TOKEN_MIN_LENGTH).max(TOKEN_MAX_LENGTH),
    /** Optional stable session name (sessionNameSchema): reconnecting with the same name resumes that session's agent. */
    session: sessionNameSchema.optional(),
    /** 'evaluate' asks for inference only; 'train' is granted only when the server trains. Default 'train'. */
    mode: z.enum(['train', 'evaluate']).optional(),
    job: jobSpecSchema,
  })
  .strict();

/** Engine → agent: one metric slide. `reward` and `info` are the result of the previous action. */
export const stepSchema = z
  .object({
    v,
    type: z.literal('step'),
    /** Step number, strictly increasing on a connection (the server rejects a repeat); echoed by the answering `action`. */
    seq: z.number().int().min(0),
    /** The 2P observation, already scaled (env-math.scaleObservation): every entry in [0, 2]. */
    obs: z.array(finite),
    reward: finite,
    /** Slide facts for logs and stop rules: imbalance, nmad, perf (numbers). */
    info: z.record(z.string().max(64), finite),
    /** True on the last step of an episode. */
    done: z.boolean(),
  })
  .strict();

/** Engine → agent: ask the session to write a checkpoint now. */
export const checkpointRequestSchema = z
  .object({
    v,
    type: z.literal('checkpoint'),
    requestId: requestIdSchema,
  })
  .strict();

/** Agent → engine: answer to `hello`. */
export const welcomeSchema = z
  .object({
    v,
    type: z.literal('welcome'),
    session: z.string(),
    mode: z.enum(['train', 'evaluate']),
    actionDim: z.number().int().min(1),
    /** True when an existing session (same `session` name) was resumed. */
    resumed: z.boolean(),
    /** Gradient steps made in this session so far (0 for a new one, also when it started from a checkpoint). */
    updates: z.number().int().min(0),
  })
  .strict();

/** Agent → engine: the action for step `seq`: key-major weights in [0, 1], length actionDim. */
export const actionSchema = z
  .object({
    v,
    type: z.literal('action'),
    seq: z.number().int().min(0),
    action: z.array(finite),
    /** False once the session only infers (evaluate mode, or training stopped by budget/target). */
    training: z.boolean(),
    /** Gradient steps made in this session so far. */
    updates: z.number().int().min(0),
  })
  .strict();

/** Agent → engine: answer to a `checkpoint` request. */
export const checkpointAckSchema = z
  .object({
    v,
    type: z.literal('checkpoint_ack'),
    requestId: z.string(),
    ok: z.boolean(),
    /** Directory written (when ok). */
    path: z.string().optional(),
    updates: z.number().int().min(0),
    message: z.string().optional(),
  })
  .strict();

/** Either direction: a rejected message or a failed request. `code` is one of the project's error codes. */
export const errorSchema = z
  .object({
    v,
    type: z.literal('error'),
    code: z.string(),
    message: z.string(),
    /** The `seq` or `requestId` of the message that failed, when known. */
    seq: z.number().int().optional(),
    requestId: z.string().optional(),
    /** True when the sender closes the connection after this message. */
    fatal: z.boolean(),
  })
  .strict();

export type JobSpec = z.infer<typeof jobSpecSchema>;
export type HelloMessage = z.infer<typeof helloSchema>;
export type StepMessage = z.infer<typeof stepSchema>;
export type CheckpointRequestMessage = z.infer<typeof checkpointRequestSchema>;
export type WelcomeMessage = z.infer<typeof welcomeSchema>;
export type ActionMessage = z.infer<typeof actionSchema>;
export type CheckpointAckMessage = z.infer<typeof checkpointAckSchema>;
export type ErrorMessage = z.infer<typeof errorSchema>;
/** Messages an engine sends. */
export type ClientMessage = HelloMessage | StepMessage | CheckpointRequestMessage;
/** Messages the agent server sends. */
export type ServerMessage = WelcomeMessage | ActionMessage | CheckpointAckMessage | ErrorMessage;

const clientSchemas = { hello: helloSchema, step: stepSchema, checkpoint: checkpointRequestSchema } as const;
const serverSchemas = { welcome: welcomeSchema, action: actionSchema, checkpoint_ack: checkpointAckSchema, error: errorSchema } as const;

function decode<M>(raw: string | Buffer | ArrayBuffer | Buffer[], schemas: Record<string, z.ZodType>, side: string): M {
  const text = typeof raw === 'string' ? raw : Array.isArray(raw) ? Buffer.concat(raw).toString('utf8') : Buffer.from(raw as ArrayBuffer).toString('utf8');
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    throw new ProtocolError(`${side} message is not JSON`, { field: '(root)' });
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new ProtocolError(`${side} message is not a JSON object`, { field: '(root)' });
  const o = obj as Record<string, unknown>;
  // Whatever fails below, the error names the message it answers when the frame says which.
  const ids = {
    ...(typeof o.seq === 'number' && Number.isInteger(o.seq) ? { seq: o.seq } : {}),
    ...(typeof o.requestId === 'string' && o.requestId.length <= 64 ? { requestId: o.requestId } : {}),
  };
  if (o.v !== PROTOCOL_VERSION) throw new ProtocolError(`v: unsupported protocol version ${JSON.stringify(o.v) ?? 'undefined'}; this peer speaks ${PROTOCOL_VERSION}`, { field: 'v', got: o.v, expected: PROTOCOL_VERSION, ...ids });
  const schema = typeof o.type === 'string' ? schemas[o.type] : undefined;
  if (!schema) throw new ProtocolError(`type: unknown ${side} message type ${JSON.stringify(o.type) ?? 'undefined'}; valid: ${Object.keys(schemas).join(', ')}`, { field: 'type', got: o.type, ...ids });
  const r = schema.safeParse(obj);
  if (!r.success) {
    const i = r.error.issues[0];
    const field = i.path.map(String).join('.') || '(root)';
    throw new ProtocolError(`${o.type}.${field}: ${i.message}`, { field, type: o.type, ...ids });
  }
  return r.data as M;
}

/** Parses and validates an engine → agent message; throws ProtocolError naming the field. */
export function parseClientMessage(raw: string | Buffer | ArrayBuffer | Buffer[]): ClientMessage {
  return decode<ClientMessage>(raw, clientSchemas, 'client');
}

/** Parses and validates an agent → engine message; throws ProtocolError naming the field. */
export function parseServerMessage(raw: string | Buffer | ArrayBuffer | Buffer[]): ServerMessage {
  return decode<ServerMessage>(raw, serverSchemas, 'server');
}

/** Builds an error message for `code`. */
export function errorMessage(code: ErrorCode, message: string, extra: { seq?: number; requestId?: string; fatal?: boolean } = {}): ErrorMessage {
  return { v: PROTOCOL_VERSION, type: 'error', code, message, fatal: extra.fatal ?? false, ...(extra.seq !== undefined ? { seq: extra.seq } : {}), ...(extra.requestId !== undefined ? { requestId: extra.requestId } : {}) };
}
