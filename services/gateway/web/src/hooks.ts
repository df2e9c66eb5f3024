import { useEffect, useState, useSyncExternalStore } from "react";
import { currentProject, currentProjectsVersion, currentUser, subscribe } from "./api/client";

/**
 * useSession re-renders on login, logout, project switches and new
 * projects (projectsVersion counts them).
 */
export function useSession() {
  const user = useSyncExternalStore(subscribe, currentUser);
  const project = useSyncExternalStore(subscribe, currentProject);
  const projectsVersion = useSyncExternalStore(subscribe, currentProjectsVersion);
  return { user, project, projectsVersion };
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
      (error: unknown) => current && setLoaded({ state: "error", error: asError(error) }),
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
      setLater({ ...extra, error: asError(e) });
    }
  };
  return { first, rows: [...first.value.rows, ...extra.rows], more: extra.next ? more : undefined, error: extra.error };
}

/** asError is what was thrown, as an Error. */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * useAction runs a change (a create, an update, a revoke), keeping the last
 * failure's message and whether one is under way; after a success, done
 * runs (to read a list again, say). run resolves to whether it succeeded.
 */
export function useAction(done?: () => void) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const run = async (change: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError("");
    try {
      await change();
      done?.();
      return true;
    } catch (e) {
      setError(asError(e).message);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { run, error, busy };
}
