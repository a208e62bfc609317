// Issue 3 benchmark on the virtual clock: per partitioner and workload, imbalance over busy time,
// sustained and max throughput, replication. Runs params/bench-partitioners.yaml through `sas compare`
// and writes results/bench/partitioners-virtual.json (plus the full report folder beside it).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareCommand, loadCompareConfig } from '../src/cli/compare.js';
import { packageRoot } from '../src/report/index.js';

const cfg = loadCompareConfig(join(packageRoot(), 'params/bench-partitioners.yaml'));
const { dir, results } = await compareCommand(cfg, { name: `partitioners-virtual-${Date.now()}` });
const rows = results.runs.map((r) => ({
  partitioner: r.partitioner,
  workload: r.workload.name,
  imbalanceBusy: r.summary.imbalanceBusy,
  sustainedThroughput: r.summary.sustainedThroughput,
  maxThroughput: r.summary.maxThroughput,
  replication: r.summary.replication,
  latencyP99Ms: r.summary.latencyP99Ms,
}));
mkdirSync('results/bench', { recursive: true });
writeFileSync('results/bench/partitioners-virtual.json', JSON.stringify({ bench: 'partitioners-virtual', at: new Date().toISOString(), report: dir, rows }, null, 2) + '\n');
console.table(rows.map((r) => ({ ...r, imbalanceBusy: r.imbalanceBusy.toFixed(3), replication: r.replication?.toFixed(2), latencyP99Ms: r.latencyP99Ms?.toFixed(1) })));
