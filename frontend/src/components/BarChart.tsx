// A stacked bar chart drawn as inline SVG: one bar per day, one segment per
// series. No chart library; the numbers are also in a table for screen
// readers and keyboard users (the page shows it below the chart).

import { useState } from "react";
import { formatCompact, formatNumber } from "../lib/format";
import { niceMax } from "../lib/usage";
import { cx } from "./ui";

export interface Series {
  key: string;
  label: string;
  /** Tailwind fill classes for light and dark. */
  className: string;
  swatch: string;
}

export interface BarDatum {
  label: string;
  /** Short label under the axis (may be ""). */
  tick: string;
  values: Record<string, number>;
}

export function BarChart({
  data,
  series,
  title,
  height = 240,
}: {
  data: BarDatum[];
  series: Series[];
  title: string;
  height?: number;
}) {
  const [hover, setHover] = useState<number | null>(null);
  const width = 720;
  const pad = { top: 12, right: 8, bottom: 26, left: 44 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const totals = data.map((d) => series.reduce((s, se) => s + (d.values[se.key] ?? 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const band = innerW / Math.max(1, data.length);
  const barW = Math.max(2, Math.min(28, band * 0.68));
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  const y = (v: number) => pad.top + innerH - (v / max) * innerH;
  const total = totals.reduce((a, b) => a + b, 0);
  const active = hover !== null ? data[hover] : undefined;

  return (
    <figure className="w-full">
      <div className="mb-3 flex flex-wrap items-center gap-x-4 gap-y-1 text-xs text-stone-600 dark:text-stone-400">
        {series.map((s) => (
          <span key={s.key} className="inline-flex items-center gap-1.5">
            <span aria-hidden="true" className={cx("h-2.5 w-2.5 rounded-sm", s.swatch)} />
            {s.label}
          </span>
        ))}
        <span className="ml-auto min-h-4 tabular-nums" aria-live="polite">
          {active && hover !== null
            ? `${active.label}: ${formatNumber(totals[hover] ?? 0)} tokens`
            : ""}
        </span>
      </div>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        className="h-auto w-full overflow-visible"
        role="img"
        aria-label={`${title}: ${formatNumber(total)} tokens over ${data.length} days`}
        data-testid="usage-chart"
      >
        <title>{title}</title>
        {ticks.map((t) => (
          <g key={t}>
            <line
              x1={pad.left}
              x2={width - pad.right}
              y1={y(t)}
              y2={y(t)}
              className="stroke-stone-200 dark:stroke-stone-800"
              strokeDasharray={t === 0 ? undefined : "3 3"}
            />
            <text x={pad.left - 6} y={y(t) + 3.5} textAnchor="end" className="fill-stone-500 text-[10px] dark:fill-stone-400">
              {formatCompact(t)}
            </text>
          </g>
        ))}
        {data.map((d, i) => {
          const x = pad.left + band * i + (band - barW) / 2;
          let acc = 0;
          return (
            <g
              key={d.label}
              onMouseEnter={() => setHover(i)}
              onMouseLeave={() => setHover(null)}
              className={cx("transition-opacity", hover !== null && hover !== i && "opacity-50")}
            >
              <rect x={pad.left + band * i} y={pad.top} width={band} height={innerH} fill="transparent" />
              {series.map((s) => {
                const v = d.values[s.key] ?? 0;
                if (v <= 0) return null;
                const top = y(acc + v);
                const h = y(acc) - top;
                acc += v;
                return (
                  <rect key={s.key} x={x} y={top} width={barW} height={Math.max(0.5, h)} rx={1.5} className={s.className}>
                    <title>{`${d.label} — ${s.label}: ${formatNumber(v)}`}</title>
                  </rect>
                );
              })}
              {d.tick && (
                <text x={x + barW / 2} y={height - 8} textAnchor="middle" className="fill-stone-500 text-[10px] dark:fill-stone-400">
                  {d.tick}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
