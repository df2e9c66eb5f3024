import type { ReactNode } from "react";

/**
 * Secret shows a value the server returns once (an API key's secret, an
 * invitation's link): it is not stored anywhere, so the person must copy
 * it now.
 */
export function Secret({ value, onDone, children }: { value: string; onDone: () => void; children: ReactNode }) {
  return (
    <div className="secret" role="status">
      <p>{children}</p>
      <code className="secret-value">{value}</code>
      <button type="button" onClick={onDone}>
        Done
      </button>
    </div>
  );
}
