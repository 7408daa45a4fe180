import type { ReactNode } from "react";
import { Link, navigate, useLocation } from "../lib/router";
import { useSession } from "../lib/session";
import { useTheme, type ThemeChoice } from "../lib/theme";
import { IconChart, IconLogout, IconMonitor, IconMoon, IconSettings, IconSparkle, IconSun } from "./icons";
import { MenuButton, cx } from "./ui";

export function Logo({ className, compact = false }: { className?: string; compact?: boolean }) {
  return (
    <span className={cx("inline-flex items-center gap-2 font-semibold tracking-tight", className)}>
      <svg width="26" height="26" viewBox="0 0 32 32" aria-hidden="true">
        <rect width="32" height="32" rx="8" className="fill-indigo-600" />
        <circle cx="11" cy="13" r="3.2" fill="#fff" />
        <circle cx="21" cy="13" r="3.2" fill="#c7d2fe" />
        <circle cx="16" cy="21" r="3.2" fill="#a5b4fc" />
      </svg>
      <span className={compact ? "hidden sm:inline" : undefined}>Brainstorm</span>
    </span>
  );
}

export function ThemeToggle() {
  const [choice, dark, setChoice] = useTheme();
  const options: { value: ThemeChoice; label: string; icon: ReactNode }[] = [
    { value: "system", label: "Match system", icon: <IconMonitor /> },
    { value: "light", label: "Light", icon: <IconSun /> },
    { value: "dark", label: "Dark", icon: <IconMoon /> },
  ];
  const current = options.find((o) => o.value === choice)?.label ?? "Match system";
  return (
    <MenuButton
      label={`Theme: ${current}${choice === "system" ? (dark ? " (dark)" : " (light)") : ""}`}
      heading="Theme"
      items={options.map((o) => ({
        label: (o.value === choice ? "✓ " : "") + o.label,
        icon: o.icon,
        onSelect: () => setChoice(o.value),
      }))}
      buttonClassName="w-8"
    >
      {dark ? <IconMoon /> : <IconSun />}
    </MenuButton>
  );
}

function NavLink({ to, children, active }: { to: string; children: ReactNode; active: boolean }) {
  return (
    <Link
      to={to}
      aria-current={active ? "page" : undefined}
      className={cx(
        "inline-flex h-8 items-center gap-1.5 rounded-md px-2.5 text-sm font-medium transition-colors",
        active
          ? "bg-stone-200/70 text-stone-900 dark:bg-stone-800 dark:text-stone-100"
          : "text-stone-600 hover:bg-stone-200/60 hover:text-stone-900 dark:text-stone-400 dark:hover:bg-stone-800 dark:hover:text-stone-100",
      )}
    >
      {children}
    </Link>
  );
}

export function DemoBanner() {
  const { demoModel } = useSession();
  if (!demoModel) return null;
  return (
    <div
      role="status"
      data-testid="demo-banner"
      className="border-b border-amber-200/70 bg-amber-50 px-4 py-1.5 text-center text-xs text-amber-900 dark:border-amber-900/50 dark:bg-amber-950/40 dark:text-amber-200"
    >
      <IconSparkle className="mr-1 inline -translate-y-px" size={12} />
      <strong className="font-semibold">Demo mode</strong>: the offline demo model answers instead of Claude
      <span className="hidden sm:inline">. Replies are placeholders; the board and everything else work for real</span>.
    </div>
  );
}

export function AppShell({
  children,
  wide = false,
  fill = false,
}: {
  children: ReactNode;
  wide?: boolean;
  /** The page fills the window exactly (its panes scroll, not the page). */
  fill?: boolean;
}) {
  const { user, client } = useSession();
  const location = useLocation();
  const path = location.pathname;
  const signOut = async () => {
    await client.logout();
    navigate("/signin", { replace: true });
  };
  return (
    <div className={cx("flex flex-col", fill ? "h-dvh" : "min-h-dvh")}>
      <a
        href="#main"
        className="sr-only z-50 rounded-md bg-indigo-600 px-3 py-2 text-white focus:not-sr-only focus:absolute focus:top-2 focus:left-2"
      >
        Skip to content
      </a>
      <header className="sticky top-0 z-20 border-b border-stone-200 bg-stone-50/85 backdrop-blur dark:border-stone-800 dark:bg-stone-950/85">
        <div className={cx("mx-auto flex h-14 items-center gap-3 px-4 sm:px-6", wide ? "max-w-[1600px]" : "max-w-6xl")}>
          <Link to="/" className="rounded-md text-stone-900 dark:text-stone-100" aria-label="Brainstorm, all projects">
            <Logo compact />
          </Link>
          <nav aria-label="Main" className="flex items-center gap-1 sm:ml-2">
            <NavLink to="/" active={path === "/" || path.startsWith("/projects")}>
              Projects
            </NavLink>
            <NavLink to="/usage" active={path === "/usage"}>
              <IconChart className="hidden sm:inline" />
              Usage
            </NavLink>
          </nav>
          <div className="ml-auto flex items-center gap-1">
            <ThemeToggle />
            {user && (
              <MenuButton
                label={`Account: ${user.display_name || user.email}`}
                heading={user.email}
                items={[
                  { label: "Account settings", icon: <IconSettings />, onSelect: () => navigate("/account") },
                  { label: "Sign out", icon: <IconLogout />, onSelect: () => void signOut() },
                ]}
                buttonClassName="gap-2 px-1.5"
              >
                <span
                  aria-hidden="true"
                  className="flex h-7 w-7 items-center justify-center rounded-full bg-indigo-100 text-xs font-semibold text-indigo-700 dark:bg-indigo-900/60 dark:text-indigo-200"
                >
                  {(user.display_name || user.email).slice(0, 1).toUpperCase()}
                </span>
                <span className="hidden max-w-40 truncate text-sm font-medium text-stone-700 md:inline dark:text-stone-300">
                  {user.display_name || user.email}
                </span>
              </MenuButton>
            )}
          </div>
        </div>
        <DemoBanner />
      </header>
      <main id="main" tabIndex={-1} className={cx("flex flex-1 flex-col outline-none", fill && "min-h-0")}>
        {children}
      </main>
    </div>
  );
}
