// `sas agent`: serves the RL agent over websockets (startAgentServer) until SIGINT/SIGTERM/SIGHUP or its parent's exit.
import { randomBytes } from 'node:crypto';
import { ConfigError, SasError } from '../common/errors.js';
import { STOP_EXIT_CODES, watchForStop, type StopWatchOptions } from '../common/lifecycle.js';
import { startAgentServer, type AgentServer, type AgentServerEvent } from '../rl-agent/index.js';
import { resolveCheckpoint } from '../partitioners/learned/paths.js';
import { intOption } from './worker.js';

/** Options of `sas agent` (numbers may arrive as the CLI's strings; each is checked naming its flag). */
export interface AgentCommandOptions {
  readonly host?: string;
  readonly port?: number | string;
  /** Shared secret, 8-1024 characters; a random one is generated and printed when absent. */
  readonly token?: string;
  /** Checkpoint sessions start from (`default`, `none` or a directory). Default `default`. */
  readonly checkpoint?: string;
  readonly evaluate?: boolean;
  readonly checkpointDir?: string;
  /** Sessions held at once (server default 8). */
  readonly maxSessions?: number | string;
  /** Open connections at once (server default 64). */
  readonly maxConnections?: number | string;
  /** Time a new connection has to send its hello, ms (server default 5000). */
  readonly helloTimeout?: number | string;
  /** Time a disconnected named session is kept, ms (server default 600000). */
  readonly sessionTtl?: number | string;
  readonly log?: (line: string) => void;
}

/**
 * Starts the agent server (127.0.0.1 unless `host` is given) and returns it with the token in use.
 * The checkpoint is checked before the server listens (a missing one is FILE_NOT_FOUND, a corrupt one
 * CHECKPOINT_INVALID). Events are logged one JSON line each.
 */
export async function agentCommand(o: AgentCommandOptions): Promise<{ server: AgentServer; token: string }> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const port = o.port === undefined ? 49985 : intOption(o.port, 'port', 0);
  if (port > 65535) throw new ConfigError(`--port: expected an integer in [0, 65535], got ${port}`, { field: 'port' });
  const int = (v: number | string | undefined, flag: string, min: number): number | undefined => (v === undefined ? undefined : intOption(v, flag, min));
  const limits = {
    maxSessions: int(o.maxSessions, 'max-sessions', 1),
    maxConnections: int(o.maxConnections, 'max-connections', 1),
    helloTimeoutMs: int(o.helloTimeout, 'hello-timeout', 1),
    sessionTtlMs: int(o.sessionTtl, 'session-ttl', 0),
  };
  const token = o.token ?? randomBytes(16).toString('hex');
  const checkpoint = resolveCheckpoint(o.checkpoint ?? 'default');
  // The server validates its options; a problem with one that has a flag is reported under the flag.
  const flags: Record<string, string> = { 'agentServer.token': '--token', 'agentServer.maxSessions': '--max-sessions', 'agentServer.maxConnections': '--max-connections', 'agentServer.helloTimeoutMs': '--hello-timeout', 'agentServer.sessionTtlMs': '--session-ttl', 'agentServer.host': '--host', 'agentServer.checkpoint': '--checkpoint' };
  const server = await startAgentServer({
    host: o.host ?? '127.0.0.1',
    port,
    token,
    mode: o.evaluate ? 'evaluate' : 'train',
    ...(checkpoint ? { checkpoint } : {}),
    ...(o.checkpointDir ? { checkpointDir: o.checkpointDir } : {}),
    ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)),
    onEvent: (e: AgentServerEvent) => {
      if (e.type !== 'step') log(JSON.stringify(e));
    },
  }).catch((e: unknown) => {
    const field = e instanceof SasError ? e.context.field : undefined;
    const flag = typeof field === 'string' ? flags[field] : undefined;
    if (!flag || !(e instanceof SasError)) throw e;
    const what = e.message.startsWith(`${field}: `) ? e.message.slice(String(field).length + 2) : typeof e.context.expected === 'string' ? e.context.expected : e.message;
    throw new SasError(e.code, `${flag}: ${what}${flag === '--token' ? ` (got ${o.token?.length ?? 0})` : ''}`, { context: { ...e.context, field: flag.slice(2) } });
  });
  return { server, token };
}

/**
 * Runs `server` until SIGINT, SIGTERM, SIGHUP or the parent's exit (watchForStop), then closes it
 * (final checkpoints are written, each by rename), writes one line to `log` and returns the exit code:
 * 130, 143, 129 (STOP_EXIT_CODES).
 */
export async function serveUntilStopped(server: AgentServer, log: (line: string) => void = (l) => process.stderr.write(l + '\n'), watch: StopWatchOptions = {}): Promise<number> {
  const reason = await watchForStop(watch).stopped;
  await server.close();
  log(`sas agent: ${reason === 'parent_exit' ? 'the parent process exited' : `received ${reason}`}; server closed`);
  return STOP_EXIT_CODES[reason];
}
