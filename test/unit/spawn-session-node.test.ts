import { sessionContract } from '../helpers/session-contract';

// The fallback (no addon, or SUBHOST_SPAWN=node); read at the first spawn.
process.env.SUBHOST_SPAWN = 'node';

sessionContract('node');
