/**
 * ConfirmDialog asks before something that cannot be undone: a modal <dialog> (focus stays
 * in it, starts on Cancel, Escape cancels) with the consequence spelled out.
 */
import { type ReactNode, useEffect, useRef } from 'react';

export function ConfirmDialog(props: {
  title: string;
  children: ReactNode;
  action: string;
  busy?: boolean;
  onConfirm(): void;
  onCancel(): void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
    // The safe choice has the focus: Enter on a stray keypress cancels.
    cancel.current?.focus();
  }, []);
  return (
    <dialog ref={dialog} aria-labelledby="confirm-title" onCancel={props.onCancel} className="confirm">
      <h2 id="confirm-title">{props.title}</h2>
      {props.children}
      <div className="buttons">
        <button type="button" className="danger" disabled={props.busy} onClick={props.onConfirm}>
          {props.action}
        </button>
        <button type="button" className="secondary" onClick={props.onCancel} ref={cancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
