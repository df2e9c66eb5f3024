/** Alert shows a failure's message, read out by screen readers; nothing when there is none. */
export function Alert({ error }: { error?: string }) {
  if (!error) return null;
  return (
    <p role="alert" className="error">
      {error}
    </p>
  );
}
