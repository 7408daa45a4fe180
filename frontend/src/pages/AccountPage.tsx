// Account settings: the display name, a new password (which ends every
// other session), and deleting the account with its password.

import { useState, type FormEvent, type ReactNode } from "react";
import { errorMessage, isApiError } from "../api/client";
import { changePassword, deleteAccount, updateDisplayName } from "../api/members";
import { AppShell } from "../components/Layout";
import { Alert, Button, Dialog, Field } from "../components/ui";
import { navigate } from "../lib/router";
import { useSession } from "../lib/session";
import { cleanLine } from "../lib/text";

const MIN_PASSWORD = 10;

function Section({ title, description, children, danger = false }: { title: string; description: ReactNode; children: ReactNode; danger?: boolean }) {
  const id = `section-${title.toLowerCase().replace(/[^a-z]+/g, "-")}`;
  return (
    <section
      aria-labelledby={id}
      className={
        danger
          ? "rounded-xl border border-rose-200 bg-white p-5 shadow-sm dark:border-rose-900/60 dark:bg-stone-900"
          : "rounded-xl border border-stone-200 bg-white p-5 shadow-sm dark:border-stone-800 dark:bg-stone-900"
      }
    >
      <h2 id={id} className="text-base font-semibold">
        {title}
      </h2>
      <p className="mt-1 text-sm text-stone-600 dark:text-stone-400">{description}</p>
      <div className="mt-4">{children}</div>
    </section>
  );
}

function ProfileForm() {
  const { client, user } = useSession();
  const [name, setName] = useState(user?.display_name ?? "");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      await updateDisplayName(client, cleanLine(name));
      setSaved(true);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} aria-label="Profile" className="space-y-4">
      <div>
        <p className="text-sm font-medium text-stone-700 dark:text-stone-300">Email</p>
        <p className="mt-1 text-sm text-stone-900 dark:text-stone-100" data-testid="account-email">
          {user?.email}
        </p>
        <p className="mt-0.5 text-xs text-stone-500 dark:text-stone-400">Your email address signs you in; it cannot be changed here.</p>
      </div>
      <Field
        label="Display name"
        maxLength={100}
        value={name}
        onChange={(e) => {
          setName(e.target.value);
          setSaved(false);
        }}
        error={error}
        hint="Shown to the people you share projects with. Up to 100 characters."
      />
      <div className="flex items-center gap-3">
        <Button type="submit" variant="primary" busy={busy} disabled={cleanLine(name) === (user?.display_name ?? "")}>
          Save name
        </Button>
        {saved && (
          <p role="status" className="text-sm text-emerald-700 dark:text-emerald-400">
            Saved.
          </p>
        )}
      </div>
    </form>
  );
}

function PasswordForm() {
  const { client } = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<{ current?: string; next?: string; again?: string; form?: string }>({});
  const [done, setDone] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problems: typeof errors = {};
    if (current === "") problems.current = "Enter your current password.";
    if (next.length < MIN_PASSWORD) problems.next = `At least ${MIN_PASSWORD} characters.`;
    else if (next === current) problems.next = "The new password is the same as the current one.";
    if (again !== next) problems.again = "The two new passwords differ.";
    setErrors(problems);
    setDone(false);
    if (Object.keys(problems).length > 0) return;
    setBusy(true);
    try {
      await changePassword(client, current, next);
      setCurrent("");
      setNext("");
      setAgain("");
      setDone(true);
    } catch (err) {
      if (isApiError(err) && (err.code === "wrong_password" || err.field === "current_password")) {
        setErrors({ current: err.code === "wrong_password" ? "This is not your current password." : errorMessage(err) });
      } else if (isApiError(err) && err.field === "new_password") {
        setErrors({ next: errorMessage(err) });
      } else {
        setErrors({ form: errorMessage(err) });
      }
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} aria-label="Change password" className="space-y-4">
      {errors.form && <Alert>{errors.form}</Alert>}
      <Field label="Current password" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} error={errors.current} />
      <Field
        label="New password"
        type="password"
        autoComplete="new-password"
        value={next}
        onChange={(e) => setNext(e.target.value)}
        error={errors.next}
        hint={`At least ${MIN_PASSWORD} characters.`}
      />
      <Field label="New password, again" type="password" autoComplete="new-password" value={again} onChange={(e) => setAgain(e.target.value)} error={errors.again} />
      <div className="flex items-center gap-3">
        <Button type="submit" variant="primary" busy={busy}>
          Change password
        </Button>
        {done && (
          <p role="status" className="text-sm text-emerald-700 dark:text-emerald-400">
            Password changed. Every other session is signed out.
          </p>
        )}
      </div>
    </form>
  );
}

function DeleteAccount() {
  const { client, user } = useSession();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const word = "delete my account";
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (password === "") {
      setError("Enter your password.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await deleteAccount(client, password);
      navigate("/signin", { replace: true });
    } catch (err) {
      setError(isApiError(err) && err.code === "wrong_password" ? "This is not your password." : errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const close = () => {
    setOpen(false);
    setPassword("");
    setConfirm("");
    setError(null);
  };
  return (
    <>
      <Button variant="danger" onClick={() => setOpen(true)}>
        Delete my account…
      </Button>
      <Dialog
        open={open}
        onClose={close}
        title="Delete your account?"
        description={
          <>
            The account <strong className="font-medium text-stone-900 dark:text-stone-100">{user?.email}</strong> and every
            project it owns (their conversations, boards and documents) are deleted for good, for everyone they are
            shared with. You leave the projects others own. This cannot be undone.
          </>
        }
      >
        <form onSubmit={submit} className="space-y-4" aria-label="Delete your account">
          {error && <Alert>{error}</Alert>}
          <Field label="Your password" type="password" autoComplete="current-password" autoFocus value={password} onChange={(e) => setPassword(e.target.value)} />
          <Field label={`Type “${word}” to confirm`} autoComplete="off" value={confirm} onChange={(e) => setConfirm(e.target.value)} />
          <div className="flex justify-end gap-2">
            <Button onClick={close} disabled={busy}>
              Cancel
            </Button>
            <Button type="submit" variant="danger" busy={busy} disabled={confirm.trim().toLowerCase() !== word}>
              Delete account
            </Button>
          </div>
        </form>
      </Dialog>
    </>
  );
}

export function AccountPage() {
  const { user } = useSession();
  return (
    <AppShell>
      <div className="mx-auto w-full max-w-2xl space-y-6 px-4 py-8 sm:px-6">
        <div>
          <h1 className="text-2xl font-semibold tracking-tight">Account settings</h1>
          <p className="mt-1 text-sm text-stone-600 dark:text-stone-400">Signed in as {user?.email}.</p>
        </div>
        <Section title="Profile" description="How you appear to the people you work with.">
          <ProfileForm />
        </Section>
        <Section title="Password" description="Changing it signs out every other browser and device where you are signed in.">
          <PasswordForm />
        </Section>
        <Section danger title="Delete account" description="Removes your account and the projects you own.">
          <DeleteAccount />
        </Section>
      </div>
    </AppShell>
  );
}
