// Public surface of the report subsystem: result model, machine/version info, report writing.
export {
  CompareResultsSchema,
  MachineInfoSchema,
  NamedParamsSchema,
  RunResultSchema,
  RunSummarySchema,
  TimelinePointSchema,
  VersionInfoSchema,
  finiteOrNull,
  parseCompareResults,
} from './types.js';
export type { Cell, CompareResults, MachineInfo, NamedParams, RunResult, RunSummary, TimelinePoint, VersionInfo } from './types.js';
export { machineInfo, packageRoot, versionInfo } from './machine.js';
export { summaryFromSlides, timelineFromSlides } from './from-slides.js';
export type { SlideSummaryOptions } from './from-slides.js';
export { HASH_PARTITIONER, IDEAL_WORKLOAD, runThroughput, summarize } from './aggregate.js';
export type { ComparisonSummary, Ideal, PartitionerRow, Setting, ThroughputMeasure, WorkloadGroup } from './aggregate.js';
export { CSV_COLUMNS, renderCsv } from './csv.js';
export { renderMarkdown } from './markdown.js';
export { chartSpecs, renderCharts, renderSvg } from './charts.js';
export type { ChartSpec, RenderedChart } from './charts.js';
export { renderHtml } from './html.js';
export { REPORT_FILES, loadResults, rebuildReport, writeReport } from './render.js';
export type { ReportPaths } from './render.js';
