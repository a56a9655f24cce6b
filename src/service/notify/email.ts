import { humanSummary } from './payload.js';
import type { Sender } from './senders.js';

const DEFAULT_PORT = { starttls: 587, tls: 465, none: 25 } as const;

/**
 * Sends the human summary as a plain-text mail over SMTP (nodemailer), once,
 * to every `to` address. `tls: starttls` upgrades the connection and fails
 * when the server offers no STARTTLS (the password is never sent in clear);
 * `tls` speaks TLS from the first byte; `none` never encrypts. Certificates
 * are verified against the system's CAs (and NODE_EXTRA_CA_CERTS). The
 * timeout bounds the whole exchange; the error never holds the password.
 */
export const sendEmail: Sender<'email'> = async (n, d, signal) => {
  if (d.kind !== 'result') return;
  const p = d.payload;
  const { title, message } = humanSummary(p);
  const ms = n.timeout * 1000;
  // Loaded here: nodemailer is large, and most runs send no mail.
  const { createTransport } = await import('nodemailer');
  const transport = createTransport({
    host: n.host,
    port: n.port ?? DEFAULT_PORT[n.tls],
    secure: n.tls === 'tls',
    requireTLS: n.tls === 'starttls',
    ignoreTLS: n.tls === 'none',
    auth: n.user ? { user: n.user, pass: n.password ?? '' } : undefined,
    connectionTimeout: ms,
    greetingTimeout: ms,
    socketTimeout: ms,
  });
  const stop = () => transport.close();
  signal.addEventListener('abort', stop, { once: true });
  try {
    await Promise.race([
      transport.sendMail({
        from: n.from,
        to: n.to,
        subject: title,
        text: `${message}\n`,
        headers: { 'X-Ferry-Event': `${p.kind}.${p.status}`, 'X-Ferry-Job': p.job },
      }),
      new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
    ]);
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    const e = err as Error & { code?: string; responseCode?: number };
    const text = n.password ? e.message.split(n.password).join('***') : e.message;
    throw new Error(`SMTP ${n.host}: ${e.code ? `${e.code}: ` : ''}${text}`);
  } finally {
    signal.removeEventListener('abort', stop);
    transport.close();
  }
};
