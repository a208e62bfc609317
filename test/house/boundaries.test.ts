// The direction rule (style.md rule 2, ADR 0001): which src/ folders may import which. Fails on a forbidden import.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(new URL('../..', import.meta.url).pathname, 'src');

/**
 * What each top-level folder of src/ may import from the others. Lower layers know nothing of the
 * higher ones: tasks and partitioners never import the engine, the rl-agent imports neither.
 */
export const ALLOWED: Record<string, readonly string[]> = {
  common: [],
  tasks: ['common'],
  'rl-agent': ['common'],
  partitioners: ['common', 'tasks', 'rl-agent'],
  engine: ['common', 'tasks', 'partitioners'],
  report: ['common'],
  connectors: ['common', 'tasks', 'partitioners', 'engine', 'rl-agent', 'report'],
  cli: ['common', 'tasks', 'partitioners', 'engine', 'rl-agent', 'report', 'connectors'],
};

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The top-level src/ folder of `file`. */
const layerOf = (file: string): string => path.relative(root, file).split(path.sep)[0];

/** Every relative import (static, dynamic, `export … from`) in `text` that leaves `file`'s layer, with its target layer. */
export function crossings(file: string, text: string): Array<{ spec: string; to: string }> {
  const out: Array<{ spec: string; to: string }> = [];
  const re = /(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const spec = m[1] ?? m[2];
    const target = path.resolve(path.dirname(file), spec);
    if (!target.startsWith(root + path.sep)) continue;
    const to = layerOf(target);
    if (to !== layerOf(file)) out.push({ spec, to });
  }
  return out;
}

describe('import direction', () => {
  const files = tsFiles(root);

  it('every src/ file is in a known layer', () => {
    const unknown = files.map(layerOf).filter((l) => !(l in ALLOWED));
    expect(unknown).toEqual([]);
  });

  it('no layer imports a layer it may not (tasks and partitioners never the engine; rl-agent neither)', () => {
    const bad: string[] = [];
    for (const f of files) {
      const from = layerOf(f);
      for (const c of crossings(f, readFileSync(f, 'utf8'))) if (!ALLOWED[from].includes(c.to)) bad.push(`${path.relative(root, f)} imports ${c.spec} (${from} -> ${c.to})`);
    }
    expect(bad).toEqual([]);
  });

  it('the check sees a forbidden import (a partitioner importing the engine, statically or dynamically)', () => {
    const f = path.join(root, 'partitioners', 'learned', 'x.ts');
    expect(crossings(f, "import type { JobConfig } from '../../engine/config.js';")).toEqual([{ spec: '../../engine/config.js', to: 'engine' }]);
    expect(crossings(f, "const m = await import('../../engine/job.js');")).toEqual([{ spec: '../../engine/job.js', to: 'engine' }]);
    expect(crossings(f, "export { a } from '../shared/y.js';")).toEqual([]);
    expect(ALLOWED.partitioners.includes('engine')).toBe(false);
  });
});
