import { CreateProjections1764000100000 } from './1764000100000-create-projections';
import { NotifyOutbox1764000100001 } from './1764000100001-notify-outbox';
import { GuestDecisionId1764000100002 } from './1764000100002-guest-decision-id';
import { DecisionsAsJson1764000100003 } from './1764000100003-decisions-as-json';
import { NotifyProjection1764000100004 } from './1764000100004-notify-projection';
import { FactsInAnyOrder1764000100005 } from './1764000100005-facts-in-any-order';
import { SetAside1764000100006 } from './1764000100006-set-aside';
import { ObservedEventId1764000100007 } from './1764000100007-observed-event-id';
import { DecisionKey1764000100008 } from './1764000100008-decision-key';
import { SuperpageLost1764000100009 } from './1764000100009-superpage-lost';
import { ProjectionNotifyHosts1764000100010 } from './1764000100010-projection-notify-hosts';
import { OutboxTransactionOrder1764000100011 } from './1764000100011-outbox-transaction-order';
import { OutboxByReference1764000100012 } from './1764000100012-outbox-by-reference';
import { PlacementsAnswers1764000100013 } from './1764000100013-placements-answers';
import { PlacementsAnswersGzip1764000100014 } from './1764000100014-placements-answers-gzip';

export {
  CreateProjections1764000100000,
  NotifyOutbox1764000100001,
  GuestDecisionId1764000100002,
  DecisionsAsJson1764000100003,
  NotifyProjection1764000100004,
  FactsInAnyOrder1764000100005,
  SetAside1764000100006,
  ObservedEventId1764000100007,
  DecisionKey1764000100008,
  SuperpageLost1764000100009,
  ProjectionNotifyHosts1764000100010,
  OutboxTransactionOrder1764000100011,
  OutboxByReference1764000100012,
  PlacementsAnswers1764000100013,
  PlacementsAnswersGzip1764000100014,
};

export const projectionMigrations = [
  CreateProjections1764000100000,
  NotifyOutbox1764000100001,
  GuestDecisionId1764000100002,
  DecisionsAsJson1764000100003,
  NotifyProjection1764000100004,
  FactsInAnyOrder1764000100005,
  SetAside1764000100006,
  ObservedEventId1764000100007,
  DecisionKey1764000100008,
  SuperpageLost1764000100009,
  ProjectionNotifyHosts1764000100010,
  OutboxTransactionOrder1764000100011,
  OutboxByReference1764000100012,
  PlacementsAnswers1764000100013,
  PlacementsAnswersGzip1764000100014,
];
