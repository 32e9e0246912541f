import { DynamicModule } from '@nestjs/common';
import { LoggerModule, Params } from 'nestjs-pino';
import pino from 'pino';
import PinoPretty from 'pino-pretty';
import { Settings } from '@fleetcompat/platform';

/** LOG_LEVEL (Nest's names) to pino's levels. */
export const PINO_LEVELS: Record<Settings['LOG_LEVEL'], pino.Level> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** Paths whose requests are not logged (probes and scrapes, every few seconds). */
const QUIET = /^\/(health\/|metrics)/;

/**
 * The pino logger of a process: JSON lines on stdout (LOG_FORMAT=json), or coloured lines
 * for a terminal (LOG_FORMAT=pretty). Written synchronously, so nothing is lost when the
 * process exits right after a line. Every line carries the role.
 */
export function createPinoLogger(settings: Pick<Settings, 'LOG_LEVEL' | 'LOG_FORMAT'>, role: string): pino.Logger {
  const options: pino.LoggerOptions = {
    level: PINO_LEVELS[settings.LOG_LEVEL],
    base: { role, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  const stream =
    settings.LOG_FORMAT === 'pretty'
      ? PinoPretty({
          destination: 1,
          sync: true,
          colorize: Boolean(process.stdout.isTTY),
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,role',
          messageKey: 'msg',
        })
      : pino.destination({ dest: 1, sync: true });
  return pino(options, stream);
}

/**
 * nestjs-pino's module: Nest's Logger goes to `logger`. Its HTTP middleware (pino-http, and an
 * AsyncLocalStorage scope per request for request-bound loggers) is bound to no route: it made
 * two child loggers per request and kept async context tracking on for every promise, and cost
 * about 40% of the API's requests per second on a cached placements answer (measured:
 * 2,350-3,430 against 4,110-4,420 req/s with it taken off, docs/benchmarks.md, "Session 8").
 * The request lines are written by `httpRequestLog` from the API's one per-request hook instead.
 */
export function loggerModule(logger: pino.Logger): DynamicModule {
  const params: Params = { pinoHttp: { logger, autoLogging: false }, forRoutes: [] };
  return LoggerModule.forRoot(params);
}

/** What the request line says of a request (no headers: they may carry credentials). */
export interface RequestLine {
  readonly method: string;
  readonly url: string;
  readonly statusCode: number;
  readonly seconds: number;
}

/**
 * The level of a request's line: server errors at error, client errors at info, the others at
 * debug; none for the probes and the scrape (every few seconds).
 */
export function requestLogLevel(r: Pick<RequestLine, 'url' | 'statusCode'>): pino.Level | null {
  if (QUIET.test(r.url)) return null;
  return r.statusCode >= 500 ? 'error' : r.statusCode >= 400 ? 'info' : 'debug';
}

/**
 * One line per finished HTTP request at its level (requestLogLevel), when that level is
 * written: `req` (method, url), `res` (statusCode) and `responseTime` (ms), as pino-http wrote
 * them. Nothing is built for a level that is not written.
 */
export function httpRequestLog(logger: pino.Logger): (r: RequestLine) => void {
  const http = logger.child({ context: 'HTTP' });
  return (r) => {
    const level = requestLogLevel(r);
    if (level === null || !http.isLevelEnabled(level)) return;
    http[level](
      {
        req: { method: r.method, url: r.url },
        res: { statusCode: r.statusCode },
        responseTime: Math.round(r.seconds * 1e4) / 10,
      },
      r.statusCode >= 500 ? 'request errored' : 'request completed',
    );
  };
}
