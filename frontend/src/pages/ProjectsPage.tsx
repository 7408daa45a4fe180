import { useCallback, useEffect, useRef, useState, type ChangeEvent, type FormEvent } from "react";
import { errorMessage, isApiError } from "../api/client";
import { importProject } from "../api/documents";
import { leaveProject, roleOf } from "../api/members";
import type { Project } from "../api/types";
import { AppShell } from "../components/Layout";
import { RoleBadge } from "../components/MembersDialog";
import { IconArchive, IconDots, IconLogout, IconPencil, IconPlus, IconSparkle, IconTrash, IconUndo, IconUpload } from "../components/icons";
import { importProblem } from "../lib/documents";
import { Alert, Button, ConfirmDialog, Dialog, EmptyState, Field, MenuButton, Skeleton, cx } from "../components/ui";
import { formatRelative } from "../lib/format";
import { cleanLine, cleanText } from "../lib/text";
import { Link, navigate } from "../lib/router";
import { useClient } from "../lib/session";

const DOT: Record<"decided" | "exploring" | "parked", string> = {
  decided: "bg-emerald-500",
  exploring: "bg-sky-500",
  parked: "bg-stone-400 dark:bg-stone-500",
};

function Counts({ project }: { project: Project }) {
  const c = project.item_counts;
  const parts = (["decided", "exploring", "parked"] as const).map((k) => ({ k, n: c[k] }));
  const total = parts.reduce((s, p) => s + p.n, 0);
  return (
    <dl className="flex flex-wrap items-center gap-x-4 gap-y-1 text-xs text-stone-600 dark:text-stone-400">
      {parts.map(({ k, n }) => (
        <div key={k} className="flex items-center gap-1.5" data-testid={`count-${k}`}>
          <span aria-hidden="true" className={cx("h-2 w-2 rounded-full", DOT[k])} />
          <dt className="capitalize">{k}</dt>
          <dd className="font-semibold text-stone-800 tabular-nums dark:text-stone-200">{n}</dd>
        </div>
      ))}
      {total === 0 && <span className="sr-only">No items yet</span>}
    </dl>
  );
}

function ProjectCard({
  project,
  onRename,
  onToggleArchive,
  onDelete,
  onLeave,
}: {
  project: Project;
  onRename: () => void;
  onToggleArchive: () => void;
  onDelete: () => void;
  onLeave: () => void;
}) {
  const archived = project.status === "archived";
  const role = roleOf(project);
  return (
    <li
      className={cx(
        "group relative flex flex-col rounded-xl border bg-white p-4 shadow-sm transition hover:-translate-y-px hover:shadow-md dark:bg-stone-900",
        archived ? "border-dashed border-stone-300 dark:border-stone-700" : "border-stone-200 dark:border-stone-800",
      )}
      data-testid="project-card"
    >
      <div className="flex items-start gap-2">
        <h2 className="min-w-0 flex-1 text-base font-semibold text-stone-900 dark:text-stone-100">
          <Link
            to={`/projects/${project.id}`}
            className="line-clamp-2 rounded-sm break-words after:absolute after:inset-0 after:rounded-xl after:content-[''] focus-visible:outline-none"
          >
            {project.title}
          </Link>
        </h2>
        <MenuButton
          label={`Actions for ${project.title}`}
          className="relative z-10 -mt-1 -mr-1"
          items={
            role === "owner"
              ? [
                  { label: "Rename", icon: <IconPencil />, onSelect: onRename },
                  archived
                    ? { label: "Restore", icon: <IconUndo />, onSelect: onToggleArchive }
                    : { label: "Archive", icon: <IconArchive />, onSelect: onToggleArchive },
                  { label: "Delete…", icon: <IconTrash />, onSelect: onDelete, danger: true },
                ]
              : [{ label: "Leave project", icon: <IconLogout />, onSelect: onLeave }]
          }
        >
          <IconDots />
        </MenuButton>
      </div>
      {project.description && (
        <p className="mt-1 line-clamp-2 text-sm text-stone-600 dark:text-stone-400">{project.description}</p>
      )}
      <div className="mt-auto pt-4">
        <Counts project={project} />
        <p className="mt-2 flex flex-wrap items-center gap-x-2 gap-y-1 text-xs text-stone-500 dark:text-stone-500">
          <RoleBadge role={role} />
          {archived && <span className="rounded bg-stone-100 px-1.5 py-0.5 font-medium dark:bg-stone-800">Archived</span>}
          <span>Updated {formatRelative(project.updated_at)}</span>
        </p>
      </div>
    </li>
  );
}

