import { CreateEventStore1764000000000 } from './1764000000000-create-event-store';
import { AppendEventsFunction1764000000001 } from './1764000000001-append-events-function';
import { NotifyEvents1764000000002 } from './1764000000002-notify-events';
import { AppendEventsReturnsIds1764000000003 } from './1764000000003-append-events-returns-ids';
import { AppendEventsOneStatement1764000000004 } from './1764000000004-append-events-one-statement';

export {
  CreateEventStore1764000000000,
  AppendEventsFunction1764000000001,
  NotifyEvents1764000000002,
  AppendEventsReturnsIds1764000000003,
  AppendEventsOneStatement1764000000004,
};

/** The event store's migrations, in order; add them to the application's DataSource. */
export const eventStoreMigrations = [
  CreateEventStore1764000000000,
  AppendEventsFunction1764000000001,
  NotifyEvents1764000000002,
  AppendEventsReturnsIds1764000000003,
  AppendEventsOneStatement1764000000004,
];
