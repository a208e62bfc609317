// Convenience constructor: preset + overrides → a validated config → a SAC-N agent on an initialised backend.
import { initBackend } from './backend.js';
import { resolveAgentConfig, type PresetName } from './config.js';
import { SacAgent, type AgentDims } from './sac.js';

/**
 * Initialises TF.js (SAS_TF_BACKEND or auto) and returns a new SAC-N agent for `dims`. `overrides`
 * is validated (ConfigError naming the field, prefix `agent`); `preset` defaults to 'sac'.
 */
export async function createSacAgent(dims: AgentDims, overrides: unknown = {}, preset: PresetName = 'sac'): Promise<SacAgent> {
  await initBackend();
  return new SacAgent(resolveAgentConfig(preset, overrides), dims);
}