export function ProjectsPage() {
  const client = useClient();
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [tab, setTab] = useState<"active" | "archived">("active");
  const [creating, setCreating] = useState(false);
  const [renaming, setRenaming] = useState<Project | null>(null);
  const [deleting, setDeleting] = useState<Project | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [importing, setImporting] = useState(false);
  const [importError, setImportError] = useState<ReturnType<typeof importProblem> | null>(null);
  const [imported, setImported] = useState<Project | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);

  const onImportFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = "";
    if (!file) return;
    setImportError(null);
    setImported(null);
    setImporting(true);
    try {
      const p = await importProject(client, await file.text());
      setProjects((list) => [p, ...(list ?? []).filter((o) => o.id !== p.id)]);
      setTab(p.status === "archived" ? "archived" : "active");
      setImported(p);
    } catch (err) {
      if (isApiError(err)) setImportError(importProblem(err));
      else setImportError({ title: "The import failed", detail: errorMessage(err), path: null });
    } finally {
      setImporting(false);
    }
  };

  const leave = async (p: Project) => {
    setActionError(null);
    try {
      await leaveProject(client, p.id);
      setProjects((list) => (list ?? []).filter((o) => o.id !== p.id));
    } catch (err) {
      setActionError(errorMessage(err));
    }
  };

  const load = useCallback(async () => {
    setLoadError(null);
    try {
      const page = await client.listProjects(null, 50);
      setProjects(page.projects);
      setCursor(page.next_cursor);
    } catch (e) {
      setLoadError(errorMessage(e));
    }
  }, [client]);

  useEffect(() => {
    // eslint-disable-next-line react-hooks/set-state-in-effect -- loading data on mount
    void load();
  }, [load]);

  const loadMore = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    try {
      const page = await client.listProjects(cursor, 50);
      setProjects((p) => [...(p ?? []), ...page.projects.filter((n) => !(p ?? []).some((o) => o.id === n.id))]);
      setCursor(page.next_cursor);
    } catch (e) {
      setActionError(errorMessage(e));
    } finally {
      setLoadingMore(false);
    }
  };

  const replace = (p: Project) => setProjects((list) => (list ?? []).map((o) => (o.id === p.id ? p : o)));

  const patch = async (project: Project, change: { title?: string; status?: "active" | "archived" }) => {
    setActionError(null);
    try {
      replace(await client.updateProject(project.id, { ...change, version: project.version }));
    } catch (e) {
      if (isApiError(e) && e.code === "version_conflict" && e.current) {
        const current = e.current as Project;
        replace(current);
        // Changed elsewhere: apply the same change to the current version once.
        try {
          replace(await client.updateProject(project.id, { ...change, version: current.version }));
        } catch (e2) {
          setActionError(errorMessage(e2));
        }
        return;
      }
      setActionError(errorMessage(e));
      throw e;
    }
  };

  const visible = (projects ?? []).filter((p) => p.status === tab);
  const archivedCount = (projects ?? []).filter((p) => p.status === "archived").length;

  return (
    <AppShell>
      <div className="mx-auto w-full max-w-6xl px-4 py-8 sm:px-6">
        <div className="flex flex-wrap items-end justify-between gap-4">
          <div>
            <h1 className="text-2xl font-semibold tracking-tight">Projects</h1>
            <p className="mt-1 text-sm text-stone-600 dark:text-stone-400">
              Each project is a conversation with your agents and the board it builds.
            </p>
          </div>
          <div className="flex flex-wrap gap-2">
            <input
              ref={fileRef}
              type="file"
              accept=".json,application/json"
              className="sr-only"
              tabIndex={-1}
              aria-label="Project file to import"
              data-testid="import-file"
              onChange={(e) => void onImportFile(e)}
            />
            <Button onClick={() => fileRef.current?.click()} busy={importing} title="Import a project from a JSON export">
              {!importing && <IconUpload />} Import
            </Button>
            <Button variant="primary" onClick={() => setCreating(true)}>
              <IconPlus /> New project
            </Button>
          </div>
        </div>

        {importError && (
          <Alert className="mt-4" title={importError.title} onDismiss={() => setImportError(null)}>
            <p data-testid="import-error">{importError.detail}</p>
            {importError.path && (
              <p className="mt-1">
                The first problem is at{" "}
                <code className="rounded bg-rose-100 px-1 py-0.5 font-mono text-xs dark:bg-rose-900/60" data-testid="import-error-path">
                  {importError.path}
                </code>
                ; nothing was imported.
              </p>
            )}
          </Alert>
        )}
        {imported && (
          <Alert
            tone="success"
            className="mt-4"
            title={`Imported “${imported.title}”`}
            onDismiss={() => setImported(null)}
            action={
              <Link to={`/projects/${imported.id}`} className="text-sm font-medium text-emerald-800 underline dark:text-emerald-200">
                Open it
              </Link>
            }
          >
            A new project with the board, its history, the conversation and the documents of the file.
          </Alert>
        )}

        <div role="tablist" aria-label="Project status" className="mt-6 flex gap-1 border-b border-stone-200 dark:border-stone-800">
          {(["active", "archived"] as const).map((t) => (
            <button
              key={t}
              role="tab"
              type="button"
              aria-selected={tab === t}
              onClick={() => setTab(t)}
              className={cx(
                "-mb-px border-b-2 px-3 py-2 text-sm font-medium transition-colors",
                tab === t
                  ? "border-indigo-600 text-indigo-700 dark:border-indigo-400 dark:text-indigo-300"
                  : "border-transparent text-stone-500 hover:text-stone-800 dark:text-stone-400 dark:hover:text-stone-200",
              )}
            >
              {t === "active" ? "Active" : "Archived"}
              {t === "archived" && archivedCount > 0 && (
                <span className="ml-1.5 rounded-full bg-stone-200 px-1.5 text-xs dark:bg-stone-800">{archivedCount}</span>
              )}
            </button>
          ))}
        </div>

        {actionError && (
          <Alert className="mt-4" onDismiss={() => setActionError(null)}>
            {actionError}
          </Alert>
        )}

        <section aria-live="polite" aria-busy={projects === null && !loadError} className="mt-6">
          {loadError && (
            <Alert title="Could not load your projects" action={<Button size="sm" onClick={() => void load()}>Try again</Button>}>
              {loadError}
            </Alert>
          )}
          {projects === null && !loadError && (
            <ul className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3" aria-label="Loading projects">
              {[0, 1, 2].map((i) => (
                <li key={i} className="rounded-xl border border-stone-200 bg-white p-4 dark:border-stone-800 dark:bg-stone-900">
                  <Skeleton className="h-5 w-2/3" />
                  <Skeleton className="mt-3 h-3 w-full" />
                  <Skeleton className="mt-8 h-3 w-1/2" />
                </li>
              ))}
            </ul>
          )}
          {projects !== null && visible.length === 0 && (
            <div className="rounded-xl border border-dashed border-stone-300 bg-white/60 dark:border-stone-700 dark:bg-stone-900/40">
              {tab === "active" ? (
                <EmptyState
                  icon={<IconSparkle size={20} />}
                  title="Start your first project"
                  action={
                    <Button variant="primary" onClick={() => setCreating(true)}>
                      <IconPlus /> New project
                    </Button>
                  }
                >
                  Name the idea you want to think through. Your agents will sort what you say into decided,
                  exploring and parked.
                </EmptyState>
              ) : (
                <EmptyState icon={<IconArchive size={20} />} title="Nothing archived">
                  Archive a project to put it out of the way without deleting it.
                </EmptyState>
              )}
            </div>
          )}
          {visible.length > 0 && (
            <ul className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3" aria-label={`${tab} projects`}>
              {visible.map((p) => (
                <ProjectCard
                  key={p.id}
                  project={p}
                  onRename={() => setRenaming(p)}
                  onToggleArchive={() =>
                    void patch(p, { status: p.status === "archived" ? "active" : "archived" }).catch(() => undefined)
                  }
                  onDelete={() => setDeleting(p)}
                  onLeave={() => void leave(p)}
                />
              ))}
            </ul>
          )}
          {cursor && (
            <div className="mt-6 flex justify-center">
              <Button onClick={() => void loadMore()} busy={loadingMore}>
                Load more
              </Button>
            </div>
          )}
        </section>
      </div>

      <CreateProjectDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(p) => {
          setCreating(false);
          setProjects((list) => [p, ...(list ?? [])]);
          navigate(`/projects/${p.id}`);
        }}
      />
      <RenameDialog
        project={renaming}
        onClose={() => setRenaming(null)}
        onSave={async (title) => {
          if (!renaming) return;
          await patch(renaming, { title });
          setRenaming(null);
        }}
      />
      <DeleteProjectDialog
        project={deleting}
        onClose={() => setDeleting(null)}
        onDeleted={(id) => {
          setDeleting(null);
          setProjects((list) => (list ?? []).filter((p) => p.id !== id));
        }}
      />
    </AppShell>
  );
}

