import { useState, type FormEvent } from "react";
import { errorMessage, isApiError } from "../api/client";
import { Logo, ThemeToggle } from "../components/Layout";
import { Alert, Button, Field } from "../components/ui";
import { Link, navigate, useLocation } from "../lib/router";
import { useSession } from "../lib/session";

function safeNext(next: string | null): string {
  // Only paths of this app: never another origin.
  if (next && next.startsWith("/") && !next.startsWith("//")) return next;
  return "/";
}

export function AuthPage({ mode }: { mode: "signin" | "signup" }) {
  const { client, notice, clearNotice } = useSession();
  const location = useLocation();
  const next = safeNext(location.searchParams.get("next"));
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [remember, setRemember] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});

  const signup = mode === "signup";

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setFieldErrors({});
    const errs: Record<string, string> = {};
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email.trim())) errs.email = "Enter an email address like ada@example.com.";
    if (signup && password.length < 10) errs.password = "Use at least 10 characters.";
    if (!signup && password === "") errs.password = "Enter your password.";
    if (Object.keys(errs).length > 0) {
      setFieldErrors(errs);
      return;
    }
    setBusy(true);
    try {
      if (signup) await client.register(email.trim(), password, displayName, remember);
      else await client.login(email.trim(), password, remember);
      clearNotice();
      navigate(next, { replace: true });
    } catch (err) {
      if (isApiError(err) && err.field) {
        setFieldErrors({ [err.field]: err.message });
      } else if (isApiError(err) && err.code === "email_taken") {
        setFieldErrors({ email: "An account with this email exists. Sign in instead?" });
      } else {
        setError(errorMessage(err));
      }
    } finally {
      setBusy(false);
    }
  };

  const other = signup ? "/signin" : "/signup";
  const otherWithNext = next !== "/" ? `${other}?next=${encodeURIComponent(next)}` : other;

  return (
    <div className="flex min-h-dvh flex-col">
      <div className="flex items-center justify-between px-5 py-4">
        <Logo className="text-stone-900 dark:text-stone-100" />
        <ThemeToggle />
      </div>
      <main id="main" className="flex flex-1 items-start justify-center px-4 pt-[8vh] pb-16">
        <div className="w-full max-w-sm">
          <h1 className="text-2xl font-semibold tracking-tight text-stone-900 dark:text-stone-50">
            {signup ? "Create your account" : "Welcome back"}
          </h1>
          <p className="mt-1.5 text-sm text-stone-600 dark:text-stone-400">
            {signup
              ? "Think an idea through with a team of AI agents. Every decision keeps the words it came from."
              : "Sign in to pick up where you left off."}
          </p>
          {notice && !signup && (
            <Alert tone="warning" className="mt-5">
              {notice}
            </Alert>
          )}
          <form
            onSubmit={submit}
            noValidate
            aria-label={signup ? "Sign up" : "Sign in"}
            className="mt-6 space-y-4 rounded-xl border border-stone-200 bg-white p-5 shadow-sm dark:border-stone-800 dark:bg-stone-900"
          >
            {error && <Alert>{error}</Alert>}
            {signup && (
              <Field
                label="Your name"
                name="display_name"
                autoComplete="name"
                value={displayName}
                maxLength={100}
                onChange={(e) => setDisplayName(e.target.value)}
                hint="Optional. Shown in the app only."
                error={fieldErrors.display_name}
              />
            )}
            <Field
              label="Email"
              type="email"
              name="email"
              autoComplete="email"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              error={fieldErrors.email}
            />
            <Field
              label="Password"
              type="password"
              name="password"
              autoComplete={signup ? "new-password" : "current-password"}
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              hint={signup ? "At least 10 characters." : undefined}
              error={fieldErrors.password}
            />
            <label className="flex items-center gap-2 text-sm text-stone-700 dark:text-stone-300">
              <input
                type="checkbox"
                checked={remember}
                onChange={(e) => setRemember(e.target.checked)}
                className="h-4 w-4 rounded border-stone-300 accent-indigo-600"
              />
              Keep me signed in on this device
            </label>
            <Button type="submit" variant="primary" className="w-full" busy={busy}>
              {signup ? "Create account" : "Sign in"}
            </Button>
          </form>
          <ul
            aria-label="What Brainstorm does"
            className="mt-6 flex flex-wrap justify-center gap-x-4 gap-y-1 text-xs text-stone-500 dark:text-stone-400"
          >
            <li className="inline-flex items-center gap-1.5">
              <span aria-hidden="true" className="h-2 w-2 rounded-full bg-emerald-500" /> Decided
            </li>
            <li className="inline-flex items-center gap-1.5">
              <span aria-hidden="true" className="h-2 w-2 rounded-full bg-sky-500" /> Exploring
            </li>
            <li className="inline-flex items-center gap-1.5">
              <span aria-hidden="true" className="h-2 w-2 rounded-full bg-stone-400" /> Parked
            </li>
            <li>— every card cites your own words.</li>
          </ul>
          <p className="mt-5 text-center text-sm text-stone-600 dark:text-stone-400">
            {signup ? "Already have an account? " : "New to Brainstorm? "}
            <Link
              to={otherWithNext}
              className="font-medium text-indigo-600 hover:text-indigo-500 dark:text-indigo-400"
            >
              {signup ? "Sign in" : "Create an account"}
            </Link>
          </p>
        </div>
      </main>
    </div>
  );
}
