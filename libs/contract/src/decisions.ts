/** The output events on fleet.placement-decisions.v1 (key: hostId). */
export type Rsdp = 'low' | 'high' | 'not-applicable';
export type Action = 'none' | 'override-low' | 'blocked';

export interface Cost {
  readonly code: string;
  readonly detail: string;
}

export interface PlacementDecided {
  readonly type: 'PlacementDecided';
  readonly decisionId: string;
  readonly hostId: string;
  readonly guestId: string;
  readonly sequence: number;
  readonly hypervisorVersion: string;
  readonly rsdp: Rsdp;
  readonly action: Action;
  readonly reason: string;
  readonly kernelSha256?: string;
  readonly costs: readonly Cost[];
  readonly policyVersion: string;
  readonly decidedAt: string;
  /** Added: the facts the decision rests on, for hosts and planners who want to check it. */
  readonly facts?: Record<string, unknown>;
}

export interface PlacementWithdrawn {
  readonly type: 'PlacementWithdrawn';
  readonly hostId: string;
  readonly guestId: string;
  readonly sequence: number;
  readonly withdrawnAt: string;
}

export type PlacementMessage = PlacementDecided | PlacementWithdrawn;

/** A dead letter on fleet.dead-letters.v1. */
export interface DeadLetter {
  readonly topic: string;
  readonly partition: number | null;
  readonly offset: string | null;
  readonly key: string | null;
  readonly value: string | null;
  readonly error: { readonly code: string; readonly message: string };
  readonly eventId?: string;
  readonly receivedAt: string;
}
