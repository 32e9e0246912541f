// The host agent on its Kafka partition of fleet.placement-decisions.v1 (the partition its
// hostId maps to, position in its state folder), acknowledging over Kafka
// (fleet.placement-acks.v1); see host-agent.support.ts for the scenario.
import { hostAgentScenario } from './host-agent.support';

describe('host agent, Kafka: decisions applied once, relay repeats dropped, acks, withdrawals, blocked guests, kill -9, refusals, host ready', () => {
  hostAgentScenario('kafka');
});
