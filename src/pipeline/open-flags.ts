import { constants } from 'node:fs';

/** Flags for opening anything the walk found: never follow a symlink in the last component, never block on a FIFO. */
export const OPEN_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
