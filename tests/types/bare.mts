// No DOM lib, no @types/node, no esnext.disposable: the declarations stand on their own.
import { AnnoyIndex, ready } from 'grove-ann';

export async function bare(): Promise<number[]> {
  await ready;
  const index = new AnnoyIndex(2, 'dot', { dotLayout: 'main' });
  index.addItem(0, [1, 2]);
  index.build(1);
  const out = index.getNnsByItem(0, 1);
  index[Symbol.dispose]();
  return out;
}
