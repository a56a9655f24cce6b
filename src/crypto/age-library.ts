/**
 * age-encryption, loaded on first use: with its post-quantum recipients it is
 * the largest library Ferry uses (about 15 MiB of a process's memory), and
 * most runs and restores of an unencrypted archive never need it.
 */
export function ageLibrary(): Promise<typeof import('age-encryption')> {
  return (loaded ??= import('age-encryption'));
}

let loaded: Promise<typeof import('age-encryption')> | undefined;
