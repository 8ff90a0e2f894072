// Bundler resolution with `using` (esnext.disposable) and the inline entry.
import { AnnoyIndex, init } from 'grove-ann/inline';

export async function withUsing(): Promise<number[]> {
  await init();
  using index = new AnnoyIndex(2, 'angular');
  index.addItem(0, [1, 0]);
  index.build(1);
  return index.getNnsByVector(new Float64Array([1, 0]), 1);
}
