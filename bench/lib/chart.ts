/** The chart of a run, as a hand-written SVG: req/s per target, one group of bars per scenario and connection count. */
import type { BenchResult } from './results.js';

const COLORS: Record<string, string> = { tessera: '#2563eb', 'tessera-nodedupe': '#1e40af', hive: '#f59e0b', 'hive-rust': '#b45309', apollo: '#7c3aed', direct: '#16a34a', 'raw-proxy': '#0d9488' };
const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function drawChart(result: BenchResult): string {
  const groups = result.scenarios.flatMap((s) =>
    [...new Set((s.summary ?? []).map((x) => x.connections))].map((c) => ({ title: `${s.name}, ${c} conn${c > 1 ? 's' : ''}`, bars: (s.summary ?? []).filter((x) => x.connections === c) })),
  );
  const barH = 18;
  const gap = 6;
  const left = 160;
  const width = 980;
  // Room on the right of the longest bar for its label.
  const plotW = width - left - 330;
  let y = 56;
  const body: string[] = [];
  for (const g of groups) {
    const max = Math.max(...g.bars.map((b) => (Number.isFinite(b.rps) ? b.rps : 0)), 1);
    body.push(`<text x="10" y="${y + 12}" font-weight="bold">${escape(g.title)}</text>`);
    y += 20;
    for (const b of g.bars) {
      const w = Number.isFinite(b.rps) ? Math.max(1, (b.rps / max) * plotW) : 0;
      body.push(`<text x="${left - 8}" y="${y + 13}" text-anchor="end">${escape(b.label)}</text>`);
      body.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[b.target] ?? '#64748b'}"/>`);
      const ratio = b.role !== 'tessera' && b.tesseraRatio ? `  (Tessera, dedupe off ${b.tesseraRatio.toFixed(2)}×)` : '';
      body.push(`<text x="${left + w + 6}" y="${y + 13}">${Number.isFinite(b.rps) ? b.rps.toFixed(0) : '–'} req/s, p99 ${Number.isFinite(b.p99) ? b.p99.toFixed(1) : '–'} ms${escape(ratio)}</text>`);
      y += barH + gap;
    }
    y += 14;
  }
  const unavailable = result.scenarios.filter((s) => !s.available);
  for (const s of unavailable) {
    body.push(`<text x="10" y="${y + 12}" fill="#64748b">${escape(`${s.name}: not available yet`)}</text>`);
    y += 20;
  }
  const height = y + 30;
  const m = result.machine;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="16" font-weight="bold">Tessera vs Hive Gateway, Apollo Gateway and the direct call: requests/s (median of ${result.settings.rounds} rounds)</text>
<text x="10" y="40" fill="#475569">${escape(`${result.command}; ${m.cpu}, ${m.cores} cores, Node ${m.node}; ${result.layout?.pinned ? 'pinned' : 'not pinned'}; ${result.startedAt}${result.notes.some((n) => n.includes('noisy')) ? '; machine busy: noisy figures' : '; quiet machine'}`)}</text>
${body.join('\n')}
</svg>
`;
}
