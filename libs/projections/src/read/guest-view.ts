import { PlacementDecided } from '@fleetcompat/contract';
import { DecisionRecord, GuestView } from '../model';
import { guestFromDb } from '../projection-store';

/** A guests row (every column, by name) with its current decision's columns, as guestViewSql selects it. */
export type GuestViewDbRow = Record<string, unknown> & {
  decision_message: PlacementDecided | null;
  decision_detail: DecisionRecord['detail'];
  decision_caused_by: DecisionRecord['causedBy'] | null;
};

/** Guests (as `g`) with their current decision's message, detail and cause (one decisions row, by id). */
export function guestViewSql(s: string): string {
  return `SELECT g.*, d.message AS decision_message, d.detail AS decision_detail, d.caused_by AS decision_caused_by
            FROM ${s}.guests g LEFT JOIN ${s}.decisions d ON d.decision_id = g.decision_id`;
}

export function guestViewFromDb(r: GuestViewDbRow): GuestView {
  return {
    ...guestFromDb(r),
    decision:
      r.decision_message && r.decision_caused_by
        ? {
            message: r.decision_message,
            flags: r.decision_detail?.flags ?? [],
            explanation: r.decision_detail?.explanation ?? [],
            remedy: r.decision_detail?.remedy ?? [],
            causedBy: r.decision_caused_by,
          }
        : null,
  };
}
