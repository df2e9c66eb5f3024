// The colour theme: the system's (the default), light or dark. The choice
// is kept in localStorage (it is no secret); the page's root carries the
// theme in effect as data-theme, which styles.css reads.
import { useEffect, useState } from "react";

export type ThemeChoice = "system" | "light" | "dark";

const storageKey = "agenttrace.theme";
const darkQuery = "(prefers-color-scheme: dark)";

/** storedTheme is the person's last choice, "system" when none (or storage is unavailable). */
export function storedTheme(): ThemeChoice {
  try {
    const v = globalThis.localStorage?.getItem(storageKey);
    return v === "light" || v === "dark" ? v : "system";
  } catch {
    return "system";
  }
}

/** resolvedTheme is the theme choice shows when the system prefers dark or not. */
export function resolvedTheme(choice: ThemeChoice, systemDark: boolean): "light" | "dark" {
  return choice === "system" ? (systemDark ? "dark" : "light") : choice;
}

/** applyTheme marks the page's root with the theme in effect for choice. */
export function applyTheme(choice: ThemeChoice) {
  const systemDark = globalThis.matchMedia?.(darkQuery).matches ?? false;
  document.documentElement.dataset.theme = resolvedTheme(choice, systemDark);
}

/**
 * useTheme is the current choice and a setter that applies and keeps it;
 * while the choice is the system's, a change of the system's follows.
 */
export function useTheme(): [ThemeChoice, (c: ThemeChoice) => void] {
  const [choice, setChoice] = useState<ThemeChoice>(storedTheme);
  useEffect(() => {
    applyTheme(choice);
    if (choice !== "system" || !globalThis.matchMedia) return;
    const media = globalThis.matchMedia(darkQuery);
    const follow = () => applyTheme("system");
    media.addEventListener("change", follow);
    return () => media.removeEventListener("change", follow);
  }, [choice]);
  const choose = (c: ThemeChoice) => {
    try {
      if (c === "system") globalThis.localStorage?.removeItem(storageKey);
      else globalThis.localStorage?.setItem(storageKey, c);
    } catch {
      // Storage refused (a private window): the choice holds for this page.
    }
    setChoice(c);
  };
  return [choice, choose];
}
