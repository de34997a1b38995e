import { describe, expect, it } from 'vitest';
import { SinkReadiness } from './readiness.ts';

describe('SinkReadiness', () => {
  it('is ready when consuming with healthy storage', () => {
    const r = new SinkReadiness();
    r.consumerRunning = true;
    r.assignedPartitions = 2;
    r.groupLag = 10;
    expect(r.ready).toBe(true);
  });

  it('is not ready without partitions while the group has work', () => {
    const r = new SinkReadiness();
    r.consumerRunning = true;
    r.groupLag = 5;
    expect(r.ready).toBe(false);
    expect(r.reasons).toEqual(['no partitions assigned while the group lags by 5']);
    r.groupLag = 0;
    expect(r.ready).toBe(true);
  });

  it('is not ready while ClickHouse refuses writes or the consumer stopped', () => {
    const r = new SinkReadiness();
    r.consumerRunning = false;
    r.storageHealthy = false;
    expect(r.ready).toBe(false);
    expect(r.reasons).toEqual(['consumer not running', 'ClickHouse is refusing writes']);
  });
});
