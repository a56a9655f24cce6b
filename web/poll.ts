import { api, type RunRecord } from './api.js';

/** Reads the run record every half second, shows each state, and resolves when the run has finished. */
export async function waitForRun(id: string, show: (r: RunRecord) => void): Promise<RunRecord> {
  for (;;) {
    const rec = await api<RunRecord>(`api/runs/${encodeURIComponent(id)}`);
    if (rec.state === 'finished') return rec;
    show(rec);
    await new Promise((r) => setTimeout(r, 500));
  }
}
