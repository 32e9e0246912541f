import { bootstrap } from '@fleetcompat/runtime';

// The embedded default: HTTP API, projector, and (with KAFKA_BROKERS) ingest and relay, in one process.
void bootstrap('all-in-one');
