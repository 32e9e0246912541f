import { bootstrap } from '@fleetcompat/runtime';

void bootstrap('relay');
