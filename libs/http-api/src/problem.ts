import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';

export const PROBLEM_BASE = 'https://fleetcompat.dev/problems/';

/** An RFC 9457 problem: `type` is derived from a stable code. */
export class ProblemException extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
  }
}

export const notFound = (what: string, id: string) => new ProblemException(404, 'not-found', `${what} not found`, `no ${what.toLowerCase()} with id "${id}"`);
export const badRequest = (code: string, detail: string, extensions: Record<string, unknown> = {}) =>
  new ProblemException(400, code, 'Bad request', detail, extensions);

const TITLES: Record<number, string> = { 400: 'Bad request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not found', 405: 'Method not allowed', 413: 'Payload too large', 415: 'Unsupported media type', 429: 'Too many requests', 500: 'Internal server error', 503: 'Service unavailable' };

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
    const e = exception as any;
    if (exception instanceof ProblemException) {
      ({ status, code, title, detail, extensions } = exception);
    } else if (exception instanceof HttpException) {
      status = exception.getStatus();
      title = TITLES[status] ?? HttpStatus[status] ?? 'Error';
      code = status === 404 ? 'not-found' : (HttpStatus[status] ?? 'error').toLowerCase().replace(/_/g, '-');
      const body = exception.getResponse() as any;
      detail = typeof body === 'string' ? body : Array.isArray(body?.message) ? body.message.join('; ') : body?.message;
    } else if (e?.type === 'entity.parse.failed' || (exception instanceof SyntaxError && e.status === 400)) {
      status = 400;
      code = 'invalid-json';
      title = TITLES[400];
      detail = `the request body is not valid JSON: ${e.message}`;
    } else if (e?.type === 'entity.too.large') {
      status = 413;
      code = 'body-too-large';
      title = TITLES[413];
      detail = `the request body exceeds the limit of ${e.limit} bytes`;
    } else if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      status = e.status;
      title = TITLES[status] ?? 'Error';
      code = 'bad-request';
      detail = e.message;
    } else {
      this.log.error(`${req.method} ${req.url} failed: ${e?.stack ?? e}`);
    }
    res
      .status(status)
      .type('application/problem+json')
      .json({ type: `${PROBLEM_BASE}${code}`, title, status, ...(detail ? { detail } : {}), instance: req.originalUrl ?? req.url, code, ...extensions });
  }
}
