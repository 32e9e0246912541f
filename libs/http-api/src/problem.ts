import { isUtf8 } from 'node:buffer';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { json } from 'express';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '@fleetcompat/contract';
import type { NextFunction, Request, Response } from 'express';

export const PROBLEM_BASE = 'https://fleetcompat.dev/problems/';

/** An RFC 9457 problem: `type` is derived from a stable code. */
export class ProblemException extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly extensions: Record<string, unknown> = {},
    /** Response headers to send with the problem (WWW-Authenticate, Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }
}

export const notFound = (what: string, id: string) =>
  new ProblemException(404, 'not-found', `${what} not found`, `no ${what.toLowerCase()} with id "${id}"`);
export const badRequest = (code: string, detail: string, extensions: Record<string, unknown> = {}) =>
  new ProblemException(400, code, 'Bad request', detail, extensions);

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  413: 'Payload too large',
  415: 'Unsupported media type',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service unavailable',
};

/** Turns every error into `application/problem+json` (RFC 9457). */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly log = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    let status = 500;
    let code = 'internal-error';
    let title = TITLES[500];
    let detail: string | undefined = 'the server failed to handle the request; it has been logged';
    let extensions: Record<string, unknown> = {};
    const e = exception as ThrownLike | null | undefined;
    if (exception instanceof ProblemException) {
      ({ status, code, title, detail, extensions } = exception);
      for (const [name, value] of Object.entries(exception.headers)) res.setHeader(name, value);
    } else if (exception instanceof HttpException) {
      status = exception.getStatus();
      title = TITLES[status] ?? HttpStatus[status] ?? 'Error';
      code = status === 404 ? 'not-found' : (HttpStatus[status] ?? 'error').toLowerCase().replace(/_/g, '-');
      const body = exception.getResponse() as string | { message?: string | string[] } | null | undefined;
      detail = typeof body === 'string' ? body : Array.isArray(body?.message) ? body.message.join('; ') : body?.message;
    } else if (bodyParserProblem(e)) {
      ({ status, code, title, detail } = bodyParserProblem(e)!);
    } else if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      status = e.status;
      title = TITLES[status] ?? 'Error';
      code = 'bad-request';
      detail = e.message;
    } else {
      this.log.error(`${req.method} ${req.url} failed: ${String(e?.stack ?? e)}`);
    }
    sendProblem(res, req, { status, code, title, detail, extensions });
  }
}

function sendProblem(
  res: Response,
  req: Request,
  p: { status: number; code: string; title: string; detail?: string; extensions?: Record<string, unknown> },
): void {
  res
    .status(p.status)
    .type('application/problem+json')
    .json({
      type: `${PROBLEM_BASE}${p.code}`,
      title: p.title,
      status: p.status,
      ...(p.detail ? { detail: p.detail } : {}),
      instance: req.originalUrl ?? req.url,
      code: p.code,
      ...(p.extensions ?? {}),
    });
}

/** The problem for an error of Express' body parser (bad JSON, too large, bad charset), if it is one. */
/** What a thrown value may carry: an Error's fields, and those Express' body parser adds. */
interface ThrownLike {
  readonly type?: unknown;
  readonly status?: unknown;
  readonly message?: string;
  readonly stack?: string;
  readonly limit?: number;
  toString(): string;
}

function bodyParserProblem(
  e: ThrownLike | null | undefined,
): { status: number; code: string; title: string; detail: string | undefined } | null {
  switch (e?.type) {
    case 'entity.parse.failed':
      return {
        status: 400,
        code: 'invalid-json',
        title: TITLES[400],
        detail: `the request body is not valid JSON: ${e.message}`,
      };
    case 'entity.not.utf8':
      return { status: 400, code: 'invalid-json', title: TITLES[400], detail: e.message };
    case 'entity.too.deep':
      return { status: 400, code: 'too-deep', title: TITLES[400], detail: e.message };
    case 'entity.too.large':
      return {
        status: 413,
        code: 'body-too-large',
        title: TITLES[413],
        detail: `the request body exceeds the limit of ${e.limit} bytes`,
      };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, code: 'unsupported-encoding', title: TITLES[415], detail: e.message };
    default:
      return null;
  }
}

/**
 * JSON bodies up to `limit`, with the parser's own errors answered as problem details here:
 * Nest would otherwise turn them into a bare 400 and lose which error it was.
 */
export function jsonBodyWithProblems(limit: string) {
  const parse = json({
    limit,
    type: ['application/json', 'application/*+json'],
    // refused before JSON.parse: nothing recursive (JSON.stringify, validation, logging) ever sees such a body
    verify: (_req, _res, buf) => {
      // bytes that are not UTF-8 are refused (as on Kafka), not decoded to U+FFFD and stored
      if (!isUtf8(buf))
        throw Object.assign(new Error('the request body is not valid UTF-8'), { type: 'entity.not.utf8', status: 400 });
      // an array of events adds one level
      if (jsonDepthExceeds(buf.toString('utf8'), MAX_JSON_DEPTH + 1)) {
        throw Object.assign(new Error(`arrays and objects nest deeper than ${MAX_JSON_DEPTH} levels in an event`), {
          type: 'entity.too.deep',
          status: 400,
        });
      }
    },
  });
  return [
    parse,
    (err: ThrownLike | null | undefined, req: Request, res: Response, next: NextFunction) => {
      const p = bodyParserProblem(err);
      if (p) sendProblem(res, req, p);
      else next(err);
    },
  ] as const;
}
