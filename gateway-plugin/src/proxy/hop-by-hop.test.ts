import { describe, expect, it } from 'vitest';
import { forwardRawRequestHeaders, forwardRequestHeaders, forwardResponseHeaders } from './hop-by-hop.ts';

describe('hop-by-hop fields', () => {
  it('drops the fixed set, Proxy-*, every field Connection names, host and expect from a request', () => {
    const headers = new Headers({
      host: 'gateway.test',
      connection: 'keep-alive, X-Private-Hop',
      'keep-alive': 'timeout=5',
      'proxy-authorization': 'Basic eA==',
      'proxy-connection': 'keep-alive',
      te: 'trailers',
      trailer: 'x-checksum',
      'transfer-encoding': 'chunked',
      upgrade: 'websocket',
      expect: '100-continue',
      'x-private-hop': '1',
      accept: 'application/json',
      'x-tpp-id': 'tpp-1',
    });
    expect(forwardRequestHeaders(headers)).toEqual(['accept', 'application/json', 'x-tpp-id', 'tpp-1']);
  });

  it('does the same from raw header lines, keeping their case and repeated lines', () => {
    const raw = [
      'Host', 'gateway.test',
      'Connection', 'keep-alive',
      'Connection', 'X-Private-Hop',
      'X-Private-Hop', '1',
      'Proxy-Authorization', 'Basic eA==',
      'TE', 'trailers',
      'Expect', '100-continue',
      'Accept', 'application/json',
      'Accept', 'text/plain',
      'X-TPP-ID', 'tpp-1',
    ];
    expect(forwardRawRequestHeaders(raw)).toEqual(['Accept', 'application/json', 'Accept', 'text/plain', 'X-TPP-ID', 'tpp-1']);
  });

  it('drops hop-by-hop fields from a response and keeps repeated fields as separate lines', () => {
    expect(
      forwardResponseHeaders({
        connection: 'close, x-upstream-hop',
        'keep-alive': 'timeout=5',
        'proxy-authenticate': 'Basic',
        'transfer-encoding': 'chunked',
        'x-upstream-hop': '1',
        'content-type': 'application/json',
      }),
    ).toEqual({ 'content-type': 'application/json' });
    expect(forwardResponseHeaders({ 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/plain' })).toEqual([
      ['content-type', 'text/plain'],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
  });
});
