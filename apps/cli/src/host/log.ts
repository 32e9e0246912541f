/** One line per event of the agent: JSON (for journald and log shippers) or readable text. */
export type LogFormat = 'json' | 'text';
export type LogLevel = 'info' | 'warn' | 'error';

export interface AgentLog {
  (level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

export function createLog(format: LogFormat, write: (line: string) => void, base: Record<string, unknown>): AgentLog {
  return (level, msg, fields = {}) => {
    const time = new Date().toISOString();
    if (format === 'json') {
      write(JSON.stringify({ time, level, msg, ...base, ...fields }) + '\n');
      return;
    }
    const kv = Object.entries({ ...base, ...fields })
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
      .join(' ');
    write(`${time} ${level.padEnd(5)} ${msg}${kv ? ` ${kv}` : ''}\n`);
  };
}
