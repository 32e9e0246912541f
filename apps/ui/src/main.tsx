// The planner's dashboard: one page, routes in the fragment, the API of this service with the
// token pasted once (kept in this tab's session storage). What the token's role may not see is
// not shown: the pages and links follow GET /v1/me.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, Me, onSignedOut, storedToken, storeToken } from './api';
import { Loading, NotForRole } from './components';
import { live, useLive } from './live';
import { AttentionPage } from './pages/attention';
import { FleetPage } from './pages/fleet';
import { GuestPage } from './pages/guest';
import { HostPage } from './pages/host';
import { Login } from './pages/login';
import { WavesPage } from './pages/waves';
import { WhatIfPage } from './pages/whatif';
import { href, navigate, Route, useRoute } from './router';

const TITLES: Record<string, string> = {
  fleet: 'Fleet',
  waves: 'Waves',
  attention: 'Attention',
  'what-if': 'What-if',
  guest: 'Guest',
  host: 'Host',
};

function LiveIndicator() {
  const { state } = useLive();
  const text = {
    off: 'not live',
    connecting: 'connecting…',
    live: 'live',
    polling: 'polling (live updates unavailable)',
  }[state];
  return (
    <span class={`live live-${state}`} role="status" data-testid="live-state" data-state={state}>
      <span class="dot" aria-hidden="true" />
      {text}
    </span>
  );
}

function defaultPage(me: Me): string {
  if (me.may.fleet) return href('fleet');
  if (me.may.hosts === 'own' && me.hostId) return href('host', me.hostId);
  return href('nothing');
}

function Page({ route, me }: { route: Route; me: Me }) {
  const reader = me.may.fleet;
  switch (route.page) {
    case 'fleet':
      return reader ? <FleetPage /> : <NotForRole role={me.role} what="Fleet" />;
    case 'waves':
      return reader ? <WavesPage route={route} /> : <NotForRole role={me.role} what="Waves" />;
    case 'attention':
      return reader ? <AttentionPage route={route} /> : <NotForRole role={me.role} what="Attention" />;
    case 'what-if':
      return me.may.whatIf ? <WhatIfPage /> : <NotForRole role={me.role} what="What-if" />;
    case 'guest':
      return me.may.guests && route.id ? (
        <GuestPage
          key={`${route.id}|${route.params.get('host') ?? ''}`}
          guestId={route.id}
          hostId={route.params.get('host')}
        />
      ) : (
        <NotForRole role={me.role} what="Guest" />
      );
    case 'host':
      if (!route.id) return <NotForRole role={me.role} what="Host" />;
      if (me.may.hosts === 'all' || (me.may.hosts === 'own' && route.id === me.hostId))
        return <HostPage key={route.id} hostId={route.id} me={me} />;
      return <NotForRole role={me.role} what={`Host ${route.id}`} />;
    default:
      return (
        <div class="card">
          <h1>Nothing to show</h1>
          <p>
            This token's role ({me.role}) has no page here: it may only write to the service
            {me.kind === 'ci' ? ' (kernel builds)' : ''}.
          </p>
        </div>
      );
  }
}

function App() {
  const route = useRoute();
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(Boolean(storedToken()));
  const [notice, setNotice] = useState<string | null>(null);

  const signIn = (token: string, who: Me) => {
    storeToken(token);
    setNotice(null);
    setMe(who);
    if (!route.page || route.page === 'login') navigate(defaultPage(who), true);
  };
  const signOut = (why: string | null) => {
    storeToken(null);
    live.stop();
    setMe(null);
    setNotice(why);
  };

  useEffect(() => onSignedOut((why) => signOut(`Signed out: ${why}.`)), []);
  useEffect(() => {
    const token = storedToken();
    if (!token) return;
    api<Me>('/v1/me')
      .then((who) => signIn(token, who))
      .catch((e: { status?: number; detail?: string; toString(): string } | null | undefined) =>
        setNotice(e?.status === 401 ? null : `The service did not answer: ${e?.detail ?? String(e)}`),
      )
      .finally(() => setChecking(false));
  }, []);
  useEffect(() => {
    if (me?.may.live) live.start();
    return () => live.stop();
  }, [me]);
  useEffect(() => {
    const title = TITLES[route.page];
    document.title = me
      ? `${title ? `${title}${route.id ? ` ${route.id}` : ''} · ` : ''}fleetcompat`
      : 'Sign in · fleetcompat';
    if (me && !route.page) navigate(defaultPage(me), true);
  }, [route, me]);

  if (checking && !me)
    return (
      <main id="main">
        <Loading what="the session" />
      </main>
    );
  if (!me) return <Login onSignedIn={signIn} notice={notice} />;

  const nav: [string, string][] = me.may.fleet
    ? [
        ['fleet', 'Fleet'],
        ['waves', 'Waves'],
        ['attention', 'Attention'],
        ['what-if', 'What-if'],
      ]
    : me.hostId
      ? [[`host/${encodeURIComponent(me.hostId)}`, `Host ${me.hostId}`]]
      : [];
  const current = route.page === 'host' && !me.may.fleet ? `host/${encodeURIComponent(route.id ?? '')}` : route.page;
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to the content
      </a>
      <header class="top">
        <a class="brand" href={defaultPage(me)}>
          fleetcompat
        </a>
        <nav aria-label="Pages">
          <ul>
            {nav.map(([page, label]) => (
              <li key={page}>
                <a
                  href={`#/${page}`}
                  aria-current={current === page ? 'page' : undefined}
                  data-testid={`nav-${page.split('/')[0]}`}
                >
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <LiveIndicator />
          <span class="role" data-testid="role">
            {me.role}
            {me.name ? ` (${me.name})` : ''}
          </span>
          <button type="button" class="secondary" onClick={() => signOut(null)} data-testid="sign-out">
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} me={me} />
      </main>
      <footer class="foot">
        <a href="/docs">API documentation</a> · the numbers are the API's (<code>/v1/summary</code>,{' '}
        <code>/v1/waves</code>, <code>/v1/attention</code>, …)
      </footer>
    </>
  );
}

render(<App />, document.getElementById('app')!);
