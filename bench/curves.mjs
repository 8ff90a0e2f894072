// Recall/speed curves: the points worth quoting and the q/s at a recall level.

// The points no other point beats in both recall and q/s, by recall.
export function frontier(points) {
  const byRecall = [...points].sort((a, b) => b.recall - a.recall || b.qps - a.qps);
  const kept = [];
  for (const p of byRecall) if (!kept.length || p.qps > kept[kept.length - 1].qps) kept.push(p);
  return kept.reverse();
}

// q/s at a recall level, interpolated (log q/s, linear recall) along the frontier.
export function qpsAt(points, recall) {
  const sorted = frontier(points);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (a.recall <= recall && b.recall >= recall) {
      const t = b.recall === a.recall ? 0 : (recall - a.recall) / (b.recall - a.recall);
      return Math.exp(Math.log(a.qps) + t * (Math.log(b.qps) - Math.log(a.qps)));
    }
  }
  return sorted.length && sorted[0].recall >= recall ? sorted[0].qps : undefined;
}
