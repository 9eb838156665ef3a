import type { RunRecord } from '../record';

/** What must not depend on how many attempts a run took, or where it ran (timings aside). */
export function comparableRecord(record: RunRecord) {
  return {
    runId: record.runId,
    history: record.history.map(({ imagesPerSec: _, ...point }) => point),
    metrics: record.metrics,
    artifacts: record.artifacts.map(({ name, sha256, bytes }) => ({ name, sha256, bytes })),
    failure: record.failure,
  };
}
