// Light and dark: the system's preference, or the person's choice (kept in
// localStorage). The `dark` class on <html> drives Tailwind's dark variant.

import { useEffect, useState, useSyncExternalStore } from "react";

export type ThemeChoice = "system" | "light" | "dark";
const KEY = "brainstorm.theme";
const QUERY = "(prefers-color-scheme: dark)";

function systemDark(): boolean {
  return window.matchMedia?.(QUERY).matches ?? false;
}

function subscribeSystem(onChange: () => void): () => void {
  const mq = window.matchMedia?.(QUERY);
  if (!mq) return () => undefined;
  mq.addEventListener("change", onChange);
  return () => mq.removeEventListener("change", onChange);
}

export function storedTheme(): ThemeChoice {
  try {
    const v = window.localStorage.getItem(KEY);
    if (v === "light" || v === "dark") return v;
  } catch {
    /* storage unavailable */
  }
  return "system";
}

export function isDark(choice: ThemeChoice, system: boolean): boolean {
  return choice === "dark" || (choice === "system" && system);
}

export function applyTheme(choice: ThemeChoice, system = systemDark()): void {
  const dark = isDark(choice, system);
  document.documentElement.classList.toggle("dark", dark);
  document.documentElement.style.colorScheme = dark ? "dark" : "light";
}

/** [choice, whether dark is in effect, set the choice]. */
export function useTheme(): [ThemeChoice, boolean, (c: ThemeChoice) => void] {
  const [choice, setChoice] = useState<ThemeChoice>(storedTheme);
  const system = useSyncExternalStore(subscribeSystem, systemDark, () => false);
  useEffect(() => {
    applyTheme(choice, system);
  }, [choice, system]);
  // Another tab changed the choice.
  useEffect(() => {
    const on = (e: StorageEvent) => {
      if (e.key === KEY) setChoice(storedTheme());
    };
    window.addEventListener("storage", on);
    return () => window.removeEventListener("storage", on);
  }, []);
  const set = (c: ThemeChoice) => {
    try {
      if (c === "system") window.localStorage.removeItem(KEY);
      else window.localStorage.setItem(KEY, c);
    } catch {
      /* storage unavailable */
    }
    setChoice(c);
  };
  return [choice, isDark(choice, system), set];
}
