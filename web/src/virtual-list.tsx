/**
 * VirtualList shows a long list in a scrolling box and renders only the rows in view (and
 * a few around them), each at a fixed height (two lines on a phone), so a folder of
 * 10,000 entries costs what a screenful does. Keyboard: Tab reaches the rendered rows as
 * usual; the arrow keys, Page Up/Down, Home and End move from row to row through the
 * whole list, scrolling it, and focus lands on the row's first control (or the row itself). Rows carry their position
 * (aria-posinset of aria-setsize), so a screen reader still hears "12 of 10,000".
 */
import { type KeyboardEvent, type ReactNode, useEffect, useLayoutEffect, useRef, useState } from 'react';

/** A row's height: one line, or two on a narrow screen (NARROW, as in styles.css: the controls go under the name). */
const ROW_HEIGHT = 44;
const NARROW_ROW_HEIGHT = 88;
const NARROW = '(max-width: 40rem)';
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
  const row = useRowHeight();

  useLayoutEffect(() => {
    const element = box.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setView(element.clientHeight || FIRST_VIEW));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  useLayoutEffect(() => {
    if (focus === undefined) return;
    const focused = box.current?.querySelector<HTMLElement>(`[data-index="${focus}"]`);
    (focused?.querySelector<HTMLElement>('button, a, input') ?? focused)?.focus();
  }, [focus]);

  const first = Math.max(0, Math.floor(top / row) - OVERSCAN);
  const last = Math.min(items.length, Math.ceil((top + view) / row) + OVERSCAN);

  const move = (event: KeyboardEvent) => {
    const from = (event.target as HTMLElement).closest<HTMLElement>('[data-index]');
    if (!from || !box.current) return;
    const index = Number(from.dataset.index);
    const page = Math.max(1, Math.floor(view / row) - 1);
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
    const rowTop = next * row;
    if (rowTop < element.scrollTop) element.scrollTop = rowTop;
    else if (rowTop + row > element.scrollTop + element.clientHeight)
      element.scrollTop = rowTop + row - element.clientHeight;
    setTop(element.scrollTop);
    setFocus(next);
  };

  return (
    <div
      ref={box}
      className="virtual-list"
      style={{ maxHeight: `min(70vh, ${items.length * row}px)` }}
      onScroll={(e) => setTop(e.currentTarget.scrollTop)}
    >
      <ul
        className="plain entries"
        aria-label={props.label}
        style={{ height: items.length * row, position: 'relative' }}
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
              top: (first + i) * row,
              height: row,
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

function useRowHeight(): number {
  const [narrow, setNarrow] = useState(() => matchMedia(NARROW).matches);
  useEffect(() => {
    const query = matchMedia(NARROW);
    const changed = () => setNarrow(query.matches);
    query.addEventListener('change', changed);
    return () => query.removeEventListener('change', changed);
  }, []);
  return narrow ? NARROW_ROW_HEIGHT : ROW_HEIGHT;
}
