/**
 * Whether the sink is doing its job. Not ready while ClickHouse refuses writes, while the
 * consumer is not running, or while it holds no partition although the group has work: a
 * sink must never sit idle behind a green health check.
 */
export class SinkReadiness {
  consumerRunning = false;
  storageHealthy = true;
  /** ClickHouse's answer to the last failed write, while writes fail. */
  storageFailure: string | undefined;
  assignedPartitions = 0;
  /** Messages on the topic that the group has not committed (refreshed periodically). */
  groupLag = 0;

  get ready(): boolean {
    return this.consumerRunning && this.storageHealthy && (this.assignedPartitions > 0 || this.groupLag === 0);
  }

  get reasons(): string[] {
    const reasons: string[] = [];
    if (!this.consumerRunning) reasons.push('consumer not running');
    if (!this.storageHealthy) reasons.push(this.storageFailure ? `ClickHouse is refusing writes: ${this.storageFailure}` : 'ClickHouse is refusing writes');
    if (this.assignedPartitions === 0 && this.groupLag > 0) reasons.push(`no partitions assigned while the group lags by ${this.groupLag}`);
    return reasons;
  }
}
