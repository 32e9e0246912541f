import { useState } from 'preact/hooks';
import { api, ApiError, Me } from '../api';

export function Login({ onSignedIn, notice }: { onSignedIn: (token: string, me: Me) => void; notice?: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return;
    setBusy(true);
    setError(null);
    try {
      const me = await api<Me>('/v1/me', { token: t });
      onSignedIn(t, me);
    } catch (err) {
      const a = err as ApiError;
      setError(a.status === 401 ? 'This token is unknown or revoked.' : (a.detail ?? String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="login">
      <h1>fleetcompat dashboard</h1>
      <p>
        RSDP placement decisions for the Xen PVH guests of the fleet: totals, upgrade waves, the guests that need
        attention, and what a different target would do.
      </p>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <form onSubmit={(e) => void submit(e)} class="card" data-testid="login-form">
        <h2>Sign in</h2>
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          required
        />
        <p class="hint">
          A bearer token of this service (<code>fleetcompat tokens create --role planner</code>, or the admin token{' '}
          <code>npm start</code> prints). It is kept in this tab only (session storage) and sent to this service's API,
          nothing else.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
