import { Writable } from 'node:stream';
import fc from 'fast-check';
import pino from 'pino';
import { httpRequestLog } from './logging';

/** A pino logger at `level` writing its JSON lines into `lines`. */
function capture(level: pino.Level): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  const logger = pino({ level, formatters: { level: (label) => ({ level: label }) } }, stream);
  return { logger, lines };
}

const RANK: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

describe('the HTTP request lines (httpRequestLog)', () => {
  it('one line per request at error (5xx), info (4xx) or debug (the rest), when that level is written; none for probes and the scrape', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<pino.Level>('trace', 'debug', 'info', 'warn', 'error'),
        fc.integer({ min: 100, max: 599 }),
        fc.oneof(
          fc.constantFrom('/health/live', '/health/ready', '/metrics', '/metrics?x=1'),
          fc.webPath().map((p) => `/v1${p}`),
          fc.constantFrom('/', '/ui/', '/v1/hosts/h1/placements?wait=30'),
        ),
        fc.double({ min: 0, max: 100, noNaN: true }),
        (level, statusCode, url, seconds) => {
          const { logger, lines } = capture(level);
          httpRequestLog(logger)({ method: 'GET', url, statusCode, seconds });
          const quiet = /^\/(health\/|metrics)/.test(url);
          const want = statusCode >= 500 ? 'error' : statusCode >= 400 ? 'info' : 'debug';
          if (quiet || RANK[want] < RANK[level]) {
            expect(lines).toEqual([]);
            return;
          }
          expect(lines).toHaveLength(1);
          expect(lines[0]).toMatchObject({
            level: want,
            context: 'HTTP',
            req: { method: 'GET', url },
            res: { statusCode },
            msg: statusCode >= 500 ? 'request errored' : 'request completed',
          });
          expect(lines[0].responseTime).toBeCloseTo(seconds * 1000, 0);
          // what a request line holds, and nothing more (no headers: they may carry credentials)
          expect(Object.keys(lines[0].req as object).sort()).toEqual(['method', 'url']);
        },
      ),
    );
  });
});
