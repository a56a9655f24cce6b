import { writeFile } from 'node:fs/promises';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { FerryError } from '../../errors.js';
import { EXIT } from '../../exit-codes.js';
import type { CommandContext } from '../context.js';

/**
 * Makes an X25519 age identity (readable by the age CLI). The identity goes
 * to `--out` (created 0600, never overwritten) or stdout; the recipient to
 * put under `encryption.recipients` is printed on stderr as age-keygen does.
 */
export async function keygenCommand(ctx: CommandContext, opts: { out?: string }): Promise<number> {
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  const text = `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n${identity}\n`;
  if (opts.out) {
    try {
      await writeFile(opts.out, text, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      throw new FerryError(`cannot write ${opts.out}: ${(err as NodeJS.ErrnoException).code === 'EEXIST' ? 'file exists' : (err as Error).message}`);
    }
    ctx.output(`Public key: ${recipient}`, { recipient, identity_file: opts.out });
  } else if (ctx.options.json) {
    ctx.output('', { recipient, identity });
  } else {
    process.stderr.write(`Public key: ${recipient}\n`);
    process.stdout.write(text);
  }
  return EXIT.OK;
}
