import { CreateProjections1764000100000 } from './1764000100000-create-projections';

export const projectionMigrations = [CreateProjections1764000100000];
