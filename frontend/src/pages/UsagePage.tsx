import { useCallback, useEffect, useState } from "react";
import { errorMessage } from "../api/client";
import type { MonthUsage, UsageResponse } from "../api/types";
import { BarChart, type BarDatum } from "../components/BarChart";
import { AppShell } from "../components/Layout";
import { IconChart } from "../components/icons";
import { Alert, Button, EmptyState, Skeleton, cx } from "../components/ui";
import { formatCompact, formatCost, formatNumber } from "../lib/format";
import { useClient } from "../lib/session";
import { usageByDay, usageByModel } from "../lib/usage";

function Stat({ label, value, sub }: { label: string; value: string; sub?: string }) {
  return (
    <div className="rounded-xl border border-stone-200 bg-white p-4 dark:border-stone-800 dark:bg-stone-900">
      <p className="text-xs font-medium text-stone-500 dark:text-stone-400">{label}</p>
      <p className="mt-1 text-2xl font-semibold tracking-tight tabular-nums">{value}</p>
      {sub && <p className="mt-0.5 text-xs text-stone-500 dark:text-stone-400">{sub}</p>}
    </div>
  );
}

/** This month's tokens against the monthly limit, when there is one. */
function MonthMeter({ month }: { month: MonthUsage }) {
  const limit = month.token_limit;
  const share = limit ? Math.min(1, month.tokens_used / limit) : 0;
  const reached = limit !== null && month.tokens_used >= limit;
  return (
    <section
      aria-labelledby="month-heading"
      className="mt-6 rounded-xl border border-stone-200 bg-white p-5 dark:border-stone-800 dark:bg-stone-900"
      data-testid="month-usage"
    >
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id="month-heading" className="text-sm font-semibold">
          This month
        </h2>
        <p className="text-sm text-stone-600 tabular-nums dark:text-stone-400">
          {formatNumber(month.tokens_used)} tokens used
          {limit !== null ? ` of ${formatNumber(limit)}` : ""}
        </p>
      </div>
      {limit !== null ? (
        <>
          <div
            role="meter"
            aria-label="Tokens used this month"
            aria-valuemin={0}
            aria-valuemax={limit}
            aria-valuenow={Math.min(month.tokens_used, limit)}
            className="mt-3 h-2.5 overflow-hidden rounded-full bg-stone-200 dark:bg-stone-800"
          >
            <div
              className={cx("h-full rounded-full", reached ? "bg-rose-500" : share > 0.8 ? "bg-amber-500" : "bg-indigo-500")}
              style={{ width: `${Math.max(share * 100, month.tokens_used > 0 ? 1 : 0)}%` }}
            />
          </div>
          <p className={cx("mt-2 text-xs", reached ? "font-medium text-rose-700 dark:text-rose-400" : "text-stone-500 dark:text-stone-400")}>
            {reached
              ? "The monthly limit is reached: messages and documents wait until the 1st of next month (UTC)."
              : `${formatNumber(month.tokens_remaining ?? Math.max(0, limit - month.tokens_used))} tokens left until the 1st of next month (UTC).`}
          </p>
        </>
      ) : (
        <p className="mt-1 text-xs text-stone-500 dark:text-stone-400">No monthly limit applies to your account.</p>
      )}
    </section>
  );
}

