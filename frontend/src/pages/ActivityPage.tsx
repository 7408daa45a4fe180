import { useCallback, useEffect, useState } from "react";
import { errorMessage, isApiError } from "../api/client";
import type { AgentRun, Project } from "../api/types";
import { AppShell } from "../components/Layout";
import { IconActivity, IconArrowLeft } from "../components/icons";
import { Alert, Button, EmptyState, Skeleton, cx } from "../components/ui";
import { humanizeAgent } from "../lib/conversation";
import { formatCompact, formatDateTime, formatLatency, formatNumber } from "../lib/format";
import { Link } from "../lib/router";
import { useClient } from "../lib/session";

interface TurnGroup {
  turnId: string;
  intent: string | null;
  at: string;
  runs: AgentRun[];
}

function groupByTurn(runs: AgentRun[]): TurnGroup[] {
  const map = new Map<string, TurnGroup>();
  for (const r of runs) {
    const g = map.get(r.turn_id) ?? { turnId: r.turn_id, intent: r.intent, at: r.created_at, runs: [] };
    g.runs.push(r);
    if (r.created_at < g.at) g.at = r.created_at;
    if (!g.intent && r.intent) g.intent = r.intent;
    map.set(r.turn_id, g);
  }
  const groups = [...map.values()].sort((a, b) => (a.at < b.at ? 1 : -1));
  for (const g of groups) g.runs.sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.agent.localeCompare(b.agent)));
  return groups;
}

function StatusBadge({ status }: { status: AgentRun["status"] }) {
  return (
    <span
      className={cx(
        "inline-flex rounded-full px-2 py-0.5 text-xs font-medium",
        status === "ok" && "bg-emerald-50 text-emerald-800 dark:bg-emerald-950/50 dark:text-emerald-300",
        status === "cached" && "bg-sky-50 text-sky-800 dark:bg-sky-950/50 dark:text-sky-300",
        status === "error" && "bg-rose-50 text-rose-800 dark:bg-rose-950/50 dark:text-rose-300",
      )}
    >
      {status}
    </span>
  );
}

