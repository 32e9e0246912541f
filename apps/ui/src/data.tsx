// Reads a page's data, and reads it again when the live stream says the projections moved
// (one read at a time: notifications that arrive meanwhile cause one more read after it).
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';
import { useLive } from './live';

export interface Data<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  /** When the shown data was read. */
  readAt: Date | undefined;
}

/** Least time between two reads of the same data on live events (a busy projector commits a batch every second or so). */
const LIVE_MIN_INTERVAL_MS = 2000;

export function useData<T>(
  key: string | null,
  load: (signal: AbortSignal) => Promise<T>,
  options: { live?: boolean } = {},
): Data<T> {
  const { generation } = useLive();
  const [state, setState] = useState<Data<T>>({
    data: undefined,
    error: undefined,
    loading: key !== null,
    readAt: undefined,
  });
  const loadRef = useRef(load);
  loadRef.current = load;
  const flight = useRef<{ key: string; controller: AbortController } | null>(null);
  const again = useRef(false);
  const keyRef = useRef(key);
  keyRef.current = key;

  const run = (k: string, fresh: boolean) => {
    if (flight.current && flight.current.key === k && !fresh) {
      again.current = true;
      return;
    }
    flight.current?.controller.abort();
    const controller = new AbortController();
    flight.current = { key: k, controller };
    again.current = false;
    if (fresh) setState({ data: undefined, error: undefined, loading: true, readAt: undefined });
    loadRef
      .current(controller.signal)
      .then(
        (data) => {
          if (controller.signal.aborted || keyRef.current !== k) return;
          setState({ data, error: undefined, loading: false, readAt: new Date() });
        },
        (error: ApiError | Error) => {
          if (controller.signal.aborted || error?.name === 'AbortError' || keyRef.current !== k) return;
          setState((s) => ({ ...s, error, loading: false }));
        },
      )
      .finally(() => {
        if (flight.current?.controller !== controller) return;
        flight.current = null;
        if (again.current && keyRef.current === k) run(k, false);
      });
  };

  useEffect(() => {
    if (key === null) {
      flight.current?.controller.abort();
      flight.current = null;
      setState({ data: undefined, error: undefined, loading: false, readAt: undefined });
      return;
    }
    run(key, true);
  }, [key]);

  const firstGeneration = useRef(generation);
  const lastLiveRead = useRef(0);
  const liveTimer = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (
      key === null ||
      options.live === false ||
      generation === firstGeneration.current ||
      liveTimer.current !== undefined
    )
      return;
    const wait = Math.max(0, lastLiveRead.current + LIVE_MIN_INTERVAL_MS - Date.now());
    liveTimer.current = window.setTimeout(() => {
      liveTimer.current = undefined;
      lastLiveRead.current = Date.now();
      if (keyRef.current !== null) run(keyRef.current, false);
    }, wait);
  }, [generation]);

  useEffect(
    () => () => {
      flight.current?.controller.abort();
      clearTimeout(liveTimer.current);
    },
    [],
  );
  return state;
}
