import { CreateEventStore1764000000000 } from './1764000000000-create-event-store';
import { AppendEventsFunction1764000000001 } from './1764000000001-append-events-function';

export { CreateEventStore1764000000000, AppendEventsFunction1764000000001 };

/** The event store's migrations, in order; add them to the application's DataSource. */
export const eventStoreMigrations = [CreateEventStore1764000000000, AppendEventsFunction1764000000001];