export function ActivityPage({ id }: { id: string }) {
  const client = useClient();
  const [project, setProject] = useState<Project | null>(null);
  const [runs, setRuns] = useState<AgentRun[] | null>(null);
  const [error, setError] = useState<{ message: string; notFound: boolean } | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      const [p, r] = await Promise.all([client.getProject(id), client.activity(id, 500)]);
      setProject(p);
      setRuns(r);
    } catch (e) {
      setError({ message: errorMessage(e), notFound: isApiError(e) && e.status === 404 });
    }
  }, [client, id]);

  useEffect(() => {
    // eslint-disable-next-line react-hooks/set-state-in-effect -- loading data on mount
    void load();
  }, [load]);

  const groups = runs ? groupByTurn(runs) : [];
  const total = runs?.length ?? 0;
  const errors = runs?.filter((r) => r.status === "error").length ?? 0;
  const avg = total > 0 ? (runs ?? []).reduce((s, r) => s + r.latency_ms, 0) / total : 0;
  const tokens = (runs ?? []).reduce((s, r) => s + r.input_tokens + r.output_tokens + r.cache_read_tokens + r.cache_write_tokens, 0);

  return (
    <AppShell>
      <div className="mx-auto w-full max-w-6xl px-4 py-8 sm:px-6">
        <Link
          to={`/projects/${id}`}
          className="inline-flex items-center gap-1.5 rounded-md text-sm font-medium text-stone-600 hover:text-stone-900 dark:text-stone-400 dark:hover:text-stone-100"
        >
          <IconArrowLeft /> {project ? project.title : "Back to the project"}
        </Link>
        <div className="mt-3 flex flex-wrap items-end justify-between gap-4">
          <div>
            <h1 className="text-2xl font-semibold tracking-tight">Agent activity</h1>
            <p className="mt-1 text-sm text-stone-600 dark:text-stone-400">
              Every agent call of this project’s turns: how long it took, how it went and what it used.
            </p>
          </div>
          <Button size="sm" onClick={() => void load()}>
            Refresh
          </Button>
        </div>

        {error && (
          <Alert className="mt-6" title={error.notFound ? "This project does not exist" : "Activity could not be loaded"}>
            {error.message}
          </Alert>
        )}

        {runs === null && !error && (
          <div className="mt-6 space-y-3" aria-busy="true" aria-label="Loading activity">
            <Skeleton className="h-20 rounded-xl" />
            <Skeleton className="h-64 rounded-xl" />
          </div>
        )}

        {runs !== null && (
          <>
            <dl className="mt-6 grid grid-cols-2 gap-4 sm:grid-cols-4">
              {[
                ["Turns", formatNumber(groups.length)],
                ["Agent calls", formatNumber(total)],
                ["Average latency", total ? formatLatency(avg) : "—"],
                ["Tokens", formatCompact(tokens)],
              ].map(([k, v]) => (
                <div key={k} className="rounded-xl border border-stone-200 bg-white p-4 dark:border-stone-800 dark:bg-stone-900">
                  <dt className="text-xs font-medium text-stone-500 dark:text-stone-400">{k}</dt>
                  <dd className="mt-1 text-2xl font-semibold tabular-nums">{v}</dd>
                </div>
              ))}
            </dl>
            {errors > 0 && (
              <Alert tone="warning" className="mt-4">
                {errors} agent call{errors === 1 ? "" : "s"} failed. A failed agent never fails the turn: the others’ work was kept.
              </Alert>
            )}
            {groups.length === 0 ? (
              <div className="mt-6 rounded-xl border border-dashed border-stone-300 dark:border-stone-700">
                <EmptyState icon={<IconActivity size={20} />} title="No agent activity yet">
                  Send a message in the project; each agent’s work on it shows up here.
                </EmptyState>
              </div>
            ) : (
              <div className="mt-6 overflow-x-auto rounded-xl border border-stone-200 bg-white dark:border-stone-800 dark:bg-stone-900">
                <table className="w-full min-w-[720px] text-sm" data-testid="activity-table">
                  <caption className="sr-only">Agent runs, newest turn first</caption>
                  <thead className="text-left text-xs text-stone-500 dark:text-stone-400">
                    <tr className="border-b border-stone-200 dark:border-stone-800">
                      <th scope="col" className="px-4 py-2.5 font-medium">Agent</th>
                      <th scope="col" className="px-3 py-2.5 font-medium">Model</th>
                      <th scope="col" className="px-3 py-2.5 font-medium">Status</th>
                      <th scope="col" className="px-3 py-2.5 text-right font-medium">Latency</th>
                      <th scope="col" className="px-3 py-2.5 text-right font-medium">Tries</th>
                      <th scope="col" className="px-3 py-2.5 text-right font-medium">In</th>
                      <th scope="col" className="px-3 py-2.5 text-right font-medium">Out</th>
                      <th scope="col" className="px-4 py-2.5 text-right font-medium">Cache r/w</th>
                    </tr>
                  </thead>
                  {groups.map((g) => (
                    <tbody key={g.turnId} className="tabular-nums">
                      <tr className="bg-stone-50 dark:bg-stone-950/40">
                        <th scope="colgroup" colSpan={8} className="px-4 py-2 text-left text-xs font-medium text-stone-600 dark:text-stone-300">
                          Turn at {formatDateTime(g.at)}
                          {g.intent && (
                            <span className="ml-2 rounded bg-indigo-50 px-1.5 py-0.5 text-indigo-700 dark:bg-indigo-950/60 dark:text-indigo-300">
                              {g.intent}
                            </span>
                          )}
                        </th>
                      </tr>
                      {g.runs.map((r, i) => (
                        <tr key={`${r.agent}-${i}`} className="border-t border-stone-100 dark:border-stone-800">
                          <th scope="row" className="px-4 py-2 text-left font-medium">
                            {humanizeAgent(r.agent)}
                            {r.error && <p className="mt-0.5 max-w-xs truncate text-xs font-normal text-rose-600 dark:text-rose-400" title={r.error}>{r.error}</p>}
                          </th>
                          <td className="px-3 py-2 font-mono text-xs text-stone-500 dark:text-stone-400">{r.model}</td>
                          <td className="px-3 py-2"><StatusBadge status={r.status} /></td>
                          <td className="px-3 py-2 text-right">{formatLatency(r.latency_ms)}</td>
                          <td className="px-3 py-2 text-right">{r.attempts}</td>
                          <td className="px-3 py-2 text-right">{formatNumber(r.input_tokens)}</td>
                          <td className="px-3 py-2 text-right">{formatNumber(r.output_tokens)}</td>
                          <td className="px-4 py-2 text-right text-stone-500 dark:text-stone-400">
                            {formatNumber(r.cache_read_tokens)} / {formatNumber(r.cache_write_tokens)}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  ))}
                </table>
              </div>
            )}
          </>
        )}
      </div>
    </AppShell>
  );
}
