export * from './events';
export * from './evolve';
export * from './state';
export * from './time';
export { deriveHost, NO_HOST_FACTS } from './hosts';
export { behaviourRuleKey } from './declarations';
