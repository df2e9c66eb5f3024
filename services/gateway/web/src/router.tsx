// A small client-side router over the History API: the URL (path and
// query) is the view's state, so a filtered list or an open trace can be
// shared and survives a reload.
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";

const listeners = new Set<() => void>();

function subscribe(f: () => void) {
  listeners.add(f);
  window.addEventListener("popstate", f);
  return () => {
    listeners.delete(f);
    window.removeEventListener("popstate", f);
  };
}

const snapshot = () => window.location.pathname + window.location.search;

/** useLocation returns the current path and query, re-rendering on change. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const href = useSyncExternalStore(subscribe, snapshot);
  const url = new URL(href, window.location.origin);
  return { path: url.pathname, query: url.searchParams };
}

/** navigate goes to href; replace keeps the history entry (a filter edit). */
export function navigate(href: string, replace = false) {
  if (href === snapshot()) return;
  if (replace) window.history.replaceState(null, "", href);
  else window.history.pushState(null, "", href);
  for (const l of listeners) l();
}

/** withQuery is path with the non-empty values of params as its query. */
export function withQuery(path: string, params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Link is an anchor that navigates without reloading the page. */
export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.href);
  };
  return <a {...props} onClick={onClick} />;
}
