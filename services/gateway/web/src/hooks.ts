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
