import { sessionContract } from '../helpers/session-contract';

sessionContract('native');
