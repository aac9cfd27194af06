/**
 * VirtualList shows a long list in a scrolling box and renders only the rows in view (and
 * a few around them), each at a fixed height, so a folder of 10,000 entries costs what a
 * screenful does. Keyboard: Tab reaches the rendered rows as usual; the arrow keys, Page
 * Up/Down, Home and End move from row to row through the whole list, scrolling it, and
 * focus lands on the row's first control (or the row itself). Rows carry their position
 * (aria-posinset of aria-setsize), so a screen reader still hears "12 of 10,000".
 */
import { type KeyboardEvent, type ReactNode, useLayoutEffect, useRef, useState } from 'react';

export const ROW_HEIGHT = 44;
const OVERSCAN = 8;
/** The box's height before it is measured: a tall screen's worth. */
const FIRST_VIEW = 900;

export function VirtualList<T>(props: {
  items: readonly T[];
  label: string;
  keyOf(item: T): string;
  render(item: T): ReactNode;
}) {
  const { items } = props;
  const box = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [view, setView] = useState(FIRST_VIEW);
  const [focus, setFocus] = useState<number>();

  useLayoutEffect(() => {
    const element = box.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setView(element.clientHeight || FIRST_VIEW));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  useLayoutEffect(() => {
    if (focus === undefined) return;
    const row = box.current?.querySelector<HTMLElement>(`[data-index="${focus}"]`);
    (row?.querySelector<HTMLElement>('button, a, input') ?? row)?.focus();
  }, [focus]);

  const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(items.length, Math.ceil((top + view) / ROW_HEIGHT) + OVERSCAN);

  const move = (event: KeyboardEvent) => {
    const from = (event.target as HTMLElement).closest<HTMLElement>('[data-index]');
    if (!from || !box.current) return;
    const index = Number(from.dataset.index);
    const page = Math.max(1, Math.floor(view / ROW_HEIGHT) - 1);
    const steps: Record<string, number> = {
      ArrowDown: index + 1,
      ArrowUp: index - 1,
      PageDown: index + page,
      PageUp: index - page,
      Home: 0,
      End: items.length - 1,
    };
    if (!(event.key in steps)) return;
    event.preventDefault();
    const next = Math.min(items.length - 1, Math.max(0, steps[event.key]));
    const element = box.current;
    const rowTop = next * ROW_HEIGHT;
    if (rowTop < element.scrollTop) element.scrollTop = rowTop;
    else if (rowTop + ROW_HEIGHT > element.scrollTop + element.clientHeight)
      element.scrollTop = rowTop + ROW_HEIGHT - element.clientHeight;
    setTop(element.scrollTop);
    setFocus(next);
  };

  return (
    <div
      ref={box}
      className="virtual-list"
      style={{ maxHeight: `min(70vh, ${items.length * ROW_HEIGHT}px)` }}
      onScroll={(e) => setTop(e.currentTarget.scrollTop)}
    >
      <ul
        className="plain entries"
        aria-label={props.label}
        style={{ height: items.length * ROW_HEIGHT, position: 'relative' }}
        onKeyDown={move}
      >
        {items.slice(first, last).map((item, i) => (
          <li
            key={props.keyOf(item)}
            className="entry"
            data-index={first + i}
            tabIndex={-1}
            aria-posinset={first + i + 1}
            aria-setsize={items.length}
            style={{
              position: 'absolute',
              top: (first + i) * ROW_HEIGHT,
              height: ROW_HEIGHT,
              left: 0,
              right: 0,
            }}
          >
            {props.render(item)}
          </li>
        ))}
      </ul>
    </div>
  );
}
