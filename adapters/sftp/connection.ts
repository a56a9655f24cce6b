import { connect as tcpConnect, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Logger } from '../../src/log.js';
import { abortedError, StorageError } from '../../src/storage/errors.js';
import { fingerprint, hostKeyAccepted, hostKeyAlgorithms, hostKeyError, keyType, type HostKeyPolicy } from '../ssh/host-key.js';
import { signatureAlgorithms } from '../ssh/public-key.js';
import { fromSftpError } from './errors.js';
import { SftpSession } from './session.js';

export interface SftpConnectOptions {
  host: string;
  port: number;
  user: string;
  /** OpenSSH private key text. */
  privateKey?: string;
  passphrase?: string;
  /** Sent as a password, or as the answer to every keyboard-interactive prompt, whichever the server offers. */
  password?: string;
  hostKey: HostKeyPolicy;
  log: Logger;
  /** TCP connect plus SSH handshake and login, in milliseconds (default 20 s). */
  timeoutMs?: number;
}

/** ssh2's host key algorithms, in its order of preference. */
const ALL_HOST_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

/** For fingerprint pins: the algorithms under which the server showed the pinned key, so later connections ask for it at once. */
const learned = new WeakMap<HostKeyPolicy, string[]>();

/**
 * Logs in over SSH and opens the SFTP subsystem. The client offers only the
 * host key algorithms of the pinned keys, so a server with several host keys
 * (ed25519, ECDSA, RSA) presents the one that was pinned. A `SHA256:`
 * fingerprint does not say its key type: when the server shows a key of
 * another type, the login is repeated without that type until the pinned
 * key shows up or every type was seen. A refused key rejects with HOST_KEY
 * showing the fingerprints the server presented; other failures reject with
 * AUTH, CONFIG, UNAVAILABLE or ABORTED.
 */
export async function openSftp(target: string, o: SftpConnectOptions, signal?: AbortSignal): Promise<SftpSession> {
  let algorithms = learned.get(o.hostKey) ?? hostKeyAlgorithms(o.hostKey);
  const seen: Buffer[] = [];
  for (;;) {
    const result = await login(target, o, algorithms, signal);
    if ('session' in result) {
      if (o.hostKey.kind === 'pinned' && o.hostKey.fingerprints.length > 0) learned.set(o.hostKey, signatureAlgorithms(keyType(result.key)));
      return result.session;
    }
    seen.push(result.refused);
    const probing = o.hostKey.kind === 'pinned' && o.hostKey.fingerprints.length > 0;
    const tried = new Set(seen.flatMap((k) => signatureAlgorithms(keyType(k))));
    algorithms = ALL_HOST_KEY_ALGORITHMS.filter((a) => !tried.has(a));
    if (!probing || algorithms.length === 0) throw hostKeyError(target, o, o.hostKey, seen);
  }
}

type LoginResult = { session: SftpSession; key: Buffer } | { refused: Buffer };

function login(target: string, o: SftpConnectOptions, serverHostKey: string[] | undefined, signal?: AbortSignal): Promise<LoginResult> {
  const timeoutMs = o.timeoutMs ?? 20_000;
  const where = `connecting to ${o.user}@${o.host}:${o.port}`;
  return openSocket(target, o.host, o.port, timeoutMs, signal).then((sock) => new Promise<LoginResult>((resolve, reject) => {
    const client = new ssh2.Client();
    let offered: Buffer | undefined;
    let refused = false;
    let settled = false;
    const onAbort = () => fail(abortedError(target, signal, where));
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      sock.destroy();
      client.end();
      if (refused && offered) return resolve({ refused: offered });
      if (err instanceof StorageError) return reject(err);
      const level = (err as { level?: unknown }).level;
      if (level === 'handshake' && serverHostKey && !offered) {
        const types = [...new Set(serverHostKey.map((a) => (a.startsWith('rsa-sha2-') ? 'ssh-rsa' : a)))].join(', ');
        return reject(new StorageError('HOST_KEY', target, `${o.host}:${o.port} has no host key of the pinned type (${types}); pin one of the keys it offers`, { cause: err }));
      }
      reject(fromSftpError(target, err, where));
    };
    // Stays attached for the life of the client: ssh2 may report more than one error, and an unheard one would crash.
    client.on('error', fail);
    client.on('close', () => fail(Object.assign(new Error('the server closed the connection during login'), { code: 'ECONNRESET' })));
    client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => finish(prompts.map(() => o.password ?? '')));
    signal?.addEventListener('abort', onAbort, { once: true });
    client.once('ready', () => {
      client.sftp((err, sftp) => {
        if (err) {
          // A channel refused for lack of resources carries a reason code; a refused subsystem does not.
          const transient = typeof (err as { reason?: unknown }).reason === 'number';
          return fail(transient
            ? Object.assign(new Error(`the server refused a channel: ${err.message}`), { code: 'ECONNRESET' })
            : new StorageError('CONFIG', target, `${where}: the server does not run the SFTP subsystem for ${o.user} (${err.message})`, { cause: err }));
        }
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        resolve({ session: new SftpSession(client, sftp), key: offered! });
      });
    });
    try {
      client.connect({
        sock,
        host: o.host,
        port: o.port,
        username: o.user,
        privateKey: o.privateKey,
        passphrase: o.passphrase,
        password: o.password,
        tryKeyboard: o.password !== undefined,
        agent: o.privateKey === undefined && o.password === undefined ? process.env.SSH_AUTH_SOCK : undefined,
        readyTimeout: timeoutMs,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
        algorithms: serverHostKey ? { serverHostKey: serverHostKey as never } : undefined,
        hostVerifier: (key: Buffer) => {
          offered = Buffer.from(key);
          refused = !hostKeyAccepted(o.hostKey, offered);
          if (!refused && o.hostKey.kind === 'insecure') {
            o.log.warn(`target "${target}": accepted unverified host key ${fingerprint(offered)} of ${o.host}:${o.port}`);
          }
          return !refused;
        },
      });
    } catch (err) {
      // ssh2 refuses a key it cannot parse (or an encrypted one without its passphrase) before connecting.
      fail(new StorageError('CONFIG', target, `${where}: cannot use private_key: ${(err as Error).message}`, { cause: err }));
    }
  }));
}

/**
 * A TCP socket with Nagle off (with it on, uploads crawl at ~1.7 MB/s
 * because each SFTP write waits for a delayed ACK) and TCP keepalive on.
 */
function openSocket(target: string, host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(target, signal, `connecting to ${host}:${port}`));
    const sock = tcpConnect({ host, port });
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: unknown) => {
      done();
      sock.destroy();
      reject(err instanceof StorageError ? err : fromSftpError(target, err, `connecting to ${host}:${port}`));
    };
    const onAbort = () => fail(abortedError(target, signal, `connecting to ${host}:${port}`));
    const timer = setTimeout(
      () => fail(Object.assign(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    sock.once('error', fail);
    sock.once('connect', () => {
      done();
      sock.removeListener('error', fail);
      sock.setNoDelay(true);
      sock.setKeepAlive(true, 30_000);
      resolve(sock);
    });
  });
}

/** Rejects with ABORTED when `signal` has fired. */
export function checkAborted(target: string, signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(target, signal);
}
