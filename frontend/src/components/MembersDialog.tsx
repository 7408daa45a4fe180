// A project's members: who they are and their roles; owners invite by
// email, change roles and remove; everyone else reads the list (and may
// leave the project).

import { useCallback, useEffect, useId, useState, type FormEvent } from "react";
import { errorMessage, isApiError } from "../api/client";
import {
  ROLE_INFO,
  ROLES,
  addMember,
  cancelInvitation,
  changeRole,
  leaveProject,
  listMembers,
  removeMember,
  type Invitation,
} from "../api/members";
import type { Member, Role } from "../api/types";
import { useSession } from "../lib/session";
import { IconTrash } from "./icons";
import { Alert, Button, Dialog, Field, IconButton, Skeleton, cx } from "./ui";

export function RoleBadge({ role, className }: { role: Role; className?: string }) {
  const tone: Record<Role, string> = {
    owner: "bg-indigo-100 text-indigo-800 dark:bg-indigo-950/70 dark:text-indigo-200",
    editor: "bg-emerald-100 text-emerald-800 dark:bg-emerald-950/60 dark:text-emerald-200",
    viewer: "bg-stone-200 text-stone-700 dark:bg-stone-800 dark:text-stone-300",
  };
  return (
    <span
      className={cx("inline-flex items-center rounded px-1.5 py-0.5 text-xs font-medium", tone[role], className)}
      title={ROLE_INFO[role].can}
      data-testid="role-badge"
      data-role={role}
    >
      {ROLE_INFO[role].label}
    </span>
  );
}

const selectClass =
  "h-8 rounded-md border border-stone-300 bg-white px-2 text-sm text-stone-800 shadow-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none disabled:opacity-60 dark:border-stone-700 dark:bg-stone-900 dark:text-stone-100";

export function MembersDialog({
  open,
  onClose,
  projectId,
  projectTitle,
  role,
  onLeft,
}: {
  open: boolean;
  onClose: () => void;
  projectId: string;
  projectTitle: string;
  role: Role;
  onLeft: () => void;
}) {
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title="Members"
      wide
      description={
        role === "owner" ? (
          <>Who can open “{projectTitle}”, and what each person may do.</>
        ) : (
          <>Who can open “{projectTitle}”. Only an owner can invite people or change roles.</>
        )
      }
    >
      {open && <MembersBody projectId={projectId} role={role} onLeft={onLeft} />}
    </Dialog>
  );
}

