import { createServer, IncomingMessage, Server } from 'http';
import { AddressInfo } from 'net';
import { validateEvent } from '@fleetcompat/contract';
import { linux417 } from '../../../../libs/kernel-notes/src/test/synth';
import { cli, expectNoTrace, scratchFolder } from '../../test/cli';

// `fleetcompat kernel publish --url` against an HTTP server of the test (what the API answers is
// the test's; the API itself is tested in libs/http-api and the e2e tests).

const { file } = scratchFolder('fleetcompat-publish-http-');

describe('fleetcompat kernel publish', () => {
  let server: Server;
  let url: string;
  const received: { method?: string; url?: string; body: unknown }[] = [];
  let status = 202;
  let responseBody = '{"stored":1,"duplicates":0}';

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ method: req.method, url: req.url, body: JSON.parse(body) });
        res.writeHead(status, { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' });
        res.end(responseBody);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    received.length = 0;
    status = 202;
    responseBody = '{"stored":1,"duplicates":0}';
  });

  it('POSTs the event to {url}/v1/events; a re-run sends the same eventId', async () => {
    const img = file('p417', linux417());
    const env = {
      GITLAB_CI: 'true',
      CI_PROJECT_PATH: 'kernels/linux',
      CI_PIPELINE_ID: '4242',
      CI_PIPELINE_URL: 'https://gitlab.example/kernels/linux/-/pipelines/4242',
    };
    const first = await cli(['kernel', 'publish', '--url', url + '/', img], env);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/published KernelBuildCompleted kernel-build-completed-[0-9a-f]{64}/);
    expect(first.out).toMatch(/RSDP high/);
    const second = await cli(['kernel', 'publish', '--url', url, img], env);
    expect(second.code).toBe(0);
    expect(received).toHaveLength(2);
    expect(received[0].method).toBe('POST');
    expect(received[0].url).toBe('/v1/events');
    const [a, b] = received.map((r) => r.body as { eventId: string; source: string; data: Record<string, unknown> });
    expect(a.eventId).toBe(b.eventId);
    expect(validateEvent(a).ok).toBe(true);
    expect(a.source).toBe('gitlab-ci:kernels/linux');
    expect(a.data.pipeline).toEqual({
      name: 'kernels/linux',
      runId: '4242',
      url: 'https://gitlab.example/kernels/linux/-/pipelines/4242',
    });
    expect(a.data.release).toBe('4.17.0-synthetic');
  });

  it('a rejection by the API: exit 3 with the problem details', async () => {
    status = 400;
    responseBody = JSON.stringify({
      type: 'about:blank',
      title: 'Invalid event',
      status: 400,
      detail: 'data.release: too long',
    });
    const c = await cli(['kernel', 'publish', '--url', url, file('p-rej', linux417())]);
    expect(c.code).toBe(3);
    expect(c.err).toMatch(/HTTP 400 Invalid event: data\.release: too long/);
    expectNoTrace(c);
  });

  it('an unreachable API: exit 3', async () => {
    // a port that was just free: nothing listens there
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const c = await cli([
      'kernel',
      'publish',
      '--url',
      `http://127.0.0.1:${port}`,
      '--timeout-seconds',
      '5',
      file('p-unr', linux417()),
    ]);
    expect(c.code).toBe(3);
    expect(c.err).toMatch(new RegExp(`POST http://127\\.0\\.0\\.1:${port}/v1/events: ECONNREFUSED`));
    expectNoTrace(c);
  });

  it('a bad image is not published: exit 1', async () => {
    const c = await cli(['kernel', 'publish', '--url', url, file('p-bad', Buffer.from('nope'))]);
    expect(c.code).toBe(1);
    expect(received).toHaveLength(0);
  });
});
