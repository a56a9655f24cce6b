import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { decideOnStart, nextFire, parseSchedule } from '../../src/service/schedule.js';
import { runScheduler, type AccountStore, type Clock } from '../../src/service/scheduler.js';

/** Virtual time: sleeping advances the clock at once, so no test waits for a real cron slot. */
function virtualClock(start: string): Clock & { set(iso: string): void } {
  let t = Date.parse(start);
  return {
    now: () => new Date(t),
    sleep: async (ms) => { t += ms; },
    set: (iso) => { t = Date.parse(iso); },
  };
}

function memoryStore(initial?: string): AccountStore & { until?: Date; slots: Date[] } {
  const store = {
    until: initial ? new Date(initial) : undefined,
    slots: [] as Date[],
    load: async () => store.until,
    save: async (_name: string, until: Date, slot?: Date) => {
      store.until = until;
      if (slot) store.slots.push(slot);
    },
  };
  return store;
}

/** Runs the scheduler until `max` runs happened, recording when (virtual time) each started. */
async function simulate(options: { schedule: string; timezone?: string; start: string; accounted?: string; max: number; jitter?: number }) {
  const clock = virtualClock(options.start);
  const store = memoryStore(options.accounted);
  const controller = new AbortController();
  const runs: { at: string; slot: string; catchUp: boolean }[] = [];
  await runScheduler({
    name: 'backup',
    schedule: parseSchedule(options.schedule, options.timezone),
    jitterSeconds: options.jitter,
    run: async ({ slot, catchUp }) => {
      runs.push({ at: clock.now().toISOString(), slot: slot.toISOString(), catchUp });
      if (runs.length >= options.max) controller.abort();
      return 'done';
    },
  }, { clock, store, log: silentLogger, signal: controller.signal, random: () => 0.5 });
  return { runs, store };
}

