import { CreateAccessTokens1764000200000 } from './1764000200000-create-access-tokens';

export const authMigrations = [CreateAccessTokens1764000200000];