function CreateProjectDialog({
  open,
  onClose,
  onCreated,
}: {
  open: boolean;
  onClose: () => void;
  onCreated: (p: Project) => void;
}) {
  const client = useClient();
  const [title, setTitle] = useState("");
  const [description, setDescription] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const name = cleanLine(title);
    if (name === "") {
      setError("Give the project a name.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const p = await client.createProject(name, cleanText(description));
      setTitle("");
      setDescription("");
      onCreated(p);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={open} onClose={onClose} title="New project" description="What idea do you want to think through?">
      <form onSubmit={submit} className="space-y-4" aria-label="New project">
        {error && <Alert>{error}</Alert>}
        <Field
          label="Name"
          name="title"
          autoFocus
          maxLength={255}
          placeholder="A bakery subscription box"
          value={title}
          onChange={(e) => setTitle(e.target.value)}
        />
        <div>
          <label htmlFor="project-description" className="block text-sm font-medium text-stone-700 dark:text-stone-300">
            Description <span className="font-normal text-stone-500">(optional)</span>
          </label>
          <textarea
            id="project-description"
            rows={3}
            maxLength={10000}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            className="mt-1.5 block w-full rounded-lg border border-stone-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none dark:border-stone-700 dark:bg-stone-900"
          />
        </div>
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={busy}>
            Create project
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function RenameDialog({
  project,
  onClose,
  onSave,
}: {
  project: Project | null;
  onClose: () => void;
  onSave: (title: string) => Promise<void>;
}) {
  return (
    <Dialog open={project !== null} onClose={onClose} title="Rename project">
      {project && <RenameForm key={project.id} initial={project.title} onClose={onClose} onSave={onSave} />}
    </Dialog>
  );
}

function RenameForm({
  initial,
  onClose,
  onSave,
}: {
  initial: string;
  onClose: () => void;
  onSave: (title: string) => Promise<void>;
}) {
  const [title, setTitle] = useState(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const name = cleanLine(title);
    if (name === "") {
      setError("The name cannot be empty.");
      return;
    }
    setBusy(true);
    try {
      await onSave(name);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} className="space-y-4" aria-label="Rename project">
      <Field label="Name" autoFocus maxLength={255} value={title} onChange={(e) => setTitle(e.target.value)} error={error} />
      <div className="flex justify-end gap-2">
        <Button onClick={onClose}>Cancel</Button>
        <Button type="submit" variant="primary" busy={busy}>
          Save
        </Button>
      </div>
    </form>
  );
}

function DeleteProjectDialog({
  project,
  onClose,
  onDeleted,
}: {
  project: Project | null;
  onClose: () => void;
  onDeleted: (id: string) => void;
}) {
  const client = useClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const confirm = async () => {
    if (!project) return;
    setBusy(true);
    setError(null);
    try {
      await client.deleteProject(project.id);
      onDeleted(project.id);
    } catch (e) {
      if (isApiError(e) && e.status === 404) onDeleted(project.id);
      else setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <ConfirmDialog
      open={project !== null}
      title="Delete this project?"
      description={
        <>
          <strong className="font-medium text-stone-900 dark:text-stone-100">{project?.title}</strong>, its conversation
          and its board will be deleted for good. This cannot be undone.
        </>
      }
      confirmLabel="Delete project"
      onConfirm={() => void confirm()}
      onCancel={() => {
        setError(null);
        onClose();
      }}
      busy={busy}
      error={error}
    />
  );
}
