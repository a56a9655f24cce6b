import { api, ApiError, goSignIn, setCsrf, type SessionInfo } from './api.js';
import { h, replace } from './dom.js';
import { renderOverview } from './views/overview.js';
import { renderSignIn } from './views/sign-in.js';
import { renderTarget } from './views/target.js';

const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;

function signOutButton(): HTMLElement {
  return h('button', {
    type: 'button',
    onclick: () => {
      api('api/session', { method: 'DELETE' }).finally(() => { setCsrf(null); goSignIn(); });
    },
  }, 'Sign out');
}

/** Hash routes: `#/` the overview, `#/target/NAME` one target. Other hashes (the skip link) leave the view alone. */
async function route(session: SessionInfo): Promise<void> {
  const hash = location.hash || '#/';
  if (!hash.startsWith('#/')) return;
  const target = /^#\/target\/(.+)$/.exec(hash);
  try {
    if (target) await renderTarget(main, decodeURIComponent(target[1]!), session);
    else await renderOverview(main);
    main.focus({ preventScroll: true });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    replace(main, h('p', { class: 'error', role: 'alert' }, `Cannot load this page: ${(err as Error).message}`));
  }
}

async function start(): Promise<void> {
  if (location.pathname.endsWith('/sign-in')) {
    renderSignIn(main);
    return;
  }
  const session = await api<SessionInfo>('api/session');
  setCsrf(session.csrf);
  if (session.auth === 'session') replace(nav, signOutButton());
  window.addEventListener('hashchange', () => void route(session));
  await route(session);
}

start().catch((err: unknown) => {
  if (!(err instanceof ApiError && err.status === 401)) replace(main, h('p', { class: 'error', role: 'alert' }, `Cannot start: ${(err as Error).message}`));
});
