// A small client-side router over the History API: the app has eight routes,
// which does not need a routing library. nginx answers every path with
// index.html (SPA fallback), so any URL can be loaded directly.

import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from "react";

const NAVIGATE_EVENT = "brainstorm:navigate";

function subscribe(onChange: () => void): () => void {
  window.addEventListener("popstate", onChange);
  window.addEventListener(NAVIGATE_EVENT, onChange);
  return () => {
    window.removeEventListener("popstate", onChange);
    window.removeEventListener(NAVIGATE_EVENT, onChange);
  };
}

function snapshot(): string {
  return window.location.pathname + window.location.search + window.location.hash;
}

export function useLocation(): URL {
  const href = useSyncExternalStore(subscribe, snapshot, () => "/");
  return new URL(href, "http://app.invalid");
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  if (options.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
  if (!options.replace && !to.includes("#")) window.scrollTo(0, 0);
}

export interface LinkProps extends AnchorHTMLAttributes<HTMLAnchorElement> {
  to: string;
  children: ReactNode;
}

export function Link({ to, onClick, children, ...rest }: LinkProps) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={handle} {...rest}>
      {children}
    </a>
  );
}

export type RouteMatch =
  | { name: "signin" }
  | { name: "signup" }
  | { name: "projects" }
  | { name: "project"; id: string; view: "board" | "documents" }
  | { name: "activity"; id: string }
  | { name: "usage" }
  | { name: "account" }
  | { name: "notfound" };

export function matchRoute(pathname: string): RouteMatch {
  const path = pathname.replace(/\/+$/, "") || "/";
  if (path === "/signin") return { name: "signin" };
  if (path === "/signup") return { name: "signup" };
  if (path === "/" || path === "/projects") return { name: "projects" };
  if (path === "/usage") return { name: "usage" };
  if (path === "/account") return { name: "account" };
  let m = /^\/projects\/([^/]+)$/.exec(path);
  if (m) return { name: "project", id: decodeURIComponent(m[1] as string), view: "board" };
  m = /^\/projects\/([^/]+)\/documents$/.exec(path);
  if (m) return { name: "project", id: decodeURIComponent(m[1] as string), view: "documents" };
  m = /^\/projects\/([^/]+)\/activity$/.exec(path);
  if (m) return { name: "activity", id: decodeURIComponent(m[1] as string) };
  return { name: "notfound" };
}
