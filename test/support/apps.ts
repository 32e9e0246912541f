// Spawns the built apps (dist/apps/<role>/src/main.js) as real Node processes for e2e tests.
// The process, port and waiting helpers are libs/testing's (shared with bench/).
export { AppProcess, appEntry, eventually, freePort, rawGet, ROOT, startApp, type Role } from '@fleetcompat/testing';

/** An admin token for FLEETCOMPAT_BOOTSTRAP_TOKEN in tests that start apps. */
export const TEST_ADMIN_TOKEN = 'e2e-admin-token-0123456789';

/** GET/POST JSON against an app; `token` is sent as `Authorization: Bearer <token>`. */
export async function http(
  url: string,
  init?: { method?: string; body?: unknown; token?: string },
): Promise<{ status: number; body: any; type: string | null; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (init?.body !== undefined) headers['content-type'] = 'application/json';
  if (init?.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(url, {
    method: init?.method ?? 'GET',
    headers,
    body: init?.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, type: res.headers.get('content-type'), headers: res.headers };
}
