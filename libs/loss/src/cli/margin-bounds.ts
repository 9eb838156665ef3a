/**
 * Prints the margin-bound verification report (symbolic, Z3 proof, numeric) and exits 1 if any claim fails,
 * 2 if a check could not run.
 */
import { formatMarginBoundsReport, verifyMarginBounds } from '../bounds';

try {
  const report = await verifyMarginBounds();
  console.log(formatMarginBoundsReport(report));
  process.exitCode = report.passed ? 0 : 1;
} catch (e) {
  console.error(`margin-bounds: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 2;
}
