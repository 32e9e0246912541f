import { DynamicModule } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
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

/** nestjs-pino's module: Nest's Logger and the HTTP request logs go to `logger`. */
export function loggerModule(logger: pino.Logger): DynamicModule {
  const params: Params = {
    pinoHttp: {
      logger,
      // One line per request at debug; client errors at info, server errors at error.
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug',
      autoLogging: { ignore: (req: IncomingMessage) => QUIET.test(req.url ?? '') },
      serializers: {
        // No headers: they may carry credentials.
        req: (req: { id?: unknown; method?: string; url?: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url,
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
      quietReqLogger: true,
    },
  };
  return LoggerModule.forRoot(params);
}
