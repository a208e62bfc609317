// Writes a comparison's results and reports to a directory, and rebuilds reports from saved results.
import { lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OutputError, SasError } from '../common/errors.js';
import { errnoOf, readErrorOf, writeErrorOf } from '../common/files.js';
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
 * Reads and validates a results.json. Throws FileNotFoundError (FILE_NOT_FOUND) when it is missing
 * (SasError FILE_NOT_FOUND naming the reason when it is a folder or unreadable),
 * SasError CONFIG_PARSE when it is not JSON, ConfigError (CONFIG_INVALID, context.field and
 * context.file set) when a field is wrong.
 */
export async function loadResults(file: string): Promise<CompareResults> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw readErrorOf(e, file, 'results file');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SasError('CONFIG_PARSE', `results file ${file} is not valid JSON: ${(e as Error).message}`, { context: { file }, cause: e });
  }
  return parseCompareResults(value, file);
}

let serial = 0;

/**
 * Writes every `[path, text]` so that either all are replaced or none is: each target must be absent or
 * a regular file (else OutputError, nothing written); each text goes to a sibling temp file first, and
 * only when all are written are they renamed into place. Temp files are removed on failure.
 */
async function replaceFiles(files: ReadonlyArray<readonly [string, string]>): Promise<void> {
  for (const [path] of files) {
    let st;
    try {
      st = await lstat(path);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') continue;
      throw writeErrorOf(e, path);
    }
    if (!st.isFile()) throw new OutputError(`${path} is ${st.isDirectory() ? 'a folder' : 'not a regular file'}; refusing to replace it (nothing was written)`, { path, expected: 'a file or a new path', got: st.isDirectory() ? 'folder' : 'other' });
  }
  const temps: string[] = [];
  try {
    for (const [path, text] of files) {
      serial += 1;
      const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${serial}`);
      temps.push(tmp);
      try {
        await writeFile(tmp, text, { flag: 'wx' });
      } catch (e) {
        throw writeErrorOf(e, tmp);
      }
    }
    for (let i = 0; i < files.length; i++) {
      try {
        await rename(temps[i], files[i][0]);
      } catch (e) {
        throw writeErrorOf(e, files[i][0]);
      }
    }
  } finally {
    await Promise.all(temps.map((t) => rm(t, { force: true })));
  }
}

async function writeDerived(results: CompareResults, paths: ReportPaths, json?: string): Promise<void> {
  const files: Array<[string, string]> = [];
  if (json !== undefined) files.push([paths.json, json]);
  files.push([paths.csv, renderCsv(results)], [paths.md, renderMarkdown(results)], [paths.html, await renderHtml(results)]);
  await replaceFiles(files);
}

/**
 * Validates `results` (ConfigError naming the field; an empty run list is rejected) and writes
 * results.json, results.csv, report.md and report.html to `outDir` (created if needed). Existing
 * files are replaced all together or not at all (OutputError when one of them is a folder). Output
 * depends on `results` only, never on the time of rendering.
 */
export async function writeReport(results: CompareResults, outDir: string): Promise<ReportPaths> {
  const valid = parseCompareResults(results);
  const paths = pathsIn(outDir);
  try {
    await mkdir(outDir, { recursive: true });
  } catch (e) {
    throw writeErrorOf(e, outDir);
  }
  await writeDerived(valid, paths, JSON.stringify(valid, null, 2) + '\n');
  return paths;
}

/**
 * Regenerates results.csv, report.md and report.html from `resultsDir/results.json` (left as is). All
 * three are written beside their targets first and renamed only when every one is written, so on a
 * failure (a target that is a folder, a full disk) none of them has changed.
 * For results written by {@link writeReport}, the csv and md are byte-identical to the originals.
 */
export async function rebuildReport(resultsDir: string): Promise<ReportPaths> {
  const paths = pathsIn(resultsDir);
  const results = await loadResults(paths.json);
  await writeDerived(results, paths);
  return paths;
}
