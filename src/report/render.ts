// Writes a comparison's results and reports to a directory, and rebuilds reports from saved results.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileNotFoundError, SasError } from '../common/errors.js';
import { renderCsv } from './csv.js';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import { parseCompareResults, type CompareResults } from './types.js';

/** File names inside a results directory. */
export const REPORT_FILES = {
  json: 'results.json',
  csv: 'results.csv',
  md: 'report.md',
  html: 'report.html',
} as const;

/** Absolute-or-relative paths of the files a report wrote. */
export interface ReportPaths {
  readonly json: string;
  readonly csv: string;
  readonly md: string;
  readonly html: string;
}

function pathsIn(dir: string): ReportPaths {
  return {
    json: join(dir, REPORT_FILES.json),
    csv: join(dir, REPORT_FILES.csv),
    md: join(dir, REPORT_FILES.md),
    html: join(dir, REPORT_FILES.html),
  };
}

/**
 * Reads and validates a results.json. Throws FileNotFoundError (FILE_NOT_FOUND) when it is missing,
 * SasError CONFIG_PARSE when it is not JSON, ConfigError (CONFIG_INVALID, context.field and
 * context.file set) when a field is wrong.
 */
export async function loadResults(file: string): Promise<CompareResults> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new FileNotFoundError(file, 'results file');
    throw e;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SasError('CONFIG_PARSE', `results file ${file} is not valid JSON: ${(e as Error).message}`, { context: { file }, cause: e });
  }
  return parseCompareResults(value, file);
}

async function writeDerived(results: CompareResults, paths: ReportPaths): Promise<void> {
  await writeFile(paths.csv, renderCsv(results));
  await writeFile(paths.md, renderMarkdown(results));
  await writeFile(paths.html, await renderHtml(results));
}

/**
 * Validates `results` (ConfigError naming the field; an empty run list is rejected) and writes
 * results.json, results.csv, report.md and report.html to `outDir` (created if needed; existing
 * files are overwritten). Output depends on `results` only, never on the time of rendering.
 */
export async function writeReport(results: CompareResults, outDir: string): Promise<ReportPaths> {
  const valid = parseCompareResults(results);
  const paths = pathsIn(outDir);
  await mkdir(outDir, { recursive: true });
  await writeFile(paths.json, JSON.stringify(valid, null, 2) + '\n');
  await writeDerived(valid, paths);
  return paths;
}

/**
 * Regenerates results.csv, report.md and report.html from `resultsDir/results.json` (left as is).
 * For results written by {@link writeReport}, the csv and md are byte-identical to the originals.
 */
export async function rebuildReport(resultsDir: string): Promise<ReportPaths> {
  const paths = pathsIn(resultsDir);
  const results = await loadResults(paths.json);
  await writeDerived(results, paths);
  return paths;
}
