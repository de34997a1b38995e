import { open } from 'node:fs/promises';
import { join } from 'node:path';

/** An event the sink could not store, and why. */
export interface RefusedLine {
  line: string;
  reason: string;
}

export const DEAD_LETTER_FILE = 'dead-letter.jsonl';

/**
 * Appends refused events, one JSON line each (`at`, `reason`, `event` as the text the log
 * held), and fsyncs before returning: the checkpoint that passes them is written after.
 */
export const appendDeadLetters = async (dir: string, refused: RefusedLine[], now = new Date()): Promise<void> => {
  if (refused.length === 0) return;
  const at = now.toISOString();
  const file = await open(join(dir, DEAD_LETTER_FILE), 'a');
  try {
    await file.writeFile(refused.map(({ line, reason }) => `${JSON.stringify({ at, reason, event: line })}\n`).join(''));
    await file.datasync();
  } finally {
    await file.close();
  }
};
