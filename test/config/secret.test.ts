import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { redact } from '../../src/config/redact.js';
import { configSchema } from '../../src/config/schema.js';
import { secret, secretKeys } from '../../src/config/secret.js';

describe('secrets are marked in the schema, and redaction follows the marks', () => {
  it('every secret of every target type, source, notifier, the API and encryption is known from the config schema alone', () => {
    expect([...secretKeys(configSchema)].sort()).toEqual(['access_token', 'bot_token', 'credentials', 'hmac_secret', 'passphrase', 'password', 'private_key', 'secret_access_key', 'token', 'webhook_url']);
  });

  it('secrets nested in unions, arrays and optional objects are found', () => {
    const schema = z.object({
      list: z.array(z.discriminatedUnion('type', [z.object({ type: z.literal('a'), ...secret('alpha', 'a') }), z.object({ type: z.literal('b'), plain: z.string() })])),
      deep: z.object({ inner: z.object({ ...secret('beta', 'b') }).optional() }).default({}),
    });
    expect([...secretKeys(schema)].sort()).toEqual(['alpha', 'beta']);
  });

  it('declaring a secret in another schema does not make a same-named key of the config secret', () => {
    secret('not_a_config_secret', 'declared only here');
    expect(secretKeys(configSchema).has('not_a_config_secret')).toBe(false);
    expect(redact({ not_a_config_secret: 'visible' })).toEqual({ not_a_config_secret: 'visible' });
  });

  it('redaction replaces every secret value, wherever it sits, and leaves the rest', () => {
    const out = redact({
      targets: { s3: { type: 's3', bucket: 'b', secret_access_key: 'AWS-SECRET' }, ssh: { type: 'sftp', host: 'h', private_key: 'PEM', password: 'pw' } },
      notify: [{ type: 'webhook', url: 'https://user:pw@hooks.example/x?token=q', hmac_secret: 'HMAC' }],
    });
    const text = JSON.stringify(out);
    for (const s of ['AWS-SECRET', 'PEM', '"pw"', 'HMAC', 'user:pw', 'token=q']) expect(text).not.toContain(s);
    expect(out.targets.s3.bucket).toBe('b');
    expect(out.targets.ssh.private_key).toBe('***');
  });
});
