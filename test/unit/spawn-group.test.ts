import { groupContract } from '../helpers/group-contract';

groupContract('native');
