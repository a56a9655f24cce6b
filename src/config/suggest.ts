import leven from 'leven';

/**
 * The candidate `word` was most likely meant as (a typo: one letter off in a
 * short word, two or a third of the letters in a longer one, case ignored),
 * or undefined when none is that close.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = (w.length <= 3 ? 1 : Math.max(2, Math.floor(w.length / 3))) + 1;
  for (const c of candidates) {
    const d = leven(w, c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best === word ? undefined : best;
}

/** `; did you mean `keep`?` for a close candidate, else ''. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const c = closest(word, candidates);
  return c === undefined ? '' : `; did you mean \`${c}\`?`;
}
