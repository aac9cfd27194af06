import { useEffect, useState } from 'react';
import { messageOf } from './api.ts';

/** Loaded is the state of data fetched for a page: the value, or why it failed. */
export interface Loaded<T> {
  value: T | undefined;
  error: string | undefined;
  reload(): void;
}

/** useLoad runs `load` now, when `deps` change, every `everyMs` when given, and on reload(). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [value, setValue] = useState<T>();
  const [error, setError] = useState<string>();
  const [round, setRound] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what `load` depends on; round asks for a reload
  useEffect(() => {
    let live = true;
    const once = () =>
      load().then(
        (next) => {
          if (!live) return;
          setValue(next);
          setError(undefined);
        },
        (failure: unknown) => live && setError(messageOf(failure)),
      );
    void once();
    const timer = everyMs ? setInterval(once, everyMs) : undefined;
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [...deps, everyMs, round]);
  return { value, error, reload: () => setRound((n) => n + 1) };
}
