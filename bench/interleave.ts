/**
 * Runs every case once per round, in the same order each round, and keeps
 * what each returned after the first (warm-up) round: `rounds` samples per
 * case, interleaved so that machine noise hits every case alike.
 */
export async function interleave<S>(cases: Record<string, () => Promise<S> | S>, rounds: number): Promise<Record<string, S[]>> {
  const samples: Record<string, S[]> = {};
  for (let round = 0; round <= rounds; round++) {
    for (const [name, run] of Object.entries(cases)) {
      const s = await run();
      if (round > 0) (samples[name] ??= []).push(s);
    }
  }
  return samples;
}

/** The median (upper one for an even count) of a non-empty list. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
