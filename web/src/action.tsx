/**
 * The pieces every settings page shares: useAction, which runs one step at a time and says
 * what it is doing, what it did or why it failed, and Card, a titled section.
 */
import { type ReactNode, useState } from 'react';
import { messageOf } from './api.ts';

/** useAction runs one step at a time, with what it is doing, its result and its failure for the page. */
export function useAction() {
  const [busy, setBusy] = useState<string>();
  const [done, setDone] = useState<string>();
  const [error, setError] = useState<string>();
  const run = async (doing: string, step: () => Promise<string | undefined>) => {
    setBusy(doing);
    setDone(undefined);
    setError(undefined);
    try {
      setDone(await step());
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(undefined);
    }
  };
  const feedback = (
    <>
      {busy && <p role="status">{busy}</p>}
      {done && <p role="status">{done}</p>}
      {error && <p role="alert">{error}</p>}
    </>
  );
  return { busy: busy !== undefined, run, feedback };
}

export function Card(props: { id: string; title: string; children: ReactNode }) {
  return (
    <section className="card" aria-labelledby={props.id}>
      <h2 id={props.id}>{props.title}</h2>
      {props.children}
    </section>
  );
}
