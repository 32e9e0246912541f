// The host agent over HTTP long-poll (GET /v1/hosts/{id}/placements?wait= with If-None-Match),
// acknowledging over HTTP with its host token; see host-agent.support.ts for the scenario.
import { hostAgentScenario } from './host-agent.support';

describe('host agent, HTTP long-poll: decisions applied once, acks, withdrawals, blocked guests, kill -9, refusals, host ready', () => {
  hostAgentScenario('http');
});
