// A small SVG line plot: recall@10 (x) against queries/second (y, log scale), one line per system.
const COLORS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d'];

export function svgPlot(title, series) {
  const W = 720, H = 440, L = 70, R = 170, T = 40, B = 50;
  const pts = series.flatMap((s) => s.points);
  const minR = Math.max(0, Math.floor(Math.min(...pts.map((p) => p.recall)) * 10) / 10);
  const qs = pts.map((p) => p.qps).filter((q) => q > 0);
  const lo = Math.floor(Math.log10(Math.min(...qs)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...qs))));  // at least one decade: no division by zero
  const x = (r) => L + ((r - minR) / (1 - minR)) * (W - L - R);
  const y = (q) => T + (1 - (Math.log10(q) - lo) / (hi - lo)) * (H - T - B);
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${W / 2 - R / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`];
  for (let e = lo; e <= hi; e++) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${y(10 ** e)}" y2="${y(10 ** e)}" stroke="#ddd"/>`,
      `<text x="${L - 6}" y="${y(10 ** e) + 4}" text-anchor="end">${10 ** e}</text>`);
  }
  for (let r = minR; r <= 1.0001; r += 0.1) {
    out.push(`<line y1="${T}" y2="${H - B}" x1="${x(r)}" x2="${x(r)}" stroke="#eee"/>`,
      `<text x="${x(r)}" y="${H - B + 16}" text-anchor="middle">${r.toFixed(1)}</text>`);
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle">recall@10</text>`,
    `<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">queries per second (log)</text>`,
    `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#888"/>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const sorted = [...s.points].sort((a, b) => a.recall - b.recall);
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${sorted.map((p) => `${x(p.recall).toFixed(1)},${y(p.qps).toFixed(1)}`).join(' ')}"/>`);
    for (const p of sorted) out.push(`<circle cx="${x(p.recall).toFixed(1)}" cy="${y(p.qps).toFixed(1)}" r="3" fill="${c}"/>`);
    out.push(`<line x1="${W - R + 12}" x2="${W - R + 32}" y1="${T + 14 + 20 * i}" y2="${T + 14 + 20 * i}" stroke="${c}" stroke-width="3"/>`,
      `<text x="${W - R + 38}" y="${T + 18 + 20 * i}">${escapeXml(s.system)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

function escapeXml(text) {
  return String(text).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]);
}
