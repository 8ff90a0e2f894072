// Node entry (ES module): the same instance as the CommonJS entry.
import { createRequire } from 'node:module';

const grove = createRequire(import.meta.url)('./node.cjs');

export const { AnnoyIndex, GroveError } = grove;
export default grove;
