import { logLevel } from 'kafkajs';
import { effectiveKafkaLevel } from './kafka-client';

describe('kafkajs log levels', () => {
  const response = (error: string) => ({ message: 'Response InitProducerId(key: 22, version: 1)', error });

  it('logs the retried responses of a starting coordinator at debug (every first start on a new broker has them)', () => {
    expect(
      effectiveKafkaLevel(
        logLevel.ERROR,
        'Connection',
        response("The coordinator is loading and hence can't process requests for this group"),
      ),
    ).toBe(logLevel.DEBUG);
    expect(effectiveKafkaLevel(logLevel.ERROR, 'Connection', response('The group coordinator is not available'))).toBe(
      logLevel.DEBUG,
    );
  });

  it('keeps leadership changes as warnings and anything else as it is', () => {
    expect(
      effectiveKafkaLevel(
        logLevel.ERROR,
        'Connection',
        response('There is no leader for this topic-partition as we are in the middle of a leadership election'),
      ),
    ).toBe(logLevel.WARN);
    expect(
      effectiveKafkaLevel(
        logLevel.ERROR,
        'Connection',
        response('Not authorized to access topics: [Topic authorization failed]'),
      ),
    ).toBe(logLevel.ERROR);
    expect(
      effectiveKafkaLevel(logLevel.ERROR, 'Consumer', {
        message: 'Crash: KafkaJSNumberOfRetriesExceeded',
        error: 'The coordinator is loading',
      }),
    ).toBe(logLevel.ERROR);
    expect(effectiveKafkaLevel(logLevel.WARN, 'Connection', response('The coordinator is loading'))).toBe(
      logLevel.WARN,
    );
  });
});
