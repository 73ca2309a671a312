// The login form: who is signed in (GET current_user), log in with a login and password, log out.
import { fetchJson, postJson } from './api.js';
import { byId } from './dom.js';

interface User { id: number; keyname: string; display_name?: string }

/** NextGIS Web answers current_user for anonymous callers with its guest user. */
const isGuest = (u: User) => u.keyname === 'guest';

/** Shows who is signed in and wires the form; resolves whether the caller is a signed-in user. */
export async function setUpLogin(): Promise<boolean> {
  const form = byId<HTMLFormElement>('login');
  const user = await fetchJson<User>('api/component/auth/current_user');
  const guest = isGuest(user);
  byId('user').textContent = guest ? '' : `Signed in as ${user.display_name || user.keyname}`;
  byId('credentials').hidden = !guest;
  byId('login-button').hidden = !guest;
  byId('logout-button').hidden = guest;
  form.hidden = false;

  // What the caller may see changes with who they are: reload the page to start again from the tree.
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    try {
      await postJson('api/component/auth/login', { login: data.get('login'), password: data.get('password') });
      location.reload();
    } catch (err) {
      byId('login-error').textContent = (err as Error).message;
    }
  });
  byId('logout-button').addEventListener('click', async () => {
    try {
      await postJson('api/component/auth/logout', {});
      location.reload();
    } catch (err) {
      byId('login-error').textContent = (err as Error).message;
    }
  });
  return !guest;
}