function MembersBody({ projectId, role, onLeft }: { projectId: string; role: Role; onLeft: () => void }) {
  const { client, user } = useSession();
  const [members, setMembers] = useState<Member[] | null>(null);
  const [invitations, setInvitations] = useState<Invitation[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [confirmRemove, setConfirmRemove] = useState<Member | null>(null);
  const owner = role === "owner";

  const load = useCallback(async () => {
    setLoadError(null);
    try {
      const r = await listMembers(client, projectId);
      setMembers(r.members);
      setInvitations(r.invitations);
    } catch (e) {
      setLoadError(errorMessage(e));
    }
  }, [client, projectId]);

  useEffect(() => {
    // eslint-disable-next-line react-hooks/set-state-in-effect -- loading data on open
    void load();
  }, [load]);

  const setRole = async (m: Member, next: Role) => {
    setActionError(null);
    setBusy(m.user_id);
    try {
      const saved = await changeRole(client, projectId, m.user_id, next);
      setMembers((list) => (list ?? []).map((x) => (x.user_id === m.user_id ? { ...x, ...(saved ?? {}), role: saved?.role ?? next } : x)));
    } catch (e) {
      setActionError(errorMessage(e));
      void load();
    } finally {
      setBusy(null);
    }
  };

  const remove = async (m: Member) => {
    setActionError(null);
    setBusy(m.user_id);
    try {
      await removeMember(client, projectId, m.user_id);
      setMembers((list) => (list ?? []).filter((x) => x.user_id !== m.user_id));
      setConfirmRemove(null);
    } catch (e) {
      if (isApiError(e) && e.status === 404) {
        setMembers((list) => (list ?? []).filter((x) => x.user_id !== m.user_id));
        setConfirmRemove(null);
      } else setActionError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  const leave = async () => {
    setActionError(null);
    setBusy("leave");
    try {
      await leaveProject(client, projectId);
      onLeft();
    } catch (e) {
      setActionError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  const owners = (members ?? []).filter((m) => m.role === "owner").length;

  return (
    <div className="space-y-4">
      {loadError && (
        <Alert title="The members could not be loaded" action={<Button size="sm" onClick={() => void load()}>Try again</Button>}>
          {loadError}
        </Alert>
      )}
      {actionError && <Alert onDismiss={() => setActionError(null)}>{actionError}</Alert>}
      {members === null && !loadError && (
        <div className="space-y-2" aria-label="Loading the members">
          <Skeleton className="h-10 w-full" />
          <Skeleton className="h-10 w-full" />
        </div>
      )}
      {members !== null && (
        <ul className="divide-y divide-stone-100 rounded-lg border border-stone-200 dark:divide-stone-800 dark:border-stone-800" data-testid="members-list">
          {members.map((m) => {
            const me = m.user_id === user?.id;
            const lastOwner = m.role === "owner" && owners <= 1;
            const name = m.display_name || m.email;
            return (
              <li key={m.user_id} className="flex flex-wrap items-center gap-3 px-3 py-2.5" data-testid="member-row" data-email={m.email}>
                <span aria-hidden="true" className="flex h-8 w-8 shrink-0 items-center justify-center rounded-full bg-indigo-100 text-xs font-semibold text-indigo-700 dark:bg-indigo-900/60 dark:text-indigo-200">
                  {name.slice(0, 1).toUpperCase()}
                </span>
                <div className="min-w-0 flex-1">
                  <p className="truncate text-sm font-medium">
                    {name}
                    {me && <span className="ml-1.5 text-xs font-normal text-stone-500">(you)</span>}
                  </p>
                  {m.display_name && <p className="truncate text-xs text-stone-500 dark:text-stone-400">{m.email}</p>}
                </div>
                {owner ? (
                  <>
                    <label className="sr-only" htmlFor={`role-${m.user_id}`}>
                      Role of {name}
                    </label>
                    <select
                      id={`role-${m.user_id}`}
                      className={selectClass}
                      value={m.role}
                      disabled={busy !== null || lastOwner}
                      title={lastOwner ? "A project keeps at least one owner." : undefined}
                      onChange={(e) => void setRole(m, e.target.value as Role)}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {ROLE_INFO[r].label}
                        </option>
                      ))}
                    </select>
                    <IconButton
                      label={`Remove ${name}`}
                      disabled={busy !== null || lastOwner || me}
                      onClick={() => setConfirmRemove(m)}
                      className="hover:text-rose-700 dark:hover:text-rose-300"
                    >
                      <IconTrash />
                    </IconButton>
                  </>
                ) : (
                  <RoleBadge role={m.role} />
                )}
              </li>
            );
          })}
          {invitations.map((inv) => (
            <li key={inv.id} className="flex flex-wrap items-center gap-3 px-3 py-2.5" data-testid="invitation-row">
              <span aria-hidden="true" className="flex h-8 w-8 shrink-0 items-center justify-center rounded-full border border-dashed border-stone-300 text-xs text-stone-400 dark:border-stone-700">
                @
              </span>
              <div className="min-w-0 flex-1">
                <p className="truncate text-sm font-medium">{inv.email}</p>
                <p className="text-xs text-stone-500 dark:text-stone-400">Invited; joins on signing up</p>
              </div>
              <RoleBadge role={inv.role} />
              {owner && (
                <IconButton
                  label={`Cancel the invitation of ${inv.email}`}
                  disabled={busy !== null}
                  onClick={() => {
                    setBusy(inv.id);
                    cancelInvitation(client, projectId, inv.id)
                      .then(() => setInvitations((l) => l.filter((x) => x.id !== inv.id)))
                      .catch((e: unknown) => setActionError(errorMessage(e)))
                      .finally(() => setBusy(null));
                  }}
                >
                  <IconTrash />
                </IconButton>
              )}
            </li>
          ))}
        </ul>
      )}

      {confirmRemove && (
        <Alert
          tone="warning"
          title={`Remove ${confirmRemove.display_name || confirmRemove.email}?`}
          action={
            <div className="flex gap-2">
              <Button size="sm" variant="danger" busy={busy === confirmRemove.user_id} onClick={() => void remove(confirmRemove)}>
                Remove
              </Button>
              <Button size="sm" onClick={() => setConfirmRemove(null)}>
                Cancel
              </Button>
            </div>
          }
        >
          They lose access to this project at once, including any page they have open.
        </Alert>
      )}

      {owner ? <InviteForm projectId={projectId} onAdded={() => void load()} /> : (
        <div className="flex flex-wrap items-center justify-between gap-2 rounded-lg bg-stone-50 px-3 py-2.5 text-sm text-stone-600 dark:bg-stone-800/50 dark:text-stone-400">
          <span>
            Your role: <RoleBadge role={role} className="ml-1" />
          </span>
          <Button size="sm" variant="ghost" busy={busy === "leave"} onClick={() => void leave()}>
            Leave this project
          </Button>
        </div>
      )}

      <dl className="grid gap-1 text-xs text-stone-500 dark:text-stone-400">
        {ROLES.map((r) => (
          <div key={r} className="flex gap-2">
            <dt className="w-14 shrink-0 font-medium text-stone-700 dark:text-stone-300">{ROLE_INFO[r].label}</dt>
            <dd>{ROLE_INFO[r].can}.</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

function InviteForm({ projectId, onAdded }: { projectId: string; onAdded: () => void }) {
  const { client } = useSession();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("editor");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const roleId = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const addr = email.trim();
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(addr)) {
      setError("Enter the email address of the person to add.");
      return;
    }
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const r = await addMember(client, projectId, addr, role);
      setEmail("");
      setDone(
        r.invitation
          ? `${addr} has no account yet: they are invited, and join as ${ROLE_INFO[role].label.toLowerCase()} when they sign up with this address.`
          : `${addr} is now ${role === "owner" ? "an" : "a"} ${ROLE_INFO[role].label.toLowerCase()} of this project.`,
      );
      onAdded();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} aria-label="Add a member" className="rounded-lg border border-stone-200 p-3 dark:border-stone-800">
      <p className="mb-2 text-sm font-medium">Add someone</p>
      <div className="flex flex-wrap items-start gap-2">
        <Field
          label="Email"
          type="email"
          autoComplete="off"
          placeholder="name@example.com"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={error}
          className="min-w-48 flex-1 [&_label]:sr-only [&_input]:mt-0"
        />
        <label htmlFor={roleId} className="sr-only">
          Role
        </label>
        <select id={roleId} className={cx(selectClass, "h-10")} value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {ROLE_INFO[r].label}
            </option>
          ))}
        </select>
        <Button type="submit" variant="primary" busy={busy}>
          Add
        </Button>
      </div>
      {done && (
        <p role="status" className="mt-2 text-xs text-emerald-700 dark:text-emerald-400">
          {done}
        </p>
      )}
    </form>
  );
}
