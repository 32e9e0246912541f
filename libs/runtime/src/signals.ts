import { EventEmitter } from 'node:events';

/**
 * In-process wake-ups between components that share a process (all-in-one): new events
 * stored wake the projector, new decisions queued wake the relay. Across processes they
 * poll instead; nothing depends on a signal arriving.
 */
export class ProcessSignals {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(50);
  }

  eventsStored(): void {
    this.emitter.emit('events-stored');
  }
  onEventsStored(listener: () => void): void {
    this.emitter.on('events-stored', listener);
  }
  decisionsQueued(): void {
    this.emitter.emit('decisions-queued');
  }
  onDecisionsQueued(listener: () => void): void {
    this.emitter.on('decisions-queued', listener);
  }
}
