// Node entry (ES module): the same instance as the CommonJS entry. A static import (not
// createRequire), so bundlers follow it.
import grove from './node.cjs';

export const { AnnoyIndex, ShardedIndex, GroveError, ready, init } = grove;
export default grove;
