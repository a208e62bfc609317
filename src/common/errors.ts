// All error classes of the project, each with a stable code, a retriable flag and context fields.

/** Every stable error code, in one place: tests, the CLI's exit codes and the agent client read this list. */
export const ERROR_CODES = [
  'CONFIG_INVALID',
  'CONFIG_PARSE',
  'UNKNOWN_NAME',
  'FILE_NOT_FOUND',
  'DATA_INVALID',
  'OUTPUT_INVALID',
  'PROTOCOL_INVALID',
  'AUTH_FAILED',
  'AGENT_UNAVAILABLE',
  'PLAN_INVALID',
  'CHECKPOINT_INVALID',
  'KAFKA_UNAVAILABLE',
  'INVARIANT',
] as const;

/** Stable error codes. Tests assert on these, never on message text. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The codes that mean "the user's input is wrong" (the CLI exits 2 on them). */
export const USER_ERROR_CODES: readonly ErrorCode[] = ['CONFIG_INVALID', 'CONFIG_PARSE', 'UNKNOWN_NAME', 'FILE_NOT_FOUND', 'DATA_INVALID', 'OUTPUT_INVALID', 'PLAN_INVALID', 'CHECKPOINT_INVALID'];

/** True when `c` is one of ERROR_CODES (for codes that arrive over the network). */
export function isErrorCode(c: unknown): c is ErrorCode {
  return typeof c === 'string' && (ERROR_CODES as readonly string[]).includes(c);
}

/**
 * Base error of sas-partitioner. `code` is stable, `retriable` says whether retrying the same call may
 * succeed, and `context` carries the fields a user needs to fix the input (field path, expected, got).
 */
export class SasError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { retriable?: boolean; context?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SasError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = Object.freeze({ ...(options.context ?? {}) });
  }
}

/** A config field is missing, of the wrong type, or out of range. `field` is a dotted path. */
export class ConfigError extends SasError {
  constructor(message: string, context: { field?: string; expected?: string; got?: unknown; file?: string } = {}) {
    super('CONFIG_INVALID', message, { context });
    this.name = 'ConfigError';
  }
}

/** A name (partitioner, workload, task, …) is not one of the registered choices. */
export class UnknownNameError extends SasError {
  constructor(kind: string, name: string, valid: readonly string[], field?: string) {
    super(
      'UNKNOWN_NAME',
      `${field ? `${field}: ` : ''}unknown ${kind} "${name}"; valid ${kind}s are: ${valid.join(', ')}`,
      { context: { kind, name, valid: [...valid], field } },
    );
    this.name = 'UnknownNameError';
  }
}

/** A file the job needs does not exist or cannot be read. */
export class FileNotFoundError extends SasError {
  constructor(path: string, what: string) {
    super('FILE_NOT_FOUND', `${what} not found: ${path}`, { context: { path, what } });
    this.name = 'FileNotFoundError';
  }
}

/** Input data (a CSV line, a dataset record) is malformed. */
export class DataError extends SasError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('DATA_INVALID', message, { context });
    this.name = 'DataError';
  }
}

/** A network message failed validation. The connection may stay open; the message is dropped. */
export class ProtocolError extends SasError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('PROTOCOL_INVALID', message, { context });
    this.name = 'ProtocolError';
  }
}

/**
 * An output target cannot be written safely: it is a file where a folder belongs, a folder of another
 * kind (a dataset where a checkpoint goes), or it holds files the writer did not create. Nothing was
 * written or removed.
 */
export class OutputError extends SasError {
  constructor(message: string, context: { path: string; expected?: string; got?: string; field?: string }) {
    super('OUTPUT_INVALID', message, { context });
    this.name = 'OutputError';
  }
}

/** A checkpoint is missing, malformed, or cannot serve the job (its P, dims or mask do not fit). */
export class CheckpointError extends SasError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('CHECKPOINT_INVALID', message, { context });
    this.name = 'CheckpointError';
  }
}

/** The agent server cannot be reached, or holds no room for another session. Retriable. */
export class AgentUnavailableError extends SasError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('AGENT_UNAVAILABLE', message, { retriable: true, context });
    this.name = 'AgentUnavailableError';
  }
}

/** A migration plan names an unknown worker or bin, or is otherwise inconsistent. Nothing was moved. */
export class PlanError extends SasError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('PLAN_INVALID', message, { context });
    this.name = 'PlanError';
  }
}

/** An internal invariant broke: a bug, never a user error. */
export class InvariantError extends SasError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('INVARIANT', message, { context });
    this.name = 'InvariantError';
  }
}

/** Throws an InvariantError when `cond` is false. */
export function invariant(cond: unknown, message: string, context: Record<string, unknown> = {}): asserts cond {
  if (!cond) throw new InvariantError(message, context);
}