describe('the daemon schedule', () => {
  it('fires at the cron time in the configured zone', async () => {
    const { runs } = await simulate({ schedule: '15 3 * * *', timezone: 'Europe/Berlin', start: '2026-06-01T12:00:00Z', accounted: '2026-06-01T12:00:00Z', max: 2 });
    // 03:15 CEST is 01:15 UTC.
    expect(runs).toEqual([
      { at: '2026-06-02T01:15:00.000Z', slot: '2026-06-02T01:15:00.000Z', catchUp: false },
      { at: '2026-06-03T01:15:00.000Z', slot: '2026-06-03T01:15:00.000Z', catchUp: false },
    ]);
  });

  it('runs exactly once to catch up after a downtime that spans three slots, then keeps the schedule', async () => {
    // Down from the evening of June 1st until the afternoon of June 4th: the 2nd, 3rd and 4th at 03:15 were missed.
    const { runs, store } = await simulate({ schedule: '15 3 * * *', timezone: 'Europe/Berlin', start: '2026-06-04T14:00:00Z', accounted: '2026-06-01T20:00:00Z', max: 2 });
    expect(decideOnStart(parseSchedule('15 3 * * *', 'Europe/Berlin'), new Date('2026-06-01T20:00:00Z'), new Date('2026-06-04T14:00:00Z')).missed).toBe(3);
    expect(runs).toEqual([
      { at: '2026-06-04T14:00:00.000Z', slot: '2026-06-04T01:15:00.000Z', catchUp: true },
      { at: '2026-06-05T01:15:00.000Z', slot: '2026-06-05T01:15:00.000Z', catchUp: false },
    ]);
    expect(store.slots.map((d) => d.toISOString())).toEqual(['2026-06-04T01:15:00.000Z', '2026-06-05T01:15:00.000Z']);
  });

  it('does not run on start when no slot was missed', async () => {
    const { runs } = await simulate({ schedule: '15 3 * * *', timezone: 'UTC', start: '2026-06-04T14:00:00Z', accounted: '2026-06-04T03:20:00Z', max: 1 });
    expect(runs).toEqual([{ at: '2026-06-05T03:15:00.000Z', slot: '2026-06-05T03:15:00.000Z', catchUp: false }]);
  });

  it('does not catch up on the very first start, but remembers it to detect later downtime', async () => {
    const { runs, store } = await simulate({ schedule: '0 * * * *', timezone: 'UTC', start: '2026-06-04T14:30:00Z', max: 1 });
    expect(runs[0]).toMatchObject({ at: '2026-06-04T15:00:00.000Z', catchUp: false });
    expect(store.until?.toISOString()).toBe('2026-06-04T15:00:00.000Z');
  });

  it('follows the DST change in the configured zone: 03:00 local moves from 01:00 to 02:00 UTC in autumn', async () => {
    const { runs } = await simulate({ schedule: '0 3 * * *', timezone: 'Europe/Berlin', start: '2026-10-23T12:00:00Z', accounted: '2026-10-23T12:00:00Z', max: 3 });
    expect(runs.map((r) => r.at)).toEqual(['2026-10-24T01:00:00.000Z', '2026-10-25T02:00:00.000Z', '2026-10-26T02:00:00.000Z']);
  });

  it('runs once on a spring-forward night even though 02:30 does not exist there, and once on the repeated autumn hour', async () => {
    const spring = await simulate({ schedule: '30 2 * * *', timezone: 'Europe/Berlin', start: '2026-03-28T12:00:00Z', accounted: '2026-03-28T12:00:00Z', max: 2 });
    expect(spring.runs.map((r) => r.at)).toEqual(['2026-03-29T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
    const autumn = await simulate({ schedule: '30 2 * * *', timezone: 'Europe/Berlin', start: '2026-10-24T12:00:00Z', accounted: '2026-10-24T12:00:00Z', max: 2 });
    expect(autumn.runs.map((r) => r.at)).toEqual(['2026-10-25T01:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  it('counts a catch-up across the DST change as one run', async () => {
    const { runs } = await simulate({ schedule: '0 3 * * *', timezone: 'Europe/Berlin', start: '2026-10-27T09:00:00Z', accounted: '2026-10-23T12:00:00Z', max: 1 });
    expect(runs).toEqual([{ at: '2026-10-27T09:00:00.000Z', slot: '2026-10-27T02:00:00.000Z', catchUp: true }]);
  });

  it('delays each run by the jitter, never before the slot', () => {
    const schedule = parseSchedule('15 3 * * *', 'UTC');
    const now = new Date('2026-06-01T00:00:00Z');
    expect(nextFire(schedule, now, 600, () => 0)!.at.toISOString()).toBe('2026-06-01T03:15:00.000Z');
    expect(nextFire(schedule, now, 600, () => 0.5)!.at.toISOString()).toBe('2026-06-01T03:20:00.000Z');
    expect(nextFire(schedule, now, 600, () => 0.5)!.slot.toISOString()).toBe('2026-06-01T03:15:00.000Z');
  });

  it('leaves an interrupted run unrecorded, so the next start catches it up', async () => {
    const clock = virtualClock('2026-06-01T12:00:00Z');
    const store = memoryStore('2026-06-01T12:00:00Z');
    const controller = new AbortController();
    await runScheduler({
      name: 'backup',
      schedule: parseSchedule('15 3 * * *', 'UTC'),
      run: async () => { controller.abort(); return 'interrupted'; },
    }, { clock, store, log: silentLogger, signal: controller.signal });
    expect(store.slots).toEqual([]);
    clock.set('2026-06-02T08:00:00Z');
    expect(decideOnStart(parseSchedule('15 3 * * *', 'UTC'), store.until, clock.now()).catchUp?.toISOString()).toBe('2026-06-02T03:15:00.000Z');
  });

  it('rejects an invalid cron expression as a config error', () => {
    expect(() => parseSchedule('61 3 * * *', 'UTC')).toThrow(/schedule: invalid cron expression/);
  });
});
