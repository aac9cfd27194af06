/** CodeInput is a labelled field for a 6-digit one-time code (spaces allowed, as people type them). */
export function CodeInput(props: { label: string; value: string; onChange(value: string): void }) {
  return (
    <label>
      {props.label}
      <input
        inputMode="numeric"
        autoComplete="one-time-code"
        pattern="\s*[0-9]{3}\s*[0-9]{3}\s*"
        required
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
      />
    </label>
  );
}
