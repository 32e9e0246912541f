import { CreateProjections1764000100000 } from './1764000100000-create-projections';
import { NotifyOutbox1764000100001 } from './1764000100001-notify-outbox';

export { CreateProjections1764000100000, NotifyOutbox1764000100001 };

export const projectionMigrations = [CreateProjections1764000100000, NotifyOutbox1764000100001];
