import { makeCallbackBody } from '../../shared/make-wire-format.ts';
import type { RunRecord } from '../../store/index.ts';
import { toRun } from '../runs/run-view.ts';

/**
 * The bodies POSTed to a run's `callbackUrl`. Pure functions of the stored run, so any worker
 * process renders them without the API. A run records its format in `options.callbackBody`; runs
 * without one get the Runyard run, as before. The compat formats live in `shared/` (leaf modules
 * the compat surfaces render their answers with too), never in `api/`.
 */

/** The callback body of an ended run, serialised once: a signature covers exactly these bytes. */
export function renderCallbackBody(record: RunRecord): string {
  const run = toRun(record);
  const format = record.options.callbackBody;
  if (format === undefined) return JSON.stringify(run);
  switch (format.format) {
    case 'make':
      return JSON.stringify(makeCallbackBody(run, format.threadId));
  }
}
