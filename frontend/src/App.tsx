import { useEffect } from "react";
import { Logo } from "./components/Layout";
import { AppShell } from "./components/Layout";
import { Alert, Button, EmptyState, Spinner } from "./components/ui";
import { AccountPage } from "./pages/AccountPage";
import { ActivityPage } from "./pages/ActivityPage";
import { AuthPage } from "./pages/AuthPage";
import { ProjectPage } from "./pages/ProjectPage";
import { ProjectsPage } from "./pages/ProjectsPage";
import { UsagePage } from "./pages/UsagePage";
import { Link, matchRoute, navigate, useLocation } from "./lib/router";
import { useSession } from "./lib/session";

function Splash() {
  return (
    <div className="flex min-h-dvh flex-col items-center justify-center gap-4 text-stone-500" role="status" aria-label="Loading Brainstorm">
      <Logo className="text-lg text-stone-900 dark:text-stone-100" />
      <Spinner size={20} />
    </div>
  );
}

function NotFound() {
  return (
    <AppShell>
      <div className="mx-auto w-full max-w-xl px-4 py-16">
        <EmptyState
          title="Page not found"
          action={
            <Link to="/" className="text-sm font-medium text-indigo-600 hover:text-indigo-500 dark:text-indigo-400">
              Go to your projects
            </Link>
          }
        >
          There is nothing at this address.
        </EmptyState>
      </div>
    </AppShell>
  );
}

export function App() {
  const { status, restoreError, retryRestore } = useSession();
  const location = useLocation();
  const route = matchRoute(location.pathname);
  const publicRoute = route.name === "signin" || route.name === "signup";
  const here = location.pathname + location.search;

  // Guards: signed-out people go to sign-in (and come back after); signed-in
  // people skip the sign-in page.
  useEffect(() => {
    if (status === "signed_out" && !publicRoute) {
      const next = here === "/" ? "" : `?next=${encodeURIComponent(here)}`;
      navigate(`/signin${next}`, { replace: true });
    } else if (status === "signed_in" && publicRoute) {
      const next = location.searchParams.get("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/", { replace: true });
    }
  }, [status, publicRoute, here, location.searchParams]);

  useEffect(() => {
    const titles: Record<string, string> = {
      signin: "Sign in",
      signup: "Create an account",
      projects: "Projects",
      usage: "Token usage",
      activity: "Agent activity",
      account: "Account settings",
      notfound: "Not found",
    };
    const t = titles[route.name];
    if (t) document.title = `${t} · Brainstorm`;
  }, [route.name]);

  if (status === "restoring") return <Splash />;
  if (status === "error") {
    return (
      <div className="mx-auto max-w-md px-4 py-24">
        <Alert title="Brainstorm cannot reach the server" action={<Button size="sm" onClick={retryRestore}>Try again</Button>}>
          {restoreError}
        </Alert>
      </div>
    );
  }
  if (publicRoute) {
    if (status === "signed_in") return <Splash />;
    return <AuthPage key={route.name} mode={route.name === "signup" ? "signup" : "signin"} />;
  }
  if (status !== "signed_in") return <Splash />;
  switch (route.name) {
    case "projects":
      return <ProjectsPage />;
    case "project":
      return <ProjectPage key={route.id} id={route.id} view={route.view} />;
    case "activity":
      return <ActivityPage key={route.id} id={route.id} />;
    case "usage":
      return <UsagePage />;
    case "account":
      return <AccountPage />;
    default:
      return <NotFound />;
  }
}
