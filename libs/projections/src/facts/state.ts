import { AckRow, BehaviourRuleRow, GuestOsRuleRow, GuestReport, HostRow, KernelRow } from '../model';

/** What evolve reads: the facts as they stand before the event. */
export interface FactsReader {
  kernel(imageSha256: string): KernelRow | undefined;
  host(hostId: string): HostRow | undefined;
  /** One host's view of a guest. */
  guest(guestId: string, hostId: string): GuestReport | undefined;
  ack(hostId: string, guestId: string): AckRow | undefined;
  behaviourRule(key: string): BehaviourRuleRow | undefined;
  guestOsRule(guestOs: string): GuestOsRuleRow | undefined;
}

/** What an event changed: the new rows (whole), each replacing the one with its key. */
export type FactChange =
  | { readonly kind: 'kernel'; readonly row: KernelRow }
  | { readonly kind: 'host'; readonly row: HostRow }
  | { readonly kind: 'guest'; readonly row: GuestReport }
  | { readonly kind: 'ack'; readonly row: AckRow }
  | { readonly kind: 'behaviour-rule'; readonly row: BehaviourRuleRow }
  | { readonly kind: 'guest-os-rule'; readonly row: GuestOsRuleRow };

/** No change: the event's facts are older than those in force. */
export const NO_CHANGE: readonly FactChange[] = [];
