/**
 * `npm run bench`: every benchmark named in the issues, one after the other, then BENCHMARKS.md,
 * bench/results.json and the charts in docs/bench/. `npm run bench:ci` (--ci) runs each with a
 * few iterations, writes to a temporary directory, and checks only that everything still runs.
 *
 *   vite-node bench/run.ts [--ci] [--only model,memory,ingest,streaming] [--runs N] [--out DIR]
 *   vite-node bench/run.ts --rewrite [--out DIR]   # BENCHMARKS.md and charts again from bench/results.json
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderChart } from './lib/chart.js';
import { CONTENDED, watchContention } from './lib/contention.js';
import { ROOT } from './lib/fixtures.js';
import { machineInfo } from './lib/machine.js';
import { writeReport, type Report } from './lib/report.js';
import { sleep } from './lib/stats.js';
import type { StepContext, StepResult } from './lib/step.js';
import { ingestStep } from './steps/ingest.js';
import { memoryStep } from './steps/memory.js';
import { modelStep } from './steps/model.js';
import { streamingStep } from './steps/streaming.js';

const STEPS: Record<string, (ctx: StepContext) => Promise<StepResult>> = {
  model: modelStep,
  memory: memoryStep,
  ingest: ingestStep,
  streaming: streamingStep,
};

/** Waits (at most 5 minutes) until other processes leave the CPU alone for 2 s. */
async function waitForIdle(log: (line: string) => void): Promise<void> {
  const deadline = performance.now() + 5 * 60_000;
  for (let said = false; performance.now() < deadline; said = true) {
    const others = watchContention();
    await sleep(2000);
    const share = others();
    if (!(share > CONTENDED)) return;
    if (!said) log(`other processes use ${Math.round(share * 100)}% of the CPU: waiting for them (at most 5 minutes)`);
  }
  log('still busy: measuring anyway (the report flags it)');
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Writes the charts and BENCHMARKS.md of a report under `out`; returns the chart files. */
async function publish(report: Report, out: string): Promise<string[]> {
  const chartDir = join(out, 'docs/bench');
  mkdirSync(chartDir, { recursive: true });
  const charts: string[] = [];
  for (const chart of report.steps.flatMap((r) => r.charts)) {
    const file = join(chartDir, `${chart.file}.png`);
    await renderChart(chart, file);
    charts.push(file);
  }
  mkdirSync(join(out, 'bench'), { recursive: true });
  writeFileSync(join(out, 'bench/results.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(out, 'BENCHMARKS.md'), writeReport(report));
  return charts;
}

async function main(): Promise<number> {
  if (process.argv.includes('--rewrite')) {
    const out = arg('out') ?? ROOT;
    const report = JSON.parse(readFileSync(join(out, 'bench/results.json'), 'utf8')) as Report;
    const charts = await publish(report, out);
    console.log(`bench: rewrote ${join(out, 'BENCHMARKS.md')} and ${charts.length} charts from bench/results.json`);
    return 0;
  }
  const started = performance.now();
  const ci = process.argv.includes('--ci');
  const only = arg('only')?.split(',') ?? Object.keys(STEPS);
  const unknown = only.filter((s) => !STEPS[s]);
  if (unknown.length) throw new Error(`unknown step(s) ${unknown.join(', ')}; steps: ${Object.keys(STEPS).join(', ')}`);
  const out = arg('out') ?? (ci ? mkdtempSync(join(tmpdir(), 'groundstream-bench-out-')) : ROOT);
  const tmp = mkdtempSync(join(tmpdir(), 'groundstream-bench-'));
  const machine = machineInfo();
  const ctx: StepContext = {
    ci,
    runs: Number(arg('runs') ?? (ci ? 2 : 5)),
    tmp,
    log: (line) => console.log(`  ${line}`),
  };
  console.log(`bench${ci ? ' (ci)' : ''}: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, onnxruntime ${machine.onnxruntime}, load ${machine.loadAverage1m}`);

  const results: StepResult[] = [];
  const failures: { step: string; error: string }[] = [];
  try {
    for (const name of only) {
      console.log(`== ${name}`);
      try {
        if (!ci) await waitForIdle(ctx.log);
        const others = watchContention();
        const r = await STEPS[name]!(ctx);
        r.otherCpu = others();
        results.push(r);
        for (const t of r.targets) console.log(`  ${t.pass ? 'PASS' : 'MISS'} ${t.name}: ${t.measured} (target ${t.target})`);
        console.log(`  (${r.seconds.toFixed(0)} s; other processes used ${(100 * r.otherCpu).toFixed(0)}% of the CPU meanwhile)`);
      } catch (e) {
        const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
        failures.push({ step: name, error });
        console.error(`  FAILED: ${error}`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const seconds = (performance.now() - started) / 1000;
  const report: Report = { generatedAt: new Date().toISOString(), mode: ci ? 'ci' : 'full', seconds, runs: ctx.runs, machine, failures, steps: results };
  const charts = await publish(report, out);

  const busy = results.filter((r) => (r.otherCpu ?? 0) > CONTENDED);
  if (busy.length) console.log(`bench: other processes were busy during ${busy.map((r) => r.name).join(', ')}: those numbers are not clean`);
  const targets = results.flatMap((r) => r.targets);
  const passed = targets.filter((t) => t.pass).length;
  console.log(
    `bench${ci ? ':ci' : ''}: ${results.length}/${only.length} steps ran, ${passed}/${targets.length} targets met, ${charts.length} charts; ` +
      `${failures.length ? `FAILED: ${failures.map((f) => f.step).join(', ')}; ` : ''}wrote ${join(out, 'BENCHMARKS.md')} in ${seconds.toFixed(0)} s`,
  );
  // Targets are reported, never asserted: a run fails only when a benchmark could not run.
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