export function UsagePage() {
  const client = useClient();
  const [usage, setUsage] = useState<UsageResponse | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      setUsage(await client.usage());
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [client]);

  useEffect(() => {
    // eslint-disable-next-line react-hooks/set-state-in-effect -- loading data on mount
    void load();
  }, [load]);

  const days = usage ? usageByDay(usage.usage, usage.days) : [];
  const models = usage ? usageByModel(usage.usage) : [];
  const totalTokens = days.reduce((s, d) => s + d.input + d.output + d.cache, 0);
  const calls = days.reduce((s, d) => s + d.calls, 0);
  const data: BarDatum[] = days.map((d, i) => {
    const date = new Date(`${d.day}T00:00:00Z`);
    const label = date.toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
    return {
      label,
      tick: i % 5 === 0 || i === days.length - 1 ? label : "",
      values: { input: d.input, output: d.output, cache: d.cache },
    };
  });

  return (
    <AppShell>
      <div className="mx-auto w-full max-w-6xl px-4 py-8 sm:px-6">
        <div className="flex flex-wrap items-end justify-between gap-4">
          <div>
            <h1 className="text-2xl font-semibold tracking-tight">Token usage</h1>
            <p className="mt-1 text-sm text-stone-600 dark:text-stone-400">
              What your agents used across all your projects{usage ? ` in the last ${usage.days} days` : ""}, with an
              estimate of the cost.
            </p>
          </div>
          <Button size="sm" onClick={() => void load()}>
            Refresh
          </Button>
        </div>

        {error && (
          <Alert className="mt-6" title="Usage could not be loaded" action={<Button size="sm" onClick={() => void load()}>Try again</Button>}>
            {error}
          </Alert>
        )}

        {!usage && !error && (
          <div className="mt-6 space-y-4" aria-busy="true" aria-label="Loading usage">
            <div className="grid gap-4 sm:grid-cols-3">
              {[0, 1, 2].map((i) => (
                <Skeleton key={i} className="h-24 rounded-xl" />
              ))}
            </div>
            <Skeleton className="h-72 rounded-xl" />
          </div>
        )}

        {usage && (
          <>
            <div className="mt-6 grid gap-4 sm:grid-cols-3">
              <Stat label="Tokens" value={formatCompact(totalTokens)} sub={`${formatNumber(totalTokens)} in total`} />
              <Stat label="Estimated cost" value={formatCost(usage.total_cost_usd)} sub="At list prices" />
              <Stat label="Agent calls" value={formatNumber(calls)} sub={`${models.length} model${models.length === 1 ? "" : "s"}`} />
            </div>

            {usage.month && <MonthMeter month={usage.month} />}

            <section aria-labelledby="chart-heading" className="mt-6 rounded-xl border border-stone-200 bg-white p-5 dark:border-stone-800 dark:bg-stone-900">
              <h2 id="chart-heading" className="mb-4 text-sm font-semibold">
                Tokens per day
              </h2>
              {totalTokens === 0 ? (
                <EmptyState icon={<IconChart size={20} />} title="No usage yet">
                  Send a message in a project: every agent call is counted here.
                </EmptyState>
              ) : (
                <BarChart
                  title="Tokens per day"
                  data={data}
                  series={[
                    { key: "input", label: "Input", className: "fill-indigo-500 dark:fill-indigo-400", swatch: "bg-indigo-500 dark:bg-indigo-400" },
                    { key: "output", label: "Output", className: "fill-emerald-500 dark:fill-emerald-400", swatch: "bg-emerald-500 dark:bg-emerald-400" },
                    { key: "cache", label: "Cache read + write", className: "fill-stone-300 dark:fill-stone-600", swatch: "bg-stone-300 dark:bg-stone-600" },
                  ]}
                />
              )}
            </section>

            {models.length > 0 && (
              <section aria-labelledby="models-heading" className="mt-6 overflow-hidden rounded-xl border border-stone-200 bg-white dark:border-stone-800 dark:bg-stone-900">
                <h2 id="models-heading" className="px-5 pt-4 pb-2 text-sm font-semibold">
                  By model
                </h2>
                <div className="overflow-x-auto">
                  <table className="w-full text-sm">
                    <thead className="text-left text-xs text-stone-500 dark:text-stone-400">
                      <tr className="border-b border-stone-100 dark:border-stone-800">
                        <th scope="col" className="px-5 py-2 font-medium">Model</th>
                        <th scope="col" className="px-3 py-2 text-right font-medium">Calls</th>
                        <th scope="col" className="px-3 py-2 text-right font-medium">Input</th>
                        <th scope="col" className="px-3 py-2 text-right font-medium">Output</th>
                        <th scope="col" className="px-3 py-2 text-right font-medium">Cache read</th>
                        <th scope="col" className="px-3 py-2 text-right font-medium">Cache write</th>
                        <th scope="col" className="px-5 py-2 text-right font-medium">Cost</th>
                      </tr>
                    </thead>
                    <tbody className="tabular-nums">
                      {models.map((m) => (
                        <tr key={m.model} className="border-b border-stone-100 last:border-0 dark:border-stone-800">
                          <th scope="row" className="px-5 py-2.5 text-left font-normal">
                            <span className="font-mono text-xs">{m.model}</span>
                            {m.longCalls > 0 && (
                              <span className="block text-xs text-stone-500 dark:text-stone-400">
                                {formatNumber(m.longCalls)} {m.longCalls === 1 ? "call" : "calls"} with a prompt over 100K tokens
                              </span>
                            )}
                          </th>
                          <td className="px-3 py-2.5 text-right">{formatNumber(m.calls)}</td>
                          <td className="px-3 py-2.5 text-right">{formatNumber(m.input)}</td>
                          <td className="px-3 py-2.5 text-right">{formatNumber(m.output)}</td>
                          <td className="px-3 py-2.5 text-right">{formatNumber(m.cacheRead)}</td>
                          <td className="px-3 py-2.5 text-right">{formatNumber(m.cacheWrite)}</td>
                          <td className="px-5 py-2.5 text-right font-medium">{formatCost(m.cost)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              </section>
            )}

            {totalTokens > 0 && (
              <details className="mt-6 rounded-xl border border-stone-200 bg-white px-5 py-3 text-sm dark:border-stone-800 dark:bg-stone-900">
                <summary className="cursor-pointer font-medium">Daily numbers</summary>
                <div className="mt-3 overflow-x-auto">
                  <table className="w-full text-sm tabular-nums">
                    <caption className="sr-only">Tokens per day</caption>
                    <thead className="text-left text-xs text-stone-500">
                      <tr>
                        <th scope="col" className="py-1.5 font-medium">Day</th>
                        <th scope="col" className="py-1.5 text-right font-medium">Input</th>
                        <th scope="col" className="py-1.5 text-right font-medium">Output</th>
                        <th scope="col" className="py-1.5 text-right font-medium">Cache</th>
                        <th scope="col" className="py-1.5 text-right font-medium">Cost</th>
                      </tr>
                    </thead>
                    <tbody>
                      {days
                        .filter((d) => d.input + d.output + d.cache > 0)
                        .map((d) => (
                          <tr key={d.day} className="border-t border-stone-100 dark:border-stone-800">
                            <th scope="row" className="py-1.5 text-left font-normal">{d.day}</th>
                            <td className="py-1.5 text-right">{formatNumber(d.input)}</td>
                            <td className="py-1.5 text-right">{formatNumber(d.output)}</td>
                            <td className="py-1.5 text-right">{formatNumber(d.cache)}</td>
                            <td className="py-1.5 text-right">{formatCost(d.cost)}</td>
                          </tr>
                        ))}
                    </tbody>
                  </table>
                </div>
              </details>
            )}
          </>
        )}
      </div>
    </AppShell>
  );
}
