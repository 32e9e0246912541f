import { CreateAccessTokens1764000200000 } from './1764000200000-create-access-tokens';
import { KafkaKeyIds1764000200001 } from './1764000200001-kafka-key-ids';
import { TokensNotify1764000200002 } from './1764000200002-tokens-notify';

export const authMigrations = [CreateAccessTokens1764000200000, KafkaKeyIds1764000200001, TokensNotify1764000200002];
