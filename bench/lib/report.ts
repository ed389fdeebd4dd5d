/** BENCHMARKS.md from a run's results: machine, targets (pass or miss), each step's tables, charts. */
import type { MachineInfo } from './machine.js';
import { CONTENDED } from './contention.js';
import type { StepResult, Table } from './step.js';

export interface Report {
  generatedAt: string;
  mode: string;
  seconds: number;
  runs: number;
  machine: MachineInfo;
  failures: { step: string; error: string }[];
  steps: StepResult[];
}

function table(t: Table): string {
  const row = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [
    `**${t.title}**`,
    '',
    row(t.columns),
    row(t.columns.map(() => '---')),
    ...t.rows.map(row),
    ...(t.note ? ['', t.note] : []),
  ].join('\n');
}

export function writeReport(r: Report): string {
  const m = r.machine;
  const targets = r.steps.flatMap((s) => s.targets);
  const lines: string[] = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (\`bench/run.ts\`) on ${r.generatedAt.slice(0, 16).replace('T', ' ')} UTC in ${Math.round(r.seconds)} s` +
      `${r.mode === 'ci' ? ' (**CI mode: a few iterations, numbers meaningless**)' : ''}. Raw numbers: [bench/results.json](bench/results.json).`,
    '',
    `Every number is the median of ${r.runs} runs, with the smallest and largest run in brackets: \`median (min–max)\`.`,
    'Ratios are computed run by run against a reference measured in the same run, back to back, then their median is taken.',
    'Targets are reported here, never asserted in tests: wall-clock numbers depend on the machine.',
    '',
    '## Machine',
    '',
    '| | |',
    '| --- | --- |',
    `| CPU | ${m.cpu}, ${m.cores} cores |`,
    `| memory | ${m.memoryGiB} GiB |`,
    `| OS | ${m.os} |`,
    `| Node | ${m.node} |`,
    `| onnxruntime-node | ${m.onnxruntime} |`,
    `| @huggingface/transformers | ${m.transformersJs} |`,
    `| sharp | ${m.sharp} |`,
    `| ffmpeg | ${m.ffmpeg} (\`${m.ffmpegPath}\`) |`,
    `| load average before the run (1 min) | ${m.loadAverage1m} |`,
    '',
    '## Targets',
    '',
    '| issue | target | measured | wanted | |',
    '| --- | --- | --- | --- | --- |',
    ...r.steps.flatMap((s) =>
      s.targets.map((t) => {
        const flag = (s.otherCpu ?? 0) > CONTENDED ? ' (contended run)' : '';
        return `| ${t.issue} | ${t.name} | ${t.measured} | ${t.target} | ${t.pass ? 'met' : '**missed**'}${flag} |`;
      }),
    ),
    '',
    `${targets.filter((t) => t.pass).length} of ${targets.length} targets met.`,
  ];
  if (r.failures.length) {
    lines.push('', '**Steps that failed to run:**', '', ...r.failures.map((f) => `- ${f.step}: \`${f.error.split('\n')[0]}\``));
  }
  for (const s of r.steps) {
    const other = s.otherCpu ?? NaN;
    const busy = other > CONTENDED ? ' **Other work competed for the CPU: these numbers are not clean.**' : '';
    lines.push('', `## ${s.title}`, '', `(${Math.round(s.seconds)} s; other processes used ${Number.isFinite(other) ? `${Math.round(other * 100)}%` : 'n/a'} of the machine's CPU meanwhile.${busy})`);
    for (const t of s.tables) lines.push('', table(t));
    for (const c of s.charts) lines.push('', `![${c.title}](docs/bench/${c.file}.png)`);
    if (s.notes.length) lines.push('', ...s.notes.map((n) => `- ${n}`));
  }
  lines.push(
    '',
    '## Running',
    '',
    '```bash',
    'npm run bench                                   # everything, ~11 minutes on 2 cores; rewrites this file',
    'npx vite-node bench/run.ts --only model,ingest  # some steps (model, memory, ingest, streaming)',
    'npm run bench:ci                                # a few iterations each, into a temp dir (CI)',
    '```',
    '',
    'Run it on an otherwise idle machine: another busy process on the same cores changes every number.',
    '',
  );
  return lines.join('\n');
}
