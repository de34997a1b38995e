import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commandsPerRead, parseInfo, trafficOf } from './info.ts';

// Real `INFO stats` of Valkey 8.0.1 (CRLF line ends) after 20,000 SETs pipelined 8 deep.
const fixture = readFileSync(new URL('./fixtures/info-stats.txt', import.meta.url), 'utf8');

describe('parseInfo', () => {
  it('reads fields, skipping the section header and CRLF', () => {
    const info = parseInfo(fixture);
    expect(info.total_commands_processed).toBe('20002');
    expect(info['# Stats']).toBeUndefined();
    expect(Object.values(info).some((v) => v.endsWith('\r'))).toBe(false);
  });

  it('keeps colons inside values', () => {
    expect(parseInfo('# Server\r\nexecutable:/usr/bin/valkey-server\r\nconfig_file:\r\nx:a:b\r\n')).toEqual({
      executable: '/usr/bin/valkey-server',
      config_file: '',
      x: 'a:b',
    });
  });
});

describe('commandsPerRead', () => {
  it('measures the pipelining depth between two snapshots', () => {
    const after = trafficOf(parseInfo(fixture));
    expect(after).toEqual({ commands: 20_002, reads: 2_553 });
    expect(commandsPerRead({ commands: 2, reads: 53 }, after)).toBe(8);
    expect(commandsPerRead(after, after)).toBeUndefined();
  });

  it('throws when a counter is missing', () => {
    expect(() => trafficOf(parseInfo('# Stats\r\ntotal_commands_processed:5\r\n'))).toThrow('INFO has no total_reads_processed');
  });
});
