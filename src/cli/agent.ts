// `sas agent`: serves the RL agent over websockets (startAgentServer) until SIGINT/SIGTERM.
import { randomBytes } from 'node:crypto';
import { startAgentServer, type AgentServer, type AgentServerEvent } from '../rl-agent/index.js';
import { resolveCheckpoint } from '../partitioners/learned/paths.js';

/** Options of `sas agent`. */
export interface AgentCommandOptions {
  readonly host?: string;
  readonly port?: number;
  /** Shared secret; a random one is generated and printed when absent. */
  readonly token?: string;
  /** Checkpoint sessions start from (`default`, `none` or a directory). Default `default`. */
  readonly checkpoint?: string;
  readonly evaluate?: boolean;
  readonly checkpointDir?: string;
  readonly log?: (line: string) => void;
}

/**
 * Starts the agent server (127.0.0.1 unless `host` is given) and returns it with the token in use.
 * Events are logged one JSON line each.
 */
export async function agentCommand(o: AgentCommandOptions): Promise<{ server: AgentServer; token: string }> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const token = o.token ?? randomBytes(16).toString('hex');
  const checkpoint = resolveCheckpoint(o.checkpoint ?? 'default');
  const server = await startAgentServer({
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 49985,
    token,
    mode: o.evaluate ? 'evaluate' : 'train',
    ...(checkpoint ? { checkpoint } : {}),
    ...(o.checkpointDir ? { checkpointDir: o.checkpointDir } : {}),
    onEvent: (e: AgentServerEvent) => {
      if (e.type !== 'step') log(JSON.stringify(e));
    },
  });
  return { server, token };
}
