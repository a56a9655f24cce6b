import { api, ApiError, pageUrl } from '../api.js';
import { h, replace } from '../dom.js';

/** The sign-in form. The token is sent once in a POST body and the field is cleared; the session lives in an HttpOnly cookie. */
export function renderSignIn(main: HTMLElement): void {
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const message = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card sign-in', method: 'post', action: 'sign-in' },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Enter the API token of this Ferry server (api.token or api.token_file).'),
    h('label', { for: 'token' }, 'API token'), input,
    h('button', { type: 'submit' }, 'Sign in'),
    message);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const token = input.value;
    input.value = '';
    replace(message);
    api('api/session', { method: 'POST', body: { token } }).then(
      () => location.replace(pageUrl('./')),
      (err: unknown) => {
        replace(message, err instanceof ApiError && err.status === 401 ? 'That token is not right.' : `Cannot sign in: ${(err as Error).message}`);
        input.focus();
      },
    );
  });
  replace(main, form);
  input.focus();
}
