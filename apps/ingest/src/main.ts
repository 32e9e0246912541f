import { bootstrap } from '@fleetcompat/runtime';

void bootstrap('ingest');
