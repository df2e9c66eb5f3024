import { useEffect, useState, useSyncExternalStore } from "react";
import { currentProject, currentUser, subscribe } from "./api/client";

/** useSession re-renders on login, logout and project switches. */
export function useSession() {
  const user = useSyncExternalStore(subscribe, currentUser);
  const project = useSyncExternalStore(subscribe, currentProject);
  return { user, project };
}

export type Loaded<T> = { state: "loading" } | { state: "error"; error: Error } | { state: "done"; value: T };

/**
 * useLoad runs load whenever deps change and returns its state; a
 * result that arrives after the deps changed again is dropped.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: "loading" });
  useEffect(() => {
    let current = true;
    setLoaded({ state: "loading" });
    load().then(
      (value) => current && setLoaded({ state: "done", value }),
      (error: unknown) => current && setLoaded({ state: "error", error: error instanceof Error ? error : new Error(String(error)) }),
    );
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return loaded;
}

/** Paged is a list read page by page: the rows so far and how to read more. */
export interface Paged<T> {
  first: Loaded<unknown>; // the first page's state
  rows: T[];
  more?: () => Promise<void>; // set while pages follow
  error?: Error; // a later page's failure
}

/**
 * usePaged reads the first page of a list whenever key changes, and more
 * pages on demand: read(token) reads the page after token ("": the
 * first) and returns its rows and the next token ("" at the end).
 */
export function usePaged<T>(key: string, read: (token: string) => Promise<{ rows: T[]; next: string }>): Paged<T> {
  const first = useLoad(() => read(""), [key]);
  // The pages after the first, for the key they were read with (null: none
  // yet; "" is a key, the unfiltered list's).
  const [later, setLater] = useState<{ key: string | null; rows: T[]; next: string; error?: Error }>({ key: null, rows: [], next: "" });
  if (first.state !== "done") return { first, rows: [] };
  const extra = later.key === key ? later : { key, rows: [] as T[], next: first.value.next };
  const more = async () => {
    try {
      const page = await read(extra.next);
      setLater({ key, rows: [...extra.rows, ...page.rows], next: page.next });
    } catch (e) {
      setLater({ ...extra, error: e instanceof Error ? e : new Error(String(e)) });
    }
  };
  return { first, rows: [...first.value.rows, ...extra.rows], more: extra.next ? more : undefined, error: extra.error };
}
