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
export { drainTrimmed, summaryFromSlides, timelineFromSlides } from './from-slides.js';
export type { SlideSummaryOptions } from './from-slides.js';
export { HASH_PARTITIONER, IDEAL_WORKLOAD, MEAN_COLUMN, heatmapCells, meanRelIdeal, runThroughput, settingMeasure, summarize, verdictOf } from './aggregate.js';
export type { ComparisonSummary, HeatCell, Ideal, PartitionerRow, Setting, ThroughputMeasure, Verdict, WorkloadGroup } from './aggregate.js';
export { CSV_COLUMNS, renderCsv } from './csv.js';
export { heatmapTable, renderMarkdown, verdictText } from './markdown.js';
export { LOG_FLOOR, chartSpecs, renderCharts, renderSvg } from './charts.js';
export type { ChartSpec, RenderedChart } from './charts.js';
export { renderHtml } from './html.js';
export { REPORT_FILES, loadResults, rebuildReport, writeReport } from './render.js';
export type { ReportPaths } from './render.js';
