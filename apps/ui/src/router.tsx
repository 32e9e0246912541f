// Routes in the address's fragment (#/fleet, #/guest/<id>?host=...): the page's state is a link,
// and the server serves one page whatever the route.
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** fleet, waves, attention, what-if, guest, host, or '' */
  readonly page: string;
  /** The id of a guest or host page. */
  readonly id: string | null;
  readonly params: URLSearchParams;
}

export function parseRoute(hash: string = location.hash): Route {
  const text = hash.replace(/^#\/?/, '');
  const [pathPart, query = ''] = text.split('?', 2);
  const segments = pathPart
    .split('/')
    .filter(Boolean)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
  return { page: segments[0] ?? '', id: segments[1] ?? null, params: new URLSearchParams(query) };
}

export function href(page: string, id?: string | null, params?: Record<string, string | undefined | null>): string {
  let h = `#/${page}`;
  if (id) h += `/${encodeURIComponent(id)}`;
  if (params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
    const s = u.toString();
    if (s) h += `?${s}`;
  }
  return h;
}

export function navigate(to: string, replace = false): void {
  if (replace) {
    history.replaceState(null, '', to);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else location.hash = to.replace(/^#/, '');
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute());
  useEffect(() => {
    const on = () => setRoute(parseRoute());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
